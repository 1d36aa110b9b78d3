import Foundation
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// A subscription a dispatcher holds the lease of.
struct ClaimedSubscription: Sendable {
    var id: String
    var url: String
    var payload: SubscriptionRecord.Payload
    var typePatterns: [String]
    var filter: String
    var cursor: Int64
    /// Current secret first, then those still valid after a rotation.
    var secrets: [WebhookSecret]
}

/// A queued delivery (pending or retrying), head first.
struct QueuedDelivery: Sendable {
    var id: Int64
    var kind: String
    var messageId: String
    var eventType: String
    /// Nil until the first attempt builds it (replays): then `event` holds the event.
    var body: String?
    var event: ChangeEventRecord?
    var attempts: Int
    var retryBase: Int
    var due: Bool
}

/// The outcome of one attempt, as `delivery`/`delivery_attempt` store it.
struct RecordedAttempt: Sendable {
    /// Delivery id for queued deliveries; nil for feed events seen for the first time.
    var deliveryId: Int64?
    var eventSeq: Int64?
    var messageId: String
    var eventType: String
    var body: String
    /// succeeded, retrying (next attempt at `nextAttemptIn` s) or dead.
    var status: String
    var nextAttemptIn: Double
    var attempt: Int
    var result: AttemptResult

    /// The attempt without what came from outside (the receiver's answer, error texts that may
    /// quote it): what is recorded when the full record was refused.
    func withoutDetails() -> RecordedAttempt {
        var copy = self
        copy.result.responseBody = nil
        if copy.result.error != nil {
            copy.result.error = "the details of this attempt could not be stored"
        }
        return copy
    }

    var json: JSONValue {
        // Whatever a receiver answered must be storable (no NUL; bounded): see StorableText.
        func text(_ value: String?) -> JSONValue {
            StorableText.clean(value, maxBytes: WebhookSender.responseExcerptBytes).map(JSONValue.string) ?? .null
        }
        func number<N: BinaryInteger>(_ value: N?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        return .object([
            "delivery_id": number(deliveryId), "event_seq": number(eventSeq), "message_id": .string(messageId),
            "event_type": .string(eventType), "body": .string(body), "status": .string(status),
            "next_in": .number(String(nextAttemptIn)), "attempt": number(attempt),
            "at": .number(String(result.at.timeIntervalSince1970)),
            "target_address": text(result.targetAddress), "status_code": number(result.statusCode),
            "latency_ms": .number(String(result.latencyMs)), "response_body": text(result.responseBody),
            "error": text(result.error),
        ])
    }
}

/// Why a subscription stops being served.
enum SubscriptionVerdict: Sendable {
    case healthy
    case failing
    case disable(reason: String)
}

/// The lease was taken over by another dispatcher (ours expired): our results are not recorded,
/// the other one sends again (at least once).
struct LeaseLost: Error {}

/// The dispatcher's statements: claim, read the queue and the feed, record outcomes, release.
struct DeliveryStore: Sendable {
    /// A retry is due its delay after the receiver answered (or the attempt gave up), however
    /// long recording took.
    static let nextAttempt = "to_timestamp(r.at + r.latency_ms / 1000 + r.next_in)"

    let client: PostgresClient
    let owner: String
    let leaseSeconds: Int
    let keys: SecretKeyring
    let logger: Logger

    /// Leases up to `limit` active subscriptions that have something due: the head of their queue,
    /// or (with an empty queue) events after their cursor. Most-behind first.
    func claim(limit: Int) async throws -> [ClaimedSubscription] {
        let rows = try await client.query(
            """
            WITH top AS (SELECT last_seq FROM change_event_counter WHERE id = 1),
            candidates AS (
                SELECT s.id FROM subscription s, top
                WHERE s.status = 'active' AND (s.lease_until IS NULL OR s.lease_until < now())
                  AND coalesce((SELECT d.next_attempt_at <= now() FROM delivery d
                                WHERE d.subscription_id = s.id AND d.status IN ('pending', 'retrying')
                                ORDER BY d.id LIMIT 1),
                               s.cursor_seq < top.last_seq)
                ORDER BY s.cursor_seq, s.id
                LIMIT \(limit)
                FOR UPDATE OF s SKIP LOCKED)
            UPDATE subscription s SET lease_owner = \(owner), lease_until = now() + make_interval(secs => \(leaseSeconds))
            FROM candidates c WHERE s.id = c.id
            RETURNING s.id, s.url, s.payload, s.types, s.filter::text, s.cursor_seq,
                      ARRAY(SELECT x.secret FROM subscription_secret x
                            WHERE x.subscription_id = s.id AND (x.expires_at IS NULL OR x.expires_at > now())
                            ORDER BY x.expires_at DESC NULLS FIRST, x.created_at DESC)
            """, logger: logger)
        var claimed: [ClaimedSubscription] = []
        for try await (id, url, payload, types, filter, cursor, secrets) in rows.decode(
            (String, String, String, [String], String, Int64, [String]).self)
        {
            claimed.append(
                ClaimedSubscription(
                    id: id, url: url, payload: .init(rawValue: payload) ?? .thin,
                    typePatterns: types.compactMap(EventTypePattern.init).map(\.likePattern), filter: filter,
                    cursor: cursor, secrets: readable(secrets, subscriptionId: id)))
        }
        return claimed
    }

