import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryAPI
import RegistryStore
import RegistrySync
import ServiceLifecycle

/// `registry serve`: the HTTP API on the configured database.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (JSON under /v1, /health, /metrics, /openapi.json) until SIGTERM or SIGINT.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(help: "Most database connections the server opens (env DATABASE_POOL_SIZE; default 4 per core, 8 to 32).")
    var poolSize =
        ProcessInfo.processInfo.environment["DATABASE_POOL_SIZE"].flatMap { Int($0) } ?? Self.defaultPoolSize

    /// Four connections per core: more runnable PostgreSQL backends than that crowd the server's
    /// own threads out of the CPU and give heavier requests long tails (BENCHMARKS.md, FHIR).
    static var defaultPoolSize: Int { min(32, max(8, 4 * ProcessInfo.processInfo.activeProcessorCount)) }

    @Option(
        help:
            "Memory in MiB for rendered answers, cleared when an import commits; 0 turns it off (env RESPONSE_CACHE_MB)."
    )
    var cacheMb = ProcessInfo.processInfo.environment["RESPONSE_CACHE_MB"].flatMap { Int($0) } ?? 256

    @Option(
        help:
            "Answer practice searches from memory once loaded (on), or always from PostgreSQL (off) (env PRACTICE_SEARCH_MEMORY)."
    )
    var practiceSearchMemory = ProcessInfo.processInfo.environment["PRACTICE_SEARCH_MEMORY"] ?? "on"

    @Option(
        help:
            "Most answers preloaded into the response cache at start, the ones nodes were asked for most; 0 turns the warm start off (env WARM_START_PATHS)."
    )
    var warmPaths = ProcessInfo.processInfo.environment["WARM_START_PATHS"].flatMap { Int($0) } ?? 2000

    @Option(help: "Longest the warm start may hold readiness back, in seconds (env WARM_START_SECONDS).")
    var warmSeconds = ProcessInfo.processInfo.environment["WARM_START_SECONDS"].flatMap { Int($0) } ?? 30

    @Option(help: "Days change events stay in the feed (env CHANGE_RETENTION_DAYS).")
    var retentionDays = ProcessInfo.processInfo.environment["CHANGE_RETENTION_DAYS"].flatMap { Int($0) } ?? 90

    @Option(
        help:
            "A hot standby to read from (lookups, searches, FHIR reads, the change feed); writes stay on DATABASE_URL, the primary (env DATABASE_READ_URL)."
    )
    var databaseReadUrl: String?

    /// The option, else the environment.
    var readURLText: String? {
        databaseReadUrl ?? ProcessInfo.processInfo.environment["DATABASE_READ_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(
        help:
            "Seconds the standby may lag behind the primary before /health/ready answers 503 (env MAX_REPLICA_LAG_SECONDS)."
    )
    var maxReplicaLag = ProcessInfo.processInfo.environment["MAX_REPLICA_LAG_SECONDS"].flatMap { Double($0) } ?? 30

    @Option(
        help:
            "Directory of the offline-mirror files (SQLite snapshots, NDJSON), shared by the nodes that serve /v1/exports (env EXPORT_DIR; default REGISTRY_HOME/exports)."
    )
    var exportDir: String?

    @Option(help: "SAM versions whose export files are kept (env EXPORT_KEEP_VERSIONS).")
    var exportKeep = ProcessInfo.processInfo.environment["EXPORT_KEEP_VERSIONS"].flatMap { Int($0) } ?? 3

    @Flag(
        inversion: .prefixedNo,
        help: "Build export files after each SAM import in this process (--no-export-build where another node builds).")
    var exportBuild = true

    /// The option, else EXPORT_DIR, else `exports` under REGISTRY_HOME (default `./.registry`).
    var exportDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        return exportDir ?? environment["EXPORT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(environment["REGISTRY_HOME"] ?? ".registry")/exports"
    }

    @OptionGroup var webhooks: WebhookOptions

    @OptionGroup var protection: ProtectionOptions

    @Flag(
        inversion: .prefixedNo,
        help: "Run the webhook dispatcher in this process (--no-dispatch when `registry dispatch` runs elsewhere).")
    var dispatch = true

    @Flag(
        inversion: .prefixedNo,
        help:
            "Keep the configured sources current in this process (--no-sync when `registry sync` runs elsewhere; on by default when sources are configured)."
    )
    var sync = true

    @OptionGroup var syncConfig: SyncConfigOptions

    func validate() throws {
        guard (1...36500).contains(retentionDays) else {
            throw ValidationError("--retention-days must be from 1 to 36500.")
        }
        guard (0...65536).contains(cacheMb) else { throw ValidationError("--cache-mb must be from 0 to 65536.") }
        guard (0...100_000).contains(warmPaths) else { throw ValidationError("--warm-paths must be from 0 to 100000.") }
        guard (1...3600).contains(warmSeconds) else { throw ValidationError("--warm-seconds must be from 1 to 3600.") }
        guard ["on", "off"].contains(practiceSearchMemory) else {
            throw ValidationError("--practice-search-memory must be on or off.")
        }
        guard maxReplicaLag > 0, maxReplicaLag <= 86400 else {
            throw ValidationError("--max-replica-lag must be more than 0 and at most 86400 seconds.")
        }
        if let readURLText {
            do { _ = try DatabaseURL(parsing: readURLText) } catch {
                throw ValidationError("DATABASE_READ_URL: \(error)")
            }
        }
        guard (1...1000).contains(exportKeep) else { throw ValidationError("--export-keep must be from 1 to 1000.") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535.") }
        guard (3...500).contains(poolSize) else {
            throw ValidationError(
                "--pool-size must be from 3 to 500 (one connection listens for data changes, one wakes the dispatcher)."
            )
        }
    }

    func run() async throws {
        var configuredLogger = Logger(label: "registry")
        configuredLogger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = configuredLogger
        var configured = ServerSettings(host: host, port: port, logLevel: logger.logLevel, cacheBytes: cacheMb << 20)
        configured.retentionDays = retentionDays
        configured.warmStart.paths = warmPaths
        configured.warmStart.timeLimit = .seconds(warmSeconds)
        if let flush = ProcessInfo.processInfo.environment["HOT_REQUESTS_FLUSH_SECONDS"].flatMap(Double.init), flush > 0
        {
            configured.warmStart.flushInterval = .milliseconds(Int64(flush * 1000))
        }
        configured.practiceSearchInMemory = practiceSearchMemory == "on"
        configured.replica.maxLag = .milliseconds(Int64(maxReplicaLag * 1000))
        var exports = ExportSettings(directory: exportDirectory)
        exports.keepVersions = exportKeep
        exports.builds = exportBuild
        configured.exports = exports
        configured.webhooks = webhooks.webhookSettings
        configured.dispatcher = dispatch ? webhooks.dispatcherSettings : nil
        configured.protection = try protection.settings()
        configured.auditRetention = protection.auditRetention
        if let metricsPort = protection.metricsPort {
            configured.metricsListener = (protection.metricsHost, metricsPort)
        }
        let settings = configured
        let poolSize = self.poolSize
        let syncSettings = sync ? try await syncConfig.load() : nil
        let environment = ProcessInfo.processInfo.environment
        let readURL = try readURLText.map { try DatabaseURL(parsing: $0) }
        try await DatabaseContext.with(logger: logger) { url in
            // Writes need the primary: a standby as DATABASE_URL is a configuration mistake.
            let primaryIsStandby = try await withPostgresConnection(url, logger: logger) { connection in
                try await ReplicationRole.inRecovery(connection, logger: logger)
            }
            guard !primaryIsStandby else { throw StandbyAsPrimary(url: url) }
            // The schema the routes read: the standby's when there is one (only read, never written).
            let pending = try await withPostgresConnection(readURL ?? url, logger: logger) { connection in
                try await MigrationRunner.bundled().pending(on: connection, logger: logger)
            }
            guard pending.isEmpty else { throw MigrationsPending(names: pending.map(\.name)) }
            try await withPostgresClient(url, logger: logger) { client in
                await SecretsCommand.checkStoredSecrets(
                    client: client, keys: settings.webhooks.secretKeys, logger: logger)
            }
            var configuration = url.clientConfiguration
            configuration.options.maximumConnections = poolSize
            // Lookups are short indexed reads: JIT compilation only ever adds latency to them,
            // and parallel workers cost more to start than such a query takes.
            configuration.options.additionalStartupParameters = [
                ("jit", "off"), ("max_parallel_workers_per_gather", "0"),
            ]
            // Background work (dispatcher, listeners, the practice snapshot, pruning) has its own
            // small pool without the API's statement timeout; the routes read through the other.
            var background = url.clientConfiguration
            background.options.maximumConnections = max(4, poolSize / 4)
            let statementTimeout = Int(settings.protection.statementTimeout / .milliseconds(1))
            if statementTimeout > 0 {
                configuration.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeout)"))
            }
            // The clients run as services of the application's service group: on SIGTERM/SIGINT the
            // server stops accepting and finishes its requests, then the pools close.
            // With a standby, the routes' reads get the API pool's size and settings there; the
            // primary keeps a quarter of it for the routes' writes.
            var readDatabase: ReadDatabase?
            var writes = configuration
            if let readURL {
                var readConfiguration = readURL.clientConfiguration
                readConfiguration.options = configuration.options
                var readBackground = readURL.clientConfiguration
                readBackground.options.maximumConnections = 4
                readDatabase = ReadDatabase(
                    api: PostgresClient(configuration: readConfiguration, backgroundLogger: logger),
                    background: PostgresClient(configuration: readBackground, backgroundLogger: logger))
                writes.options.maximumConnections = max(4, poolSize / 4)
            }
            let client = PostgresClient(configuration: background, backgroundLogger: logger)
            let apiClient = PostgresClient(configuration: writes, backgroundLogger: logger)
            var exportConfiguration = url.clientConfiguration
            exportConfiguration.options.maximumConnections = 4
            let app = try RegistryApplication.make(
                client: client, settings: settings, logger: logger, runsClient: true, apiClient: apiClient,
                readDatabase: readDatabase,
                exportClient: PostgresClient(configuration: exportConfiguration, backgroundLogger: logger))
            logger.info(
                "serving",
                metadata: [
                    "address": "http://\(settings.host):\(settings.port)", "database": "\(url)",
                    "reads": "\(readURL.map { "\($0) (standby)" } ?? "the primary")",
                ])
            guard let syncSettings, !syncSettings.sources.isEmpty else {
                try await ShutdownBounds.run(app, logger: logger)
                return
            }
            logger.info(
                "synchronising sources",
                metadata: ["sources": "\(syncSettings.sources.map(\.name.rawValue).joined(separator: ", "))"])
            // The sync has a pool of its own: a check holds one connection for its source's lock, an
            // import one for its transaction and SAM's a second for the search index, and none of
            // that may wait behind (or starve) the listeners and the dispatcher. Services stop in
            // reverse order: the sync, then its pool, then the API.
            var syncConfiguration = url.clientConfiguration
            syncConfiguration.options.maximumConnections = 2 + 3 * syncSettings.sources.count
            let syncClient = PostgresClient(configuration: syncConfiguration, backgroundLogger: logger)
            let syncService = SourceSyncService(
                settings: syncSettings, client: syncClient, logger: logger, environment: environment)
            try await ShutdownBounds.run([app, syncClient, syncService], logger: logger)
        }
    }
}

