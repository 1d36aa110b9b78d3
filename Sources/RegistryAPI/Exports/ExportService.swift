import Foundation
import Logging
import PostgresNIO
import RegistryCore
import RegistryExport
import RegistryStore
import ServiceLifecycle

/// Where offline-mirror files go and how many versions stay.
package struct ExportSettings: Sendable {
    /// The export directory; every node serving `/v1/exports` must see the same one.
    package var directory: String
    /// SAM versions kept (their SQLite and NDJSON files); older ones are deleted.
    package var keepVersions: Int = 3
    /// How often a node looks for an applied SAM run without files.
    package var pollInterval: Duration = .seconds(10)
    /// Whether this node builds files (one builder at a time in any case, by advisory lock).
    package var builds = true

    package init(directory: String) { self.directory = directory }
}

/// Builds the files of each newly applied SAM version in the background (never in the import's
/// transaction, never on a request), one node at a time, and keeps the last `keepVersions`.
package struct ExportService: Service {
    let client: PostgresClient
    let settings: ExportSettings
    let logger: Logger
    /// `pg_try_advisory_lock` key: one builder across nodes.
    static let lockKey: Int64 = 7_230_001

    package init(client: PostgresClient, settings: ExportSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    package func run() async throws {
        guard !Task.isCancelled else { return }
        // A build under way at shutdown is cancelled; it removes its partial files.
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await buildIfNeeded()
                    failures = 0
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    failures += 1
                    logger.warning(
                        "export build failed", metadata: ["error": "\(describe(error))", "failures": "\(failures)"])
                }
                try? await Task.sleep(for: Self.delay(after: failures, poll: settings.pollInterval))
            }
        }
    }

    /// The wait before the next look: the poll interval, doubled after each failed build up to
    /// 10 minutes (a build that fails, a full disk say, costs a minute of CPU each time).
    package static func delay(after failures: Int, poll: Duration) -> Duration {
        guard failures > 0 else { return poll }
        return min(poll * (1 << min(failures, 12)), .seconds(600))
    }

    /// Builds when the newest applied SAM run has no SQLite snapshot yet; true when it built.
    @discardableResult
    package func buildIfNeeded() async throws -> Bool {
        let queries = ExportQueries(client: client, logger: logger)
        guard let latest = try await queries.latestAppliedRun(domains: ["sam"]) else { return false }
        let built = try await queries.artifacts(kind: "sam-sqlite").map(\.version)
        var didBuild = false
        if !built.contains(latest) {
            didBuild =
                try await Self.buildNow(client: client, settings: settings, logger: logger, lockWait: false) != nil
        }
        if let actors = try await queries.latestAppliedRun(domains: ActorExportBuilder.domains),
            try await !queries.artifacts(kind: "actors-ndjson").map(\.version).contains(actors)
        {
            didBuild = try await Self.buildActorsNow(client: client, settings: settings, logger: logger) || didBuild
        }
        return didBuild
    }

    /// Builds the files of the newest applied SAM version under the builders' advisory lock and
    /// applies retention. Without `lockWait`, returns nil when another builder holds the lock.
    package static func buildNow(
        client: PostgresClient, settings: ExportSettings, logger: Logger, lockWait: Bool = true
    ) async throws -> [ExportArtifact]? {
        let queries = ExportQueries(client: client, logger: logger)
        return try await withBuilderLock(client: client, wait: lockWait, logger: logger) {
            let built = try await SAMExportBuilder(
                queries: queries, directory: settings.directory, logger: logger, render: render
            ).build()
            try await applyRetention(queries: queries, settings: settings, logger: logger)
            return built
        }
    }

    /// Builds the actor NDJSON files of the newest actor version under the builders' lock (false
    /// when another builder holds it).
    package static func buildActorsNow(client: PostgresClient, settings: ExportSettings, logger: Logger)
        async throws -> Bool
    {
        let queries = ExportQueries(client: client, logger: logger)
        let built: Bool? = try await withBuilderLock(client: client, wait: false, logger: logger) {
            _ = try await ActorExportBuilder(queries: queries, directory: settings.directory, logger: logger).build()
            try await applyRetention(queries: queries, settings: settings, logger: logger)
            return true
        }
        return built ?? false
    }

    /// Runs `body` holding the builders' session advisory lock (waiting for it, or nil at once
    /// when another builder holds it and `wait` is false).
    static func withBuilderLock<T: Sendable>(
        client: PostgresClient, wait: Bool, logger: Logger, _ body: () async throws -> T
    ) async throws -> T? {
        try await client.withConnection { lock in
            if wait {
                _ = try await lock.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            } else {
                var locked = false
                for try await value in try await lock.query(
                    "SELECT pg_try_advisory_lock(\(lockKey))", logger: logger
                ).decode(Bool.self) { locked = value }
                guard locked else { return nil }
            }
            do {
                let result = try await body()
                _ = try await lock.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                return result
            } catch {
                _ = try? await lock.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The NDJSON and delta document of an entity: the `/v1` rendering with every slice.
    @Sendable package static func render(_ entity: StoredSAMEntity) -> JSONValue {
        EntityRenderer(at: RegistryClock.system.today, history: true, language: .fr).render(entity)
    }

    /// Forgets, then deletes, the files of all but the newest `keepVersions` versions of each kind.
    static func applyRetention(queries: ExportQueries, settings: ExportSettings, logger: Logger) async throws {
        let artifacts = try await queries.artifacts()
        var expired: [String] = []
        for kind in Set(artifacts.map(\.kind)) {
            let versions = Set(artifacts.filter { $0.kind == kind }.map(\.version)).sorted(by: >)
            let kept = Set(versions.prefix(settings.keepVersions))
            expired += artifacts.filter { $0.kind == kind && !kept.contains($0.version) }.map(\.name)
        }
        try await queries.forget(names: expired)
        for name in expired { try? FileManager.default.removeItem(atPath: "\(settings.directory)/\(name)") }
        if !expired.isEmpty { logger.info("old exports deleted", metadata: ["files": "\(expired.count)"]) }
    }
}
