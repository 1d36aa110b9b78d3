import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// The delivery history of subscriptions, manual retries and replays (the API side of `delivery`).
package struct DeliveryRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package static let statuses = ["pending", "retrying", "succeeded", "dead"]

    /// Newest first, before delivery `before` when given, optionally of one status; with every attempt.
    package func list(subscriptionId: String, status: String?, before: Int64?, limit: Int) async throws
        -> [DeliveryRecord]
    {
        let ts = SubscriptionRepository.timestamp
        let rows = try await client.query(
            """
            SELECT d.id, d.kind, d.event_seq, d.message_id, d.event_type, d.status, d.attempts,
                   CASE WHEN d.status IN ('pending', 'retrying') THEN \(unescaped: ts("d.next_attempt_at")) END,
                   \(unescaped: ts("d.created_at")), \(unescaped: ts("d.finished_at")), d.last_error,
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                                 'attempt', a.attempt, 'at', \(unescaped: ts("a.at")), 'targetAddress', a.target_address,
                                 'statusCode', a.status_code, 'latencyMs', a.latency_ms, 'responseBody', a.response_body,
                                 'error', a.error) ORDER BY a.attempt)
                             FROM delivery_attempt a WHERE a.delivery_id = d.id), '[]')::text
            FROM delivery d
            WHERE d.subscription_id = \(subscriptionId) AND (\(status)::text IS NULL OR d.status = \(status))
              AND (\(before)::bigint IS NULL OR d.id < \(before))
            ORDER BY d.id DESC LIMIT \(limit)
            """, logger: logger)
        var records: [DeliveryRecord] = []
        for try await row in rows.decode(
            (Int64, String, Int64?, String, String, String, Int, String?, String, String?, String?, String).self)
        {
            let attempts = try JSONValue.parse(row.11)
            var log: [DeliveryRecord.Attempt] = []
            if case .array(let items) = attempts {
                for item in items {
                    log.append(
                        DeliveryRecord.Attempt(
                            attempt: Int(item["attempt"]?.stringValue ?? "") ?? 0, at: item["at"]?.stringValue ?? "",
                            targetAddress: item["targetAddress"]?.nonNullString,
                            statusCode: item["statusCode"]?.nonNullString.flatMap { Int($0) },
                            latencyMs: item["latencyMs"]?.nonNullString.flatMap { Double($0) },
                            responseBody: item["responseBody"]?.nonNullString, error: item["error"]?.nonNullString))
                }
            }
            records.append(
                DeliveryRecord(
                    id: row.0, kind: row.1, eventSeq: row.2, messageId: row.3, eventType: row.4, status: row.5,
                    attempts: row.6, nextAttemptAt: row.7, createdAt: row.8, finishedAt: row.9, lastError: row.10,
                    attemptLog: log))
        }
        return records
    }

    package enum RetryOutcome: Sendable, Equatable {
        case queued
        case notFound
        /// Only dead letters can be retried by hand; the others are delivered or on their way.
        case notDead(status: String)
    }

    /// Puts a dead letter back at the head of its subscription's queue, with a fresh retry schedule.
    package func retry(subscriptionId: String, deliveryId: Int64) async throws -> RetryOutcome {
        let rows = try await client.query(
            """
            WITH target AS (SELECT id, status FROM delivery WHERE id = \(deliveryId) AND subscription_id = \(subscriptionId)),
                 queued AS (UPDATE delivery d SET status = 'pending', next_attempt_at = now(), retry_base = d.attempts,
                                                  finished_at = NULL
                            FROM target t WHERE d.id = t.id AND t.status = 'dead' RETURNING d.id)
            SELECT t.status, (SELECT count(*) FROM queued) FROM target t
            """, logger: logger)
        var found: (status: String, queued: Int64)?
        for try await row in rows.decode((String, Int64).self) { found = row }
        guard let found else { return .notFound }
        guard found.queued == 1 else { return .notDead(status: found.status) }
        try await client.execute("NOTIFY \(unescaped: SubscriptionRepository.wakeChannel)", logger: logger)
        return .queued
    }

    package enum ReplayOutcome: Sendable, Equatable {
        case queued(Int64)
        /// Queuing `requested` more would put the subscription over `limit` waiting deliveries
        /// (it has `queued`); nothing was queued.
        case queueFull(queued: Int64, requested: Int64, limit: Int)
    }

    /// Queues the subscription's events in a sequence range (inclusive) or an occurrence time range
    /// again, in order, as replay deliveries with their original ids. Types and filter of the
    /// subscription apply; at most `limit` events. Nothing is queued when the subscription would
    /// then have more than `maxQueued` deliveries waiting (pending or retrying); concurrent replays
    /// of one subscription are serialised on its row, so together they cannot exceed it either.
    package func replay(
        subscriptionId: String, fromSeq: Int64?, toSeq: Int64?, since: String?, until: String?, limit: Int,
        maxQueued: Int = Int(Int32.max)
    ) async throws -> ReplayOutcome {
        let outcome = try await client.inTransaction(logger: logger) { connection in
            try await connection.query(
                "SELECT 1 FROM subscription WHERE id = \(subscriptionId) FOR UPDATE", logger: logger)
            let rows = try await connection.query(
                """
                WITH s AS (SELECT id, types, filter FROM subscription WHERE id = \(subscriptionId)),
                     picked AS (
                        SELECT e.seq, e.id, e.type FROM s, change_event e
                        WHERE e.seq >= coalesce(\(fromSeq), 0) AND e.seq <= coalesce(\(toSeq), 9223372036854775807)
                          AND (\(since)::timestamptz IS NULL OR e.occurred_at >= \(since)::timestamptz)
                          AND (\(until)::timestamptz IS NULL OR e.occurred_at < \(until)::timestamptz)
                          AND e.type LIKE ANY (SELECT replace(replace(t, '_', '\\_'), '*', '%') FROM unnest(s.types) t)
                          AND subscription_filter_matches(s.filter, e.entity_type, e.key)
                        ORDER BY e.seq LIMIT \(limit)),
                     waiting AS (
                        SELECT count(*) AS n FROM delivery
                        WHERE subscription_id = \(subscriptionId) AND status IN ('pending', 'retrying')),
                     fits AS (SELECT (SELECT n FROM waiting) + (SELECT count(*) FROM picked) <= \(maxQueued) AS ok),
                     inserted AS (
                        INSERT INTO delivery (subscription_id, kind, event_seq, message_id, event_type, status)
                        SELECT \(subscriptionId), 'replay', seq, id, type, 'pending' FROM picked, fits WHERE fits.ok
                        ORDER BY seq
                        RETURNING 1)
                SELECT (SELECT count(*) FROM inserted), (SELECT n FROM waiting), (SELECT count(*) FROM picked),
                       (SELECT ok FROM fits)
                """, logger: logger)
            for try await (inserted, waiting, picked, fits) in rows.decode((Int64, Int64, Int64, Bool).self) {
                return fits
                    ? ReplayOutcome.queued(inserted)
                    : ReplayOutcome.queueFull(queued: waiting, requested: picked, limit: maxQueued)
            }
            throw DatabaseError.unexpected("no row for the replay")
        }
        if case .queued(let count) = outcome, count > 0 {
            try await client.execute("NOTIFY \(unescaped: SubscriptionRepository.wakeChannel)", logger: logger)
        }
        return outcome
    }
}

