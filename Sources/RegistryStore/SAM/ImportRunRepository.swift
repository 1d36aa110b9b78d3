import Logging
import PostgresNIO

/// Reads recorded import runs and their findings (for `registry imports`).
public struct ImportRunRepository: Sendable {
    public struct Run: Sendable {
        public var id: Int64
        public var domain: String
        public var source: String
        public var sourceVersion: String?
        public var sourceId: String?
        public var startedAt: String
        public var durationMs: Int64?
        public var outcome: String
        public var refusalReason: String?
        public var findingsTotal: Int64
        public var eventsEmitted: Int64
        public var counts: String
        public var files: String
    }

    public struct Finding: Sendable {
        public var ordinal: Int32
        public var severity: String
        public var rule: String
        public var entityType: String?
        public var entityKey: String?
        public var file: String?
        public var line: Int32?
        public var message: String
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func recent(limit: Int) async throws -> [Run] {
        try await runs(where: "TRUE", limit: limit)
    }

    public func run(id: Int64) async throws -> Run? {
        try await runs(where: "id = \(id)", limit: 1).first
    }

    func runs(where condition: String, limit: Int) async throws -> [Run] {
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, domain, source, source_version, source_id, to_char(started_at, 'YYYY-MM-DD"T"HH24:MI:SSOF'),
                           duration_ms, outcome, refusal_reason, findings_total, events_emitted, counts::text, files::text
                    FROM import_run WHERE \(condition) ORDER BY id DESC LIMIT \(max(1, min(limit, 1000)))
                    """), logger: logger)
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
    public func findings(runId: Int64, rule: String?, limit: Int) async throws -> [Finding] {
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
