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