/// DATABASE_URL names a hot standby: writes would fail one by one (exit 1 at start instead).
struct StandbyAsPrimary: Error, CustomStringConvertible {
    var url: DatabaseURL
    var description: String {
        "DATABASE_URL (\(url)) is a hot standby (in recovery): set DATABASE_URL to the primary and DATABASE_READ_URL to the standby."
    }
}

/// The schema is behind the code: serving would answer from tables that do not exist yet (exit 1).
struct MigrationsPending: Error, CustomStringConvertible {
    var names: [String]
    var description: String {
        "\(names.count) migration(s) pending (\(names.joined(separator: ", "))); run `registry migrate` first."
    }
}

/// Stopping must not depend on the database: a server whose database vanished has requests and
/// services waiting for connections that never come. SIGTERM/SIGINT start a graceful shutdown
/// (requests in flight finish); after `SHUTDOWN_GRACE_SECONDS` (default 20) the remaining work is
/// cancelled, and ServiceLifecycle ends the process if cancellation takes more than 10 s more.
enum ShutdownBounds {
    static var grace: Duration {
        .seconds(ProcessInfo.processInfo.environment["SHUTDOWN_GRACE_SECONDS"].flatMap { Int($0) } ?? 20)
    }

    static func configuration(services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger)
        -> ServiceGroupConfiguration
    {
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = grace
        configuration.maximumCancellationDuration = .seconds(10)
        return configuration
    }

    static func run(_ service: some Service, logger: Logger) async throws {
        try await ServiceGroup(configuration: configuration(services: [.init(service: service)], logger: logger)).run()
    }

    static func run(_ services: [any Service], logger: Logger) async throws {
        try await ServiceGroup(
            configuration: configuration(services: services.map { .init(service: $0) }, logger: logger)
        )
        .run()
    }
}