    /// The secrets that can be decrypted; the others are logged (their key is not configured).
    func readable(_ stored: [String], subscriptionId: String) -> [WebhookSecret] {
        stored.compactMap { text in
            do {
                return try keys.open(text, subscriptionId: subscriptionId)
            } catch {
                logger.error(
                    "a signing secret cannot be read",
                    metadata: ["subscription": "\(subscriptionId)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// Releases the lease but keeps every dispatcher (this one too) off the subscription for `delay`.
    func holdOff(_ id: String, for delay: Duration) async throws {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        try await client.execute(
            """
            UPDATE subscription SET lease_owner = NULL, lease_until = now() + make_interval(secs => \(seconds))
            WHERE id = \(id) AND lease_owner = \(owner)
            """, logger: logger)
    }

    func release(_ id: String) async throws {
        try await client.execute(
            """
            UPDATE subscription SET lease_owner = NULL, lease_until = NULL WHERE id = \(id) AND lease_owner = \(owner)
            """, logger: logger)
    }

    /// The subscription's queue, head first; replays still without a body come with their event.
    func queued(_ subscriptionId: String, limit: Int) async throws -> [QueuedDelivery] {
        let rows = try await client.query(
            """
            SELECT d.id, d.kind, d.message_id, d.event_type, d.body, d.attempts, d.retry_base, d.next_attempt_at <= now(),
                   \(unescaped: ChangeEventRecord.columns("e"))
            FROM (SELECT * FROM delivery WHERE subscription_id = \(subscriptionId) AND status IN ('pending', 'retrying')
                  ORDER BY id LIMIT \(limit)) d
            LEFT JOIN change_event e ON d.body IS NULL AND e.seq = d.event_seq
            ORDER BY d.id
            """, logger: logger)
        var queue: [QueuedDelivery] = []
        for try await row in rows.decode(
            (Int64, String, String, String, String?, Int, Int, Bool, Int64?, String?, String?, String?, String?).self)
        {
            var event: ChangeEventRecord?
            if let seq = row.8, let id = row.9, let type = row.10, let timestamp = row.11, let data = row.12 {
                event = ChangeEventRecord(seq: seq, id: id, type: type, timestamp: timestamp, data: data)
            }
            queue.append(
                QueuedDelivery(
                    id: row.0, kind: row.1, messageId: row.2, eventType: row.3, body: row.4, event: event,
                    attempts: row.5, retryBase: row.6, due: row.7))
        }
        return queue
    }

    /// Matching events after `cursor`, in order, and how far the scan got: the last event returned
    /// when the page is full, else the newest event visible to the same statement.
    func events(for subscription: ClaimedSubscription, after cursor: Int64, limit: Int) async throws
        -> (events: [ChangeEventRecord], scannedTo: Int64)
    {
        let rows = try await client.query(
            """
            SELECT t.top, p.*
            FROM (SELECT coalesce(max(seq), 0) AS top FROM change_event) t
            LEFT JOIN LATERAL (
                SELECT \(unescaped: ChangeEventRecord.columns("c"))
                FROM change_event c
                WHERE c.seq > \(cursor) AND c.type LIKE ANY (\(subscription.typePatterns)::text[])
                  AND subscription_filter_matches(\(subscription.filter)::jsonb, c.entity_type, c.key)
                ORDER BY c.seq LIMIT \(limit)) p ON true
            ORDER BY p.seq
            """, logger: logger)
        var events: [ChangeEventRecord] = []
        var top = cursor
        for try await (newest, seq, id, type, timestamp, data) in rows.decode(
            (Int64, Int64?, String?, String?, String?, String?).self)
        {
            top = max(top, newest)
            if let seq, let id, let type, let timestamp, let data {
                events.append(ChangeEventRecord(seq: seq, id: id, type: type, timestamp: timestamp, data: data))
            }
        }
        let scannedTo = events.count == limit ? events.last!.seq : max(top, events.last?.seq ?? cursor)
        return (events, scannedTo)
    }

    /// Records a round's attempts, moves the cursor, and updates the subscription's health, in one
    /// transaction that first checks the lease is still ours.
    func record(
        subscriptionId: String, attempts: [RecordedAttempt], cursor: Int64?, verdict: SubscriptionVerdict,
        disableAfterSeconds: Double
    ) async throws {
        let rows = JSONValue.array(attempts.map(\.json)).canonicalText
        let disableReason: String? = if case .disable(let reason) = verdict { reason } else { nil }
        let healthy = if case .healthy = verdict { true } else { false }
        try await client.withTransaction(logger: logger) { connection in
            let lease = try await connection.query(
                """
                UPDATE subscription SET
                    cursor_seq = greatest(cursor_seq, coalesce(\(cursor), cursor_seq)),
                    failing_since = CASE WHEN \(healthy) THEN NULL ELSE coalesce(failing_since, now()) END,
                    lease_until = now() + make_interval(secs => \(leaseSeconds))
                WHERE id = \(subscriptionId) AND lease_owner = \(owner)
                RETURNING failing_since IS NOT NULL AND failing_since < now() - make_interval(secs => \(disableAfterSeconds))
                """, logger: logger)
            var failingTooLong: Bool?
            for try await value in lease.decode(Bool.self) { failingTooLong = value }
            guard let failingTooLong else { throw LeaseLost() }
            if !attempts.isEmpty {
                try await connection.query(
                    """
                    WITH r AS (
                        SELECT * FROM jsonb_to_recordset(\(rows)::jsonb) AS r(
                            delivery_id bigint, event_seq bigint, message_id text, event_type text, body text, status text,
                            next_in double precision, attempt int, at double precision, target_address text, status_code int,
                            latency_ms double precision, response_body text, error text)),
                    updated AS (
                        UPDATE delivery d SET status = r.status, attempts = r.attempt, body = r.body,
                            next_attempt_at = CASE WHEN r.status = 'retrying' THEN \(unescaped: Self.nextAttempt)
                                                   ELSE d.next_attempt_at END,
                            finished_at = CASE WHEN r.status IN ('succeeded', 'dead') THEN now() END,
                            last_error = r.error
                        FROM r WHERE r.delivery_id IS NOT NULL AND d.id = r.delivery_id
                        RETURNING d.id, r.attempt, to_timestamp(r.at) AS at, r.target_address, r.status_code, r.latency_ms, r.response_body, r.error),
                    inserted AS (
                        INSERT INTO delivery (subscription_id, kind, event_seq, message_id, event_type, body, status, attempts,
                                              next_attempt_at, finished_at, last_error)
                        SELECT \(subscriptionId), 'event', r.event_seq, r.message_id, r.event_type, r.body, r.status, 1,
                               \(unescaped: Self.nextAttempt),
                               CASE WHEN r.status IN ('succeeded', 'dead') THEN now() END, r.error
                        FROM r WHERE r.delivery_id IS NULL ORDER BY r.event_seq
                        RETURNING id, event_seq)
                    INSERT INTO delivery_attempt (delivery_id, attempt, at, target_address, status_code, latency_ms,
                                                  response_body, error, dispatcher)
                    SELECT id, attempt, at, target_address, status_code, latency_ms, response_body, error, \(owner) FROM updated
                    UNION ALL
                    SELECT i.id, r.attempt, to_timestamp(r.at), r.target_address, r.status_code, r.latency_ms, r.response_body, r.error,
                           \(owner)
                    FROM inserted i JOIN r ON r.delivery_id IS NULL AND r.event_seq = i.event_seq
                    """, logger: logger)
            }
            let reason = disableReason ?? (failingTooLong ? "deliveries failed without a success for too long" : nil)
            if let reason {
                try await connection.query(
                    """
                    UPDATE subscription SET status = 'disabled', status_reason = \(reason), updated_at = now()
                    WHERE id = \(subscriptionId)
                    """, logger: logger)
            }
        }
    }
}
