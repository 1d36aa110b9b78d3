import Logging
import PostgresNIO
import RegistryCore

/// One change event as the feed and webhooks carry it.
package struct ChangeEventRecord: Sendable, Hashable {
    package var seq: Int64
    package var id: String
    package var type: String
    package var timestamp: String
    /// `{"key","effectiveFrom","changed","href"}` as canonical JSON text.
    package var data: String

    package init(seq: Int64, id: String, type: String, timestamp: String, data: String) {
        self.seq = seq
        self.id = id
        self.type = type
        self.timestamp = timestamp
        self.data = data
    }

    /// The envelope of DESIGN.md, as the feed lists it and a webhook carries it.
    package func envelope() throws -> JSONValue {
        .object([
            "id": .string(id), "seq": .number(String(seq)), "type": .string(type), "timestamp": .string(timestamp),
            "data": try JSONValue.parse(data),
        ])
    }

    /// `seq, id, type, timestamp, data` of `change_event` row `alias`, in the order the initialiser takes them.
    package static func columns(_ alias: String) -> String {
        """
        \(alias).seq, \(alias).id, \(alias).type,
        to_char(\(alias).occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        jsonb_strip_nulls(jsonb_build_object('key', \(alias).key, 'effectiveFrom', \(alias).effective_from,
                                             'changed', to_jsonb(\(alias).changed), 'href', \(alias).href))::text
        """
    }
}

/// Where the feed stands: the first sequence number still kept and the last one published.
package struct ChangeFeedBounds: Sendable, Hashable {
    package var firstKept: Int64
    package var last: Int64
}

/// Reads and prunes the change feed (`change_event`).
///
/// Sequence numbers are handed out under the counter row's lock, held until the writing import
/// commits, so events become visible in sequence order: a reader that asks for `seq > after`
/// and follows the last seq it received never skips one.
package struct ChangeFeed: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Up to `limit` events after `after`, in sequence order, of the given types (all when empty),
    /// and the sequence number the reader may continue after: the last event returned when the
    /// page is full, else the newest event visible to the same statement (events of other types
    /// up to it were scanned and need not be read again).
    /// The feed's bounds come from the same statement, so pruning between two statements cannot
    /// hide a hole from the caller.
    package func events(after: Int64, limit: Int, types: [EventTypePattern]) async throws
        -> (events: [ChangeEventRecord], next: Int64, bounds: ChangeFeedBounds)
    {
        let patterns = types.map(\.likePattern)
        let rows = try await client.query(
            """
            SELECT t.top, t.first_kept, t.last_seq, p.*
            FROM (SELECT coalesce(max(e.seq), 0) AS top,
                         coalesce(min(e.seq), (SELECT last_seq + 1 FROM change_event_counter WHERE id = 1)) AS first_kept,
                         (SELECT last_seq FROM change_event_counter WHERE id = 1) AS last_seq
                  FROM change_event e) t
            LEFT JOIN LATERAL (
                SELECT \(unescaped: ChangeEventRecord.columns("c"))
                FROM change_event c
                WHERE seq > \(after) AND (cardinality(\(patterns)::text[]) = 0 OR type LIKE ANY (\(patterns)::text[]))
                ORDER BY seq
                LIMIT \(limit)) p ON true
            ORDER BY p.seq
            """, logger: logger)
        var events: [ChangeEventRecord] = []
        var top: Int64 = after
        var bounds = ChangeFeedBounds(firstKept: 1, last: 0)
        for try await (newest, firstKept, last, seq, id, type, timestamp, data) in rows.decode(
            (Int64, Int64, Int64, Int64?, String?, String?, String?, String?).self)
        {
            top = max(top, newest)
            bounds = ChangeFeedBounds(firstKept: firstKept, last: last)
            if let seq, let id, let type, let timestamp, let data {
                events.append(ChangeEventRecord(seq: seq, id: id, type: type, timestamp: timestamp, data: data))
            }
        }
        let next = events.count == limit ? events.last!.seq : max(top, events.last?.seq ?? after)
        return (events, next, bounds)
    }

    /// The first event kept and the newest published.
    package func bounds() async throws -> ChangeFeedBounds {
        let rows = try await client.query(
            """
            SELECT coalesce((SELECT min(seq) FROM change_event), last_seq + 1), last_seq
            FROM change_event_counter WHERE id = 1
            """, logger: logger)
        for try await (first, last) in rows.decode((Int64, Int64).self) {
            return ChangeFeedBounds(firstKept: first, last: last)
        }
        throw DatabaseError.unexpected("change_event_counter has no row")
    }

    /// Removes events older than `days` days, and finished deliveries (with their attempts) as
    /// old; returns how many events went. Queued deliveries stay whatever their age.
    @discardableResult
    package func prune(olderThanDays days: Int) async throws -> Int64 {
        try await client.execute(
            """
            DELETE FROM delivery WHERE status IN ('succeeded', 'dead')
              AND created_at < now() - make_interval(days => \(days)::int)
            """, logger: logger)
        let rows = try await client.query(
            """
            WITH gone AS (DELETE FROM change_event WHERE occurred_at < now() - make_interval(days => \(days)::int)
                          RETURNING 1)
            SELECT count(*) FROM gone
            """, logger: logger)
        var removed: Int64 = 0
        for try await count in rows.decode(Int64.self) { removed = count }
        return removed
    }
}