extension DeliveryRepository {
    /// A `webhook.ping` message for the subscription and the secrets that sign it; nil secrets
    /// never happen for an existing subscription.
    package func pingMessage(subscriptionId: String, keys: SecretKeyring) async throws -> (
        id: String, body: String, secrets: [WebhookSecret]
    ) {
        let rows = try await client.query(
            """
            SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   ARRAY(SELECT secret FROM subscription_secret
                         WHERE subscription_id = \(subscriptionId) AND (expires_at IS NULL OR expires_at > now())
                         ORDER BY expires_at DESC NULLS FIRST, created_at DESC)
            """, logger: logger)
        for try await (timestamp, secrets) in rows.decode((String, [String]).self) {
            let id = RandomText.identifier("msg_ping_")
            let body: JSONValue = .object([
                "id": .string(id), "type": .string("webhook.ping"), "timestamp": .string(timestamp),
                "data": .object(["subscriptionId": .string(subscriptionId)]),
            ])
            // A secret that cannot be decrypted (its key is not configured) does not sign; with none
            // left the message would go unsigned, so the ping fails instead.
            var usable: [WebhookSecret] = []
            var failure: (any Error)?
            for stored in secrets {
                do { usable.append(try keys.open(stored, subscriptionId: subscriptionId)) } catch { failure = error }
            }
            if usable.isEmpty, let failure { throw failure }
            return (id, body.canonicalText, usable)
        }
        throw DatabaseError.unexpected("no row for the ping message")
    }

    package struct PingAttempt: Sendable {
        package var at: Double
        package var targetAddress: String?
        package var statusCode: Int?
        package var latencyMs: Double
        package var responseBody: String?
        package var error: String?

        package init(
            at: Double, targetAddress: String?, statusCode: Int?, latencyMs: Double, responseBody: String?,
            error: String?
        ) {
            self.at = at
            self.targetAddress = targetAddress
            self.statusCode = statusCode
            self.latencyMs = latencyMs
            self.responseBody = responseBody
            self.error = error
        }
    }

    /// Records a ping (outside the queue: it never waits for nor blocks the events). Returns its delivery id.
    package func recordPing(
        subscriptionId: String, messageId: String, body: String, delivered: Bool, attempt: PingAttempt
    ) async throws -> Int64 {
        // What the receiver answered must be storable (no NUL; bounded): see StorableText.
        let error = StorableText.clean(attempt.error, maxBytes: 4096)
        let responseBody = StorableText.clean(attempt.responseBody, maxBytes: 4096)
        let rows = try await client.query(
            """
            WITH d AS (
                INSERT INTO delivery (subscription_id, kind, message_id, event_type, body, status, attempts, finished_at,
                                      last_error)
                VALUES (\(subscriptionId), 'ping', \(messageId), 'webhook.ping', \(body),
                        CASE WHEN \(delivered) THEN 'succeeded' ELSE 'dead' END, 1, now(), \(error))
                RETURNING id)
            INSERT INTO delivery_attempt (delivery_id, attempt, at, target_address, status_code, latency_ms, response_body,
                                          error, dispatcher)
            SELECT d.id, 1, to_timestamp(\(attempt.at)), \(attempt.targetAddress), \(attempt.statusCode),
                   \(attempt.latencyMs), \(responseBody), \(error), 'api'
            FROM d RETURNING delivery_id
            """, logger: logger)
        var recorded: Int64?
        for try await id in rows.decode(Int64.self) { recorded = id }
        guard let recorded else { throw DatabaseError.unexpected("ping delivery not recorded") }
        return recorded
    }
}

extension JSONValue {
    /// The text of a string/number/bool; nil for JSON null or absent.
    fileprivate var nonNullString: String? { self == .null ? nil : stringValue }
}
