import Logging
import PostgresNIO

/// Reads recorded import runs and their findings (for `registry imports`).
package struct ImportRunRepository: Sendable {
    package struct Run: Sendable {
        package var id: Int64
        package var domain: String
        package var source: String
        package var sourceVersion: String?
        package var sourceId: String?
        package var startedAt: String
        package var durationMs: Int64?
        package var outcome: String
        package var refusalReason: String?
        package var findingsTotal: Int64
        package var eventsEmitted: Int64
        package var counts: String
        package var files: String
    }

    package struct Finding: Sendable {
        package var ordinal: Int32
        package var severity: String
        package var rule: String
        package var entityType: String?
        package var entityKey: String?
        package var file: String?
        package var line: Int32?
        package var message: String
    }

    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func recent(limit: Int) async throws -> [Run] {
        try await runs(id: nil, limit: limit)
    }

    package func run(id: Int64) async throws -> Run? {
        try await runs(id: id, limit: 1).first
    }

    /// The newest runs (at most `limit`, 1…1000), or the run `id`.
    func runs(id: Int64?, limit: Int) async throws -> [Run] {
        let rows = try await client.query(
            """
            SELECT id, domain, source, source_version, source_id, to_char(started_at, 'YYYY-MM-DD"T"HH24:MI:SSOF'),
                   duration_ms, outcome, refusal_reason, findings_total, events_emitted, counts::text, files::text
            FROM import_run WHERE \(id)::bigint IS NULL OR id = \(id)
            ORDER BY id DESC LIMIT \(Int64(max(1, min(limit, 1000))))
            """, logger: logger)
        var out: [Run] = []
        for try await r in rows.decode(
            (Int64, String, String, String?, String?, String, Int64?, String, String?, Int64, Int64, String, String)
                .self)
        {
            out.append(
                Run(
                    id: r.0, domain: r.1, source: r.2, sourceVersion: r.3, sourceId: r.4, startedAt: r.5,
                    durationMs: r.6,
                    outcome: r.7, refusalReason: r.8, findingsTotal: r.9, eventsEmitted: r.10, counts: r.11, files: r.12
                ))
        }
        return out
    }

    /// Findings of a run, worst first, optionally only those of one rule.
    package func findings(runId: Int64, rule: String?, limit: Int) async throws -> [Finding] {
        let rows = try await client.query(
            """
            SELECT ordinal, severity, rule, entity_type, entity_key, file, line, message FROM import_finding
            WHERE run_id = \(runId) AND (\(rule)::text IS NULL OR rule = \(rule))
            ORDER BY CASE severity WHEN 'fatal' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, ordinal
            LIMIT \(Int64(max(1, min(limit, 100_000))))
            """, logger: logger)
        var out: [Finding] = []
        for try await r in rows.decode((Int32, String, String, String?, String?, String?, Int32?, String).self) {
            out.append(
                Finding(
                    ordinal: r.0, severity: r.1, rule: r.2, entityType: r.3, entityKey: r.4, file: r.5, line: r.6,
                    message: r.7))
        }
        return out
    }
}
