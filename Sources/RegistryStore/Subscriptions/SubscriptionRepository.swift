import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// A webhook subscription as stored (its secrets are never read back out).
public struct SubscriptionRecord: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable { case active, paused, disabled }
    public enum Payload: String, Sendable, CaseIterable { case thin, full }

    public var id: String
    public var clientId: String
    public var url: String
    public var types: [String]
    /// Normalised filter JSON text.
    public var filter: String
    public var payload: Payload
    public var status: Status
    public var statusReason: String?
    public var description: String?
    public var createdAt: String
    public var updatedAt: String
    public var cursor: Int64
    public var failingSince: String?
    /// Deliveries waiting (pending or retrying).
    public var queued: Int64
    /// When the rotated-out secret stops signing, if one is still valid.
    public var previousSecretExpiresAt: String?
}

/// What a client asks for when it creates a subscription (already validated).
public struct SubscriptionSpec: Sendable {
    public var url: String
    public var types: [EventTypePattern]
    public var filter: SubscriptionFilter
    public var payload: SubscriptionRecord.Payload
    public var description: String?
    /// Deliver events after this feed position; nil = from now (the newest event is not sent).
    public var after: Int64?

    public init(
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
public struct SubscriptionPatch: Sendable {
    public var url: String?
    public var types: [EventTypePattern]?
    public var filter: SubscriptionFilter?
    public var payload: SubscriptionRecord.Payload?
    /// Only `active` or `paused`: `disabled` is the dispatcher's verdict; `active` clears it.
    public var status: SubscriptionRecord.Status?
    public var description: String??

    public init() {}
}

/// One delivery with its attempts, newest attempt last.
public struct DeliveryRecord: Sendable, Hashable {
    public struct Attempt: Sendable, Hashable {
        public var attempt: Int
        public var at: String
        public var targetAddress: String?
        public var statusCode: Int?
        public var latencyMs: Double?
        public var responseBody: String?
        public var error: String?
    }
    public var id: Int64
    public var kind: String
    public var eventSeq: Int64?
    public var messageId: String
    public var eventType: String
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: String?
    public var createdAt: String
    public var finishedAt: String?
    public var lastError: String?
    public var attemptLog: [Attempt]
}

/// The feed position asked for is older than the oldest event kept.
public struct FeedPositionPruned: Error, Sendable {
    public var requested: Int64
    public var feedStart: Int64
}

/// Stores subscriptions, their secrets and their delivery history; the dispatcher reads the same tables.
public struct SubscriptionRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the subscription and its first secret, returned once. Fails with ``FeedPositionPruned``
    /// when `after` is before the oldest event kept, or beyond the newest.
    public func create(clientId: String, spec: SubscriptionSpec) async throws -> (SubscriptionRecord, WebhookSecret) {
        let secret = WebhookSecret.generate()
        let id = RandomText.identifier("sub_")
        let bounds = try await ChangeFeed(client: client, logger: logger).bounds()
        if let after = spec.after, after < bounds.firstKept - 1 || after > bounds.last {
            throw FeedPositionPruned(requested: after, feedStart: bounds.firstKept)
        }
        let start = spec.after ?? bounds.last
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO subscription (id, client_id, url, types, filter, payload, description, cursor_seq)
                VALUES (\(id), \(clientId), \(spec.url), \(spec.types.map(\.text)), \(spec.filter.json.canonicalText)::jsonb,
                        \(spec.payload.rawValue), \(spec.description), \(start))
                """, logger: logger)
            try await connection.query(
                "INSERT INTO subscription_secret (subscription_id, secret) VALUES (\(id), \(secret.text))",
                logger: logger)
        }
        guard let record = try await get(id: id, clientId: nil) else {
            throw DatabaseError.unexpected("subscription \(id) vanished after INSERT")
        }
        return (record, secret)
    }

    /// The subscription if it exists and `clientId` may see it (nil = any client: admin).
    public func get(id: String, clientId: String?) async throws -> SubscriptionRecord? {
        try await select(where: "s.id = $1 AND ($2::text IS NULL OR s.client_id = $2)", binds: [id, clientId]).first
    }

    /// A client's subscriptions (all of them for nil = admin), oldest first.
    public func list(clientId: String?) async throws -> [SubscriptionRecord] {
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
    public func update(id: String, clientId: String?, patch: SubscriptionPatch) async throws -> SubscriptionRecord? {
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
    public func delete(id: String, clientId: String?) async throws -> Bool {
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
    public func rotateSecret(id: String, clientId: String?, overlapSeconds: Int) async throws -> (
        WebhookSecret, expiresAt: String
    )? {
        let secret = WebhookSecret.generate()
        return try await client.withTransaction(logger: logger) { connection in
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
                "INSERT INTO subscription_secret (subscription_id, secret) VALUES (\(id), \(secret.text))",
                logger: logger)
            let expiry = try await connection.query(
                "SELECT \(unescaped: Self.timestamp("now() + make_interval(secs => \(overlapSeconds))"))",
                logger: logger)
            for try await text in expiry.decode(String.self) { return (secret, text) }
            throw DatabaseError.unexpected("no expiry computed")
        }
    }

    public static let wakeChannel = "registry_deliveries"
}
