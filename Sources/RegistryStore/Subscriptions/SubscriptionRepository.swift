import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// A webhook subscription as stored (its secrets are never read back out).
package struct SubscriptionRecord: Sendable, Hashable {
    package enum Status: String, Sendable, CaseIterable { case active, paused, disabled }
    package enum Payload: String, Sendable, CaseIterable { case thin, full }

    package var id: String
    package var clientId: String
    package var url: String
    package var types: [String]
    /// Normalised filter JSON text.
    package var filter: String
    package var payload: Payload
    package var status: Status
    package var statusReason: String?
    package var description: String?
    package var createdAt: String
    package var updatedAt: String
    package var cursor: Int64
    package var failingSince: String?
    /// Deliveries waiting (pending or retrying).
    package var queued: Int64
    /// When the rotated-out secret stops signing, if one is still valid.
    package var previousSecretExpiresAt: String?
}

/// What a client asks for when it creates a subscription (already validated).
package struct SubscriptionSpec: Sendable {
    package var url: String
    package var types: [EventTypePattern]
    package var filter: SubscriptionFilter
    package var payload: SubscriptionRecord.Payload
    package var description: String?
    /// Deliver events after this feed position; nil = from now (the newest event is not sent).
    package var after: Int64?

    package init(
        url: String, types: [EventTypePattern], filter: SubscriptionFilter, payload: SubscriptionRecord.Payload,
        description: String?, after: Int64?
    ) {
        self.url = url
        self.types = types
        self.filter = filter
        self.payload = payload
        self.description = description
        self.after = after
    }
}

/// Changes a client asks for with PATCH; nil leaves a field as it is.
package struct SubscriptionPatch: Sendable {
    package var url: String?
    package var types: [EventTypePattern]?
    package var filter: SubscriptionFilter?
    package var payload: SubscriptionRecord.Payload?
    /// Only `active` or `paused`: `disabled` is the dispatcher's verdict; `active` clears it.
    package var status: SubscriptionRecord.Status?
    package var description: String??

    package init() {}
}

/// One delivery with its attempts, newest attempt last.
package struct DeliveryRecord: Sendable, Hashable {
    package struct Attempt: Sendable, Hashable {
        package var attempt: Int
        package var at: String
        package var targetAddress: String?
        package var statusCode: Int?
        package var latencyMs: Double?
        package var responseBody: String?
        package var error: String?
    }
    package var id: Int64
    package var kind: String
    package var eventSeq: Int64?
    package var messageId: String
    package var eventType: String
    package var status: String
    package var attempts: Int
    package var nextAttemptAt: String?
    package var createdAt: String
    package var finishedAt: String?
    package var lastError: String?
    package var attemptLog: [Attempt]
}

/// The feed position asked for is older than the oldest event kept.
package struct FeedPositionPruned: Error, Sendable {
    package var requested: Int64
    package var feedStart: Int64
}

/// The client already has as many subscriptions as it may (nothing was created).
package struct SubscriptionLimitReached: Error, Sendable {
    package var count: Int64
    package var limit: Int
}

