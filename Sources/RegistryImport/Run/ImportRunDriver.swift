import Logging
import PostgresNIO
import RegistryStore
import RegistryCore

/// The rules every import run follows, in one place: one run of a domain at a time (its advisory
/// lock), a recorded `import_run` row whatever happens (applied, refused or failed, with its
/// findings), data changed in one transaction that either commits with its run record and the
/// notifications or rolls back entirely. Pipelines only read, check, stage, diff and apply.
///
///     try await ImportRunDriver(client: client, logger: logger).run(.practices, source: path) { run in
///         // reading outside the transaction is allowed (SAM stages into unlogged scratch tables)
///         try await run.transaction {
///             // stage, diff; `throw run.refusal("…")` when the gate says no; apply
///         }
///     }
package struct ImportRunDriver: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `body` as one import run of `domain` and returns its summary.
    ///
    /// - Throws: ``ImportError/alreadyRunning(domain:)`` when another run of the domain holds the
    ///   lock (nothing is recorded); ``ImportError/refused(_:)`` when `body` threw a refusal (the
    ///   run is recorded as refused, no data changed); any other error of `body` after recording
    ///   the run as failed.
    package func run(
        _ domain: ImportDomain, source: String, _ body: (ImportRun) async throws -> Void
    ) async throws -> ImportSummary {
        try await client.withConnection { connection in
            let locked =
                try await connection.query(
                    "SELECT pg_try_advisory_lock(\(domain.advisoryLockKey))", logger: logger
                ).decode(Bool.self).first { _ in true } ?? false
            guard locked else { throw ImportError.alreadyRunning(domain: domain.label) }
            // The lock is the session's: released here, or with the connection if that broke.
            let unlock: PostgresQuery = "SELECT pg_advisory_unlock(\(domain.advisoryLockKey))"
            do {
                let summary = try await runLocked(domain, source: source, connection: connection, body)
                _ = try? await connection.query(unlock, logger: logger)
                return summary
            } catch {
                _ = try? await connection.query(unlock, logger: logger)
                throw error
            }
        }
    }

    private nonisolated(nonsending) func runLocked(
        _ domain: ImportDomain, source: String, connection: PostgresConnection, _ body: (ImportRun) async throws -> Void
    ) async throws -> ImportSummary {
        // Holding the lock, any run of the domain still marked running belongs to a process that
        // ended mid-run (its transaction rolled back with its connection): say so on its row.
        try await connection.query(
            """
            UPDATE import_run SET outcome = 'failed', finished_at = now(),
                refusal_reason = 'interrupted: the importing process ended before the run finished; nothing was applied'
            WHERE domain = \(domain.rawValue) AND outcome = 'running'
            """, logger: logger)
        // Committed at once: a run that fails or is refused is recorded on this same row.
        let origin = ImportOrigin.current
        let runId = try await connection.query(
            """
            INSERT INTO import_run (domain, source, sync_source, upstream_version, upstream_url, download_bytes,
                download_sha256)
            VALUES (\(domain.rawValue), \(source), \(origin?.syncSource), \(origin?.upstreamVersion), \(origin?.url),
                \(origin.map { Int64($0.bytes) }), \(origin?.sha256))
            RETURNING id
            """,
            logger: logger
        ).decode(Int64.self).first { _ in true }!
        let run = ImportRun(domain: domain, runId: runId, source: source, connection: connection, logger: logger)
        do {
            try await body(run)
            guard run.committed else {
                throw ImportError.input("the \(domain.label) import ended without applying its transaction")
            }
            return run.summary
        } catch let refusal as ImportRefusal {
            run.summary.outcome = .refused
            run.summary.refusalReason = refusal.reason
            run.finish()
            try await run.record()
            throw ImportError.refused(run.summary)
        } catch {
            run.summary.outcome = .failed
            run.summary.refusalReason = String(reflecting: error)
            run.finish()
            try? await run.record()
            throw error
        }
    }
}

/// Where the input of an import came from when the source synchronisation downloaded it: recorded
/// on the run's row (source, upstream version, URL, size, hash) when the run starts.
///
/// A task-local rather than a parameter: it is context of the sync that starts the pipeline, which
/// passes through every pipeline's reading and checking untouched and only the driver records.
package struct ImportOrigin: Sendable, Equatable {
    package var syncSource: String
    package var upstreamVersion: String
    package var url: String
    package var bytes: UInt64
    package var sha256: String

    package init(syncSource: String, upstreamVersion: String, url: String, bytes: UInt64, sha256: String) {
        self.syncSource = syncSource
        self.upstreamVersion = upstreamVersion
        self.url = url
        self.bytes = bytes
        self.sha256 = sha256
    }

    @TaskLocal package static var current: ImportOrigin?
}

