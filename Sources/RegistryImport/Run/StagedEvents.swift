import Logging
import PostgresNIO
import RegistryStore

extension PostgresConnection {
    /// Creates the transaction's `stage_event` table: one row per change event to append.
    func createEventStage(logger: Logger) async throws {
        try await execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS stage_event (
                entity_type text NOT NULL, entity_key text NOT NULL, type text NOT NULL, key jsonb NOT NULL,
                changed text[] NOT NULL DEFAULT '{}', href text
            ) ON COMMIT DROP
            """, logger: logger)
    }

    /// Appends the staged events to `change_event`, numbered gap-free (ordered by type and key)
    /// through the counter row, in the caller's transaction. Returns count, first and last seq.
    func appendStagedEvents(runId: Int64, logger: Logger) async throws -> (count: Int, first: Int64?, last: Int64?) {
        let rows = try await query(
            """
            WITH staged AS (
                SELECT e.*, row_number() OVER (ORDER BY e.type, e.entity_key) AS n FROM stage_event e),
            counter AS (UPDATE change_event_counter SET last_seq = last_seq + (SELECT count(*) FROM staged)
                        WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM staged) AS base),
            inserted AS (
                INSERT INTO change_event (seq, id, type, run_id, entity_type, entity_key, key, changed, href)
                SELECT counter.base + s.n, 'evt_' || lpad((counter.base + s.n)::text, 12, '0'), s.type, \(runId),
                       s.entity_type, s.entity_key, s.key, s.changed, s.href
                FROM staged s, counter
                RETURNING seq)
            SELECT count(*), min(seq), max(seq) FROM inserted
            """, logger: logger)
        var result: (Int, Int64?, Int64?) = (0, nil, nil)
        for try await (count, first, last) in rows.decode((Int64, Int64?, Int64?).self) {
            result = (Int(count), first, last)
        }
        try await execute("TRUNCATE stage_event", logger: logger)
        return result
    }
}