/// Stores subscriptions, their secrets and their delivery history; the dispatcher reads the same tables.
package struct SubscriptionRepository: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Encrypts the signing secrets it stores (plain text only with ``SecretKeyring/plaintext``).
    let keys: SecretKeyring

    package init(client: PostgresClient, logger: Logger, keys: SecretKeyring) {
        self.client = client
        self.logger = logger
        self.keys = keys
    }

    /// Creates the subscription and its first secret, returned once. Fails with ``FeedPositionPruned``
    /// when `after` is before the oldest event kept, or beyond the newest, and with
    /// ``SubscriptionLimitReached`` when the client has `maxPerClient` subscriptions already
    /// (checked under a lock on the client's row, so concurrent requests cannot pass it together).
    package func create(clientId: String, spec: SubscriptionSpec, maxPerClient: Int? = nil) async throws -> (
        SubscriptionRecord, WebhookSecret
    ) {
        let secret = WebhookSecret.generate()
        let id = RandomText.identifier("sub_")
        let stored = try keys.seal(secret, subscriptionId: id)
        let bounds = try await ChangeFeed(client: client, logger: logger).bounds()
        if let after = spec.after, after < bounds.firstKept - 1 || after > bounds.last {
            throw FeedPositionPruned(requested: after, feedStart: bounds.firstKept)
        }
        let start = spec.after ?? bounds.last
        try await client.inTransaction(logger: logger) { connection in
            if let maxPerClient {
                try await connection.query(
                    "SELECT 1 FROM api_client WHERE id = \(clientId) FOR UPDATE", logger: logger)
                let rows = try await connection.query(
                    "SELECT count(*) FROM subscription WHERE client_id = \(clientId)", logger: logger)
                for try await count in rows.decode(Int64.self) where count >= maxPerClient {
                    throw SubscriptionLimitReached(count: count, limit: maxPerClient)
                }
            }
            try await connection.query(
                """
                INSERT INTO subscription (id, client_id, url, types, filter, payload, description, cursor_seq)
                VALUES (\(id), \(clientId), \(spec.url), \(spec.types.map(\.text)), \(spec.filter.json.canonicalText)::jsonb,
                        \(spec.payload.rawValue), \(spec.description), \(start))
                """, logger: logger)
            try await connection.query(
                "INSERT INTO subscription_secret (subscription_id, secret) VALUES (\(id), \(stored))",
                logger: logger)
        }
        guard let record = try await get(id: id, clientId: nil) else {
            throw DatabaseError.unexpected("subscription \(id) vanished after INSERT")
        }
        return (record, secret)
    }

    /// The subscription if it exists and `clientId` may see it (nil = any client: admin).
    package func get(id: String, clientId: String?) async throws -> SubscriptionRecord? {
        try await select(where: "s.id = $1 AND ($2::text IS NULL OR s.client_id = $2)", binds: [id, clientId]).first
    }

    /// A client's subscriptions (all of them for nil = admin), oldest first.
    package func list(clientId: String?) async throws -> [SubscriptionRecord] {
        try await select(where: "$1::text IS NULL OR s.client_id = $1", binds: [clientId])
    }

    func select(where condition: String, binds values: [String?]) async throws -> [SubscriptionRecord] {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT s.id, s.client_id, s.url, s.types, s.filter::text, s.payload, s.status, s.status_reason,
                       s.description, \(Self.timestamp("s.created_at")), \(Self.timestamp("s.updated_at")), s.cursor_seq,
                       \(Self.timestamp("s.failing_since")),
                       (SELECT count(*) FROM delivery d WHERE d.subscription_id = s.id AND d.status IN ('pending', 'retrying')),
                       (SELECT \(Self.timestamp("max(x.expires_at)")) FROM subscription_secret x
                        WHERE x.subscription_id = s.id AND x.expires_at > now())
                FROM subscription s WHERE \(condition) ORDER BY s.created_at, s.id
                """, binds: binds)
        let rows = try await client.query(query, logger: logger)
        var records: [SubscriptionRecord] = []
        for try await row in rows.decode(
            (
                String, String, String, [String], String, String, String, String?, String?, String, String, Int64,
                String?, Int64, String?
            ).self)
        {
            records.append(
                SubscriptionRecord(
                    id: row.0, clientId: row.1, url: row.2, types: row.3, filter: row.4,
                    payload: .init(rawValue: row.5) ?? .thin, status: .init(rawValue: row.6) ?? .disabled,
                    statusReason: row.7, description: row.8, createdAt: row.9, updatedAt: row.10, cursor: row.11,
                    failingSince: row.12, queued: row.13, previousSecretExpiresAt: row.14))
        }
        return records
    }

    static func timestamp(_ expression: String) -> String {
        "to_char((\(expression)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    }

    /// Applies a patch; nil when the subscription does not exist for this client.
    package func update(id: String, clientId: String?, patch: SubscriptionPatch) async throws -> SubscriptionRecord? {
        let description: String? = patch.description ?? nil
        let rows = try await client.query(
            """
            UPDATE subscription SET
                url = coalesce(\(patch.url), url),
                types = coalesce(\(patch.types?.map(\.text))::text[], types),
                filter = coalesce(\(patch.filter?.json.canonicalText)::jsonb, filter),
                payload = coalesce(\(patch.payload?.rawValue), payload),
                status = coalesce(\(patch.status?.rawValue), status),
                status_reason = CASE WHEN \(patch.status?.rawValue)::text IS NULL THEN status_reason END,
                failing_since = CASE WHEN \(patch.status?.rawValue) = 'active' AND status = 'disabled' THEN NULL
                                     ELSE failing_since END,
                description = CASE WHEN \(patch.description != nil) THEN \(description) ELSE description END,
                updated_at = now()
            WHERE id = \(id) AND (\(clientId)::text IS NULL OR client_id = \(clientId))
            RETURNING id
            """, logger: logger)
        var updated = false
        for try await _ in rows.decode(String.self) { updated = true }
        guard updated else { return nil }
        // A subscription waking up should be picked up now, not at the next poll.
        try await client.execute("NOTIFY \(unescaped: Self.wakeChannel)", logger: logger)
        return try await get(id: id, clientId: clientId)
    }

    /// Deletes the subscription with its secrets and deliveries; false when there is none.
    package func delete(id: String, clientId: String?) async throws -> Bool {
        let rows = try await client.query(
            """
            DELETE FROM subscription WHERE id = \(id) AND (\(clientId)::text IS NULL OR client_id = \(clientId))
            RETURNING id
            """, logger: logger)
        var deleted = false
        for try await _ in rows.decode(String.self) { deleted = true }
        return deleted
    }

    /// A new current secret; the previous ones keep signing for `overlapSeconds` (both signatures
    /// are sent meanwhile). Nil when the subscription does not exist for this client.
    package func rotateSecret(id: String, clientId: String?, overlapSeconds: Int) async throws -> (
        WebhookSecret, expiresAt: String
    )? {
        let secret = WebhookSecret.generate()
        let stored = try keys.seal(secret, subscriptionId: id)
        return try await client.inTransaction(logger: logger) { connection in
            let owned = try await connection.query(
                """
                SELECT 1 FROM subscription WHERE id = \(id) AND (\(clientId)::text IS NULL OR client_id = \(clientId))
                FOR UPDATE
                """, logger: logger)
            var found = false
            for try await _ in owned.decode(Int.self) { found = true }
            guard found else { return nil }
            try await connection.query(
                "DELETE FROM subscription_secret WHERE subscription_id = \(id) AND expires_at <= now()", logger: logger)
            try await connection.query(
                """
                UPDATE subscription_secret SET expires_at = now() + make_interval(secs => \(overlapSeconds))
                WHERE subscription_id = \(id) AND expires_at IS NULL
                """, logger: logger)
            try await connection.query(
                "INSERT INTO subscription_secret (subscription_id, secret) VALUES (\(id), \(stored))",
                logger: logger)
            let expiry = try await connection.query(
                "SELECT \(unescaped: Self.timestamp("now() + make_interval(secs => \(overlapSeconds))"))",
                logger: logger)
            for try await text in expiry.decode(String.self) { return (secret, text) }
            throw DatabaseError.unexpected("no expiry computed")
        }
    }

    package static let wakeChannel = "registry_deliveries"

    /// What `reencryptSecrets` did.
    package struct Reencryption: Sendable, Hashable {
        /// Rows that held the secret in plain text.
        package var wasPlain = 0
        /// Rows under a previous key.
        package var wasPreviousKey = 0
        /// Rows already under the current key.
        package var unchanged = 0
    }

    /// Re-encrypts every stored signing secret under the current key (plain rows and rows under a
    /// previous key), in one transaction: all of them or none. Fails when a row cannot be read
    /// (its key is not configured) or when there is no current key.
    package func reencryptSecrets() async throws -> Reencryption {
        guard keys.encrypts else { throw SecretKeyConfigurationError.missing }
        return try await client.inTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT subscription_id, secret FROM subscription_secret ORDER BY subscription_id FOR UPDATE",
                logger: logger)
            var pending: [(String, String, String)] = []
            var summary = Reencryption()
            for try await (subscriptionId, stored) in rows.decode((String, String).self) {
                guard keys.needsRotation(stored) else {
                    summary.unchanged += 1
                    continue
                }
                if SecretKeyring.keyId(of: stored) == nil { summary.wasPlain += 1 } else { summary.wasPreviousKey += 1 }
                let secret = try keys.open(stored, subscriptionId: subscriptionId)
                pending.append((subscriptionId, stored, try keys.seal(secret, subscriptionId: subscriptionId)))
            }
            for (subscriptionId, old, new) in pending {
                try await connection.query(
                    """
                    UPDATE subscription_secret SET secret = \(new)
                    WHERE subscription_id = \(subscriptionId) AND secret = \(old)
                    """, logger: logger)
            }
            return summary
        }
    }

    /// How many stored secrets are under each key id (`plain` for plain text).
    package func secretKeyUsage() async throws -> [String: Int] {
        let rows = try await client.query("SELECT secret FROM subscription_secret", logger: logger)
        var usage: [String: Int] = [:]
        for try await stored in rows.decode(String.self) {
            usage[SecretKeyring.keyId(of: stored) ?? "plain", default: 0] += 1
        }
        return usage
    }
}