/// Thrown inside a run to refuse it: nothing is applied and the run is recorded as refused.
package struct ImportRefusal: Error {
    package let reason: String
}

/// One import run in progress: its connection, run id, summary and findings. Used by one task
/// only (the driver's `body`), hence a class without locks.
package final class ImportRun {
    package let domain: ImportDomain
    package let runId: Int64
    package let connection: PostgresConnection
    package let logger: Logger
    package let started = ContinuousClock.now
    /// What the run did; the driver sets its outcome, duration and findings figures.
    package var summary: ImportSummary
    /// Every finding stored with the run. A pipeline that keeps only some (SAM caps them) counts
    /// all of them in `summary.findingsBySeverity` itself; otherwise the driver counts these.
    package var findings: [QualityFinding] = []
    fileprivate(set) var committed = false

    init(domain: ImportDomain, runId: Int64, source: String, connection: PostgresConnection, logger: Logger) {
        self.domain = domain
        self.runId = runId
        self.connection = connection
        self.logger = logger
        summary = ImportSummary(runId: runId, outcome: .applied, source: source)
        summary.label = domain.label
    }

    /// A refusal to throw: `throw run.refusal("the list would delete …")`.
    package func refusal(_ reason: String) -> ImportRefusal { ImportRefusal(reason: reason) }

    /// The run's data transaction: BEGIN, `body`, then the run record, the notifications and
    /// COMMIT; ROLLBACK when `body` throws (a refusal or an error), which the driver then records.
    package func transaction(_ body: () async throws -> Void) async throws {
        try await connection.execute("BEGIN", logger: logger)
        do {
            // The run id for the pipelines' SQL scripts, which are literals: they read it with
            // `current_setting('registry.run_id')::bigint` (transaction-local, like the data).
            try await connection.query(
                "SELECT set_config('registry.run_id', \(String(runId)), true)", logger: logger)
            try await body()
            finish()
            // The run record commits with the data it describes: an applied run is never left "running".
            try await record()
            // Delivered at commit: API servers drop cached answers and reload in-memory searches
            // (registry_data); dispatchers look for new events to deliver (registry_deliveries).
            // The payload names the run: servers read its change events to evict exactly the
            // cached answers it changed.
            try await connection.query(
                "SELECT pg_notify('registry_data', \(domain.rawValue + ":" + String(runId)))", logger: logger)
            try await connection.query("SELECT pg_notify('registry_deliveries', \(domain.rawValue))", logger: logger)
            try await connection.execute("COMMIT", logger: logger)
            committed = true
        } catch {
            try? await connection.execute("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Duration so far, findings per severity (unless the pipeline counted them) and the first
    /// ones for the report, fatal ones first.
    func finish() {
        summary.durationSeconds = (ContinuousClock.now - started).seconds
        if summary.findingsBySeverity.isEmpty {
            for finding in findings { summary.findingsBySeverity[finding.severity, default: 0] += 1 }
        }
        let fatalFirst = findings.filter { $0.severity == .fatal } + findings.filter { $0.severity != .fatal }
        summary.findingsSample = Array(fatalFirst.prefix(50))
    }

    /// Completes the run's `import_run` row and stores its findings.
    func record() async throws {
        let s = summary
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
                String(runId), String(index + 1), f.severity.rawValue, f.rule, f.entityType, f.entityKey, f.file,
                f.line.map(String.init), f.message,
            ]
        }
        try await connection.copyRows(
            table: "import_finding",
            columns: ["run_id", "ordinal", "severity", "rule", "entity_type", "entity_key", "file", "line", "message"],
            rows: rows, logger: logger)
        try await connection.execute(
            """
            UPDATE import_run SET source_version = \(s.sourceVersion), source_id = \(s.sourceId), finished_at = now(),
                duration_ms = \(Int64(s.durationSeconds * 1000)), outcome = \(s.outcome.rawValue),
                refusal_reason = \(s.refusalReason), files = \(files)::jsonb, counts = \(counts)::jsonb,
                findings_by_severity = \(bySeverity)::jsonb, findings_total = \(Int64(total)),
                events_emitted = \(Int64(s.eventsEmitted)), first_event_seq = \(s.firstEventSeq),
                last_event_seq = \(s.lastEventSeq)
            WHERE id = \(runId)
            """, logger: logger)
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
