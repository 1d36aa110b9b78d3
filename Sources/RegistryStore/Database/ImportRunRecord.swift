import Logging
import PostgresNIO
import RegistryCore

extension PostgresConnection {
    /// Completes the `import_run` row of a run (any domain) and stores its findings.
    public func recordImportRun(_ s: ImportSummary, findings: [QualityFinding], logger: Logger) async throws {
        let files = JSONValue.array(
            s.files.map {
                .object([
                    "name": .string($0.name), "kind": $0.kind.map(JSONValue.string) ?? .null,
                    "bytes": .number(String($0.bytes)), "sha256": .string($0.sha256),
                    "entities": .number(String($0.entities)),
                ])
            }
        ).canonicalText
        let counts = JSONValue.object(
            s.counts.mapValues { c in
                .object([
                    "read": .number(String(c.read)), "accepted": .number(String(c.accepted)),
                    "rejected": .number(String(c.rejected)), "created": .number(String(c.created)),
                    "updated": .number(String(c.updated)), "deleted": .number(String(c.deleted)),
                ])
            }
        ).canonicalText
        let bySeverity = JSONValue.object(
            Dictionary(
                uniqueKeysWithValues: s.findingsBySeverity.map { ($0.key.rawValue, JSONValue.number(String($0.value))) }
            )
        ).canonicalText
        let total = s.findingsBySeverity.values.reduce(0, +)
        let rows: [[String?]] = findings.enumerated().map { index, f in
            [
                String(s.runId), String(index + 1), f.severity.rawValue, f.rule, f.entityType, f.entityKey, f.file,
                f.line.map(String.init), f.message,
            ]
        }
        try await copyRows(
            table: "import_finding",
            columns: ["run_id", "ordinal", "severity", "rule", "entity_type", "entity_key", "file", "line", "message"],
            rows: rows, logger: logger)
        try await execute(
            """
            UPDATE import_run SET source_version = \(s.samVersion), source_id = \(s.samId), finished_at = now(),
                duration_ms = \(Int64(s.durationSeconds * 1000)), outcome = \(s.outcome.rawValue),
                refusal_reason = \(s.refusalReason), files = \(files)::jsonb, counts = \(counts)::jsonb,
                findings_by_severity = \(bySeverity)::jsonb, findings_total = \(Int64(total)),
                events_emitted = \(Int64(s.eventsEmitted)), first_event_seq = \(s.firstEventSeq),
                last_event_seq = \(s.lastEventSeq)
            WHERE id = \(s.runId)
            """, logger: logger)
    }
}

extension PostgresConnection {
    /// Opens an import's transaction: BEGIN, the import's advisory lock (released with the
    /// transaction), and its `import_run` row, whose id it returns. When another import holds the
    /// lock it rolls back and throws ``ImportError/alreadyRunning(domain:)`` naming `label`.
    func beginImportRun(domain: String, source: String, lockKey: Int64, label: String, logger: Logger) async throws
        -> Int64
    {
        try await execute("BEGIN", logger: logger)
        do {
            let locked =
                try await query("SELECT pg_try_advisory_xact_lock(\(lockKey))", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            guard locked else { throw ImportError.alreadyRunning(domain: label) }
            return try await query(
                "INSERT INTO import_run (domain, source) VALUES (\(domain), \(source)) RETURNING id", logger: logger
            ).decode(Int64.self).first { _ in true }!
        } catch {
            try? await execute("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension ImportSummary {
    /// Findings per severity and the ten worst, for the report.
    mutating func count(_ findings: [QualityFinding]) {
        findingsBySeverity = [:]
        for finding in findings { findingsBySeverity[finding.severity, default: 0] += 1 }
        findingsSample = Array(findings.sorted { $0.severity > $1.severity }.prefix(10))
    }
}

extension PostgresClient {
    /// Records a refused run on its own connection and transaction (the data transaction was
    /// rolled back): nothing else changes. Sets the summary's run id.
    func recordRefusedRun(_ summary: inout ImportSummary, findings: [QualityFinding], domain: String, logger: Logger)
        async throws
    {
        summary.count(findings)
        let recorded = summary
        summary.runId = try await withConnection { connection in
            let id = try await connection.query(
                "INSERT INTO import_run (domain, source) VALUES (\(domain), \(recorded.source)) RETURNING id",
                logger: logger
            ).decode(Int64.self).first { _ in true }!
            var withId = recorded
            withId.runId = id
            try await connection.recordImportRun(withId, findings: findings, logger: logger)
            return id
        }
    }

    /// Refuses a run: the summary says why, the refused run is recorded (see `recordRefusedRun`),
    /// and ``ImportError/refused(_:)`` is thrown. The caller has rolled its transaction back.
    func refuse(
        _ summary: inout ImportSummary, because reason: String, findings: [QualityFinding], domain: String,
        startedAt started: ContinuousClock.Instant, logger: Logger
    ) async throws -> Never {
        summary.outcome = .refused
        summary.refusalReason = reason
        summary.durationSeconds = (ContinuousClock.now - started).seconds
        try await recordRefusedRun(&summary, findings: findings, domain: domain, logger: logger)
        throw ImportError.refused(summary)
    }
}

extension PostgresConnection {
    /// Ends an applied import: its `import_run` row and findings, the notifications (the response
    /// cache and in-memory search listen on `registry_data`, the dispatcher on
    /// `registry_deliveries`; both are delivered at commit), and COMMIT. `domain` is a literal of
    /// the pipeline, never user input (NOTIFY takes no bound parameters).
    func commitImportRun(_ summary: ImportSummary, findings: [QualityFinding], domain: StaticString, logger: Logger)
        async throws
    {
        try await recordImportRun(summary, findings: findings, logger: logger)
        try await execute(PostgresQuery(unsafeSQL: "NOTIFY registry_data, '\(domain)'"), logger: logger)
        try await execute(PostgresQuery(unsafeSQL: "NOTIFY registry_deliveries, '\(domain)'"), logger: logger)
        try await execute("COMMIT", logger: logger)
    }
}
