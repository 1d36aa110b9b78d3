import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// Emits `sam.<entity>.effective` events on the day a future-dated slice takes effect (or an
/// entity stops being valid), exactly once per day: the day is recorded in `effective_day` in the
/// same transaction as its events, under an advisory lock, so several processes may run this and
/// one that was down catches up day by day when it comes back.
package struct EffectiveDateEmitter: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Emits the events of every day after the last one processed, up to `today`. The very first
    /// run starts with `today` (it does not replay history). Returns the events emitted per day.
    @discardableResult
    package func catchUp(today: LocalDate = .todayInBrussels()) async throws -> [(LocalDate, Int)] {
        var emitted: [(LocalDate, Int)] = []
        while true {
            let done = try await client.withTransaction(logger: logger) { connection -> (LocalDate, Int)? in
                // One emitter at a time; the others wait, then see the day done.
                try await connection.query("SELECT pg_advisory_xact_lock(7020111)", logger: logger)
                let last = try await lastProcessed(connection)
                let day: LocalDate
                if let last {
                    day = last.adding(days: 1)
                } else {
                    day = today
                }
                guard day <= today else { return nil }
                let count = try await emit(day: day, connection: connection)
                try await connection.query(
                    "INSERT INTO effective_day (day, events) VALUES (\(day.description)::date, \(count))",
                    logger: logger)
                if count > 0 {
                    try await connection.query("NOTIFY registry_deliveries, 'effective'", logger: logger)
                    try await connection.query("NOTIFY registry_data, 'effective'", logger: logger)
                }
                return (day, count)
            }
            guard let done else { return emitted }
            if done.1 > 0 {
                logger.info("effective-date events", metadata: ["day": "\(done.0)", "events": "\(done.1)"])
            }
            emitted.append(done)
        }
    }

    func lastProcessed(_ connection: PostgresConnection) async throws -> LocalDate? {
        let rows = try await connection.query("SELECT max(day)::text FROM effective_day", logger: logger)
        for try await text in rows.decode(String?.self) { return text.flatMap { LocalDate(iso: $0) } }
        return nil
    }

    /// The events of one day: entities with a slice starting that day or ending the day before.
    func emit(day: LocalDate, connection: PostgresConnection) async throws -> Int {
        let candidates = try await connection.query(
            """
            SELECT entity_type, entity_key, parent_type, parent_key, document::text FROM sam_entity
            WHERE jsonb_path_exists(document, '$.slices[*] ? (@.from == $day || @.to == $eve)',
                                    jsonb_build_object('day', \(day.description)::text,
                                                       'eve', \(day.adding(days: -1).description)::text))
            ORDER BY entity_type, entity_key
            """, logger: logger)
        var rows: [JSONValue] = []
        for try await (type, key, parentType, parentKey, text) in candidates.decode(
            (String, String, String?, String?, String).self)
        {
            let document = try JSONValue.parse(text)
            let entity = StoredSAMEntity(
                type: type, key: key, parentType: parentType, parentKey: parentKey, document: document,
                changedRunId: nil)
            guard let changed = EffectiveChange.fields(of: entity, on: day) else { continue }
            rows.append(
                .object([
                    "entity_type": .string(type), "entity_key": .string(key),
                    "key": document["key"] ?? .object([:]), "changed": .array(changed.map(JSONValue.string)),
                ]))
        }
        guard !rows.isEmpty else { return 0 }
        let payload = JSONValue.array(rows).canonicalText
        try await connection.query(
            """
            WITH r AS (SELECT *, row_number() OVER (ORDER BY entity_type, entity_key) AS n
                       FROM jsonb_to_recordset(\(payload)::jsonb) AS r(entity_type text, entity_key text, key jsonb,
                                                                        changed jsonb)),
                 counter AS (UPDATE change_event_counter SET last_seq = last_seq + (SELECT count(*) FROM r)
                             WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM r) AS base)
            INSERT INTO change_event (seq, id, type, entity_type, entity_key, key, changed, effective_from, href)
            SELECT counter.base + r.n, 'evt_' || lpad((counter.base + r.n)::text, 12, '0'),
                   'sam.' || r.entity_type || '.effective', r.entity_type, r.entity_key, r.key,
                   ARRAY(SELECT jsonb_array_elements_text(r.changed)), \(day.description)::date,
                   sam_event_href(r.entity_type, r.key)
            FROM r, counter
            """, logger: logger)
        return rows.count
    }
}
