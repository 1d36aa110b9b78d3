import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import RegistryAPI
import RegistryStore
import RegistrySync
import ServiceLifecycle

/// Where the sources are configured: a JSON file (`--config`, env `REGISTRY_CONFIG`, or
/// `registry.json` in the working directory when it exists) and the environment, which wins.
struct SyncConfigOptions: ParsableArguments {
    @Option(help: "Configuration file (JSON; env REGISTRY_CONFIG; default ./registry.json when present).")
    var config: String?

    func load() async throws -> SyncSettings {
        let environment = ProcessInfo.processInfo.environment
        let explicit = config ?? environment["REGISTRY_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return try await SyncConfiguration.load(
                file: explicit ?? "registry.json", fileIsExplicit: explicit != nil, environment: environment)
        } catch let error as SyncConfiguration.Invalid {
            throw CommandError(description: "configuration: \(error.description)")
        }
    }
}

/// `registry sync`: keeps the configured sources current (or checks them once).
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract:
            "Keep the configured sources current: check each on its schedule, download what is new, import it (until SIGTERM or SIGINT).",
        discussion: """
            Exit codes with --once: 0 every source checked (imported, unchanged, ...), 3 an import was \
            refused by its quality gate, 1 a check failed.
            """)

    @OptionGroup var configOptions: SyncConfigOptions

    @Flag(help: "Check each source once and exit (for operators who run their own scheduler).")
    var once = false

    @Flag(help: "Import even a version that is imported already, was refused, or is older (with --once).")
    var force = false

    @Argument(help: "Only this source (sam, afmps-pharmacies, spor-rms, spor-sms, spor-oms, cobrha, practices).")
    var source: String?

    func validate() throws {
        if let source, SyncSourceName(rawValue: source) == nil {
            throw ValidationError(
                "unknown source \"\(source)\"; expected one of \(SyncSourceName.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        if force && !once { throw ValidationError("--force needs --once (a forced import is an operator's decision)") }
    }

    func run() async throws {
        var configured = try await configOptions.load()
        if let source, let name = SyncSourceName(rawValue: source) {
            guard let one = configured.source(name) else {
                throw CommandError(
                    description: "source \(source) is not configured (see README, Source synchronisation)")
            }
            configured.sources = [one]
        }
        let settings = configured
        guard !settings.sources.isEmpty else {
            throw CommandError(description: "no source is configured (see README, Source synchronisation)")
        }
        var configuredLogger = Logger(label: "registry")
        configuredLogger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
            ?? (once ? .warning : .info)
        let logger = configuredLogger
        var terminalProgress: (@Sendable (String) -> Void)? = nil
        if isatty(2) == 1 {
            terminalProgress = { line in FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }
        let progress = terminalProgress
        let (once, force) = (self.once, self.force)
        let environment = ProcessInfo.processInfo.environment
        let reports: [SyncReport] = try await DatabaseContext.with(logger: logger) {
            (url: DatabaseURL) -> [SyncReport] in
            try await withPostgresClient(url, logger: logger) { (client: PostgresClient) -> [SyncReport] in
                _ = try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: logger)
                return try await Self.sync(
                    settings, once: once, force: force, client: client, logger: logger, environment: environment,
                    progress: progress)
            }
        }
        if reports.contains(where: { $0.outcome == .failed }) { throw ExitCode(1) }
        if reports.contains(where: { $0.outcome == .refused }) { throw ExitCode(3) }
    }
}

extension SyncCommand {
    /// Runs the sync service until shutdown, or checks each source once and prints its report.
    static func sync(
        _ settings: SyncSettings, once: Bool, force: Bool, client: PostgresClient, logger: Logger,
        environment: [String: String], progress: (@Sendable (String) -> Void)?
    ) async throws -> [SyncReport] {
        guard once else {
            let service = SourceSyncService(
                settings: settings, client: client, logger: logger, environment: environment, progress: progress)
            try await ShutdownBounds.run(service, logger: logger)
            return []
        }
        var reports: [SyncReport] = []
        for source in settings.sources {
            let synchroniser = SourceSynchroniser(
                settings: source, archiveRoot: settings.archiveDirectory, client: client, logger: logger,
                environment: environment, progress: progress)
            let report = try await synchroniser.check(
                force: force, nextCheck: source.schedule.nextCheck(after: Date(), random: 0.5))
            print(report.line)
            reports.append(report)
        }
        return reports
    }
}

/// `registry sources`: how fresh each configured source is.
struct SourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources",
        abstract:
            "List the synchronised sources: current version, imported at, last check and outcome, next check, archive.")

    @Flag(help: "Print JSON (the body of GET /v1/sources).")
    var json = false

    func run() async throws {
        let logger = makeLogger()
        let statuses = try await DatabaseContext.with(logger: logger) { url in
            try await withPostgresClient(url, logger: logger) { client in
                try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: logger)
                return try await SourceSyncRepository(client: client, logger: logger).statuses()
            }
        }
        if json {
            print(SourceStatusJSON.render(statuses).canonicalText)
            return
        }
        if statuses.isEmpty { print("no source has been synchronised yet (configure sources and run `registry sync`)") }
        for s in statuses {
            print("\(s.source)  [\(s.domain)]")
            print(
                "  current:    version \(s.currentVersion ?? "-") (run #\(s.currentRunId.map(String.init) ?? "-")), imported \(s.importedAt ?? "never")"
            )
            print(
                "  last check: \(s.lastCheckAt ?? "never") → \(s.lastOutcome ?? "-")"
                    + (s.lastError.map { ": \($0)" } ?? ""))
            print("  next check: \(s.nextCheckAt ?? "-")   upstream: \(s.upstreamVersion ?? "-")")
            print("  archive:    " + (s.archive.isEmpty ? "empty" : s.archive.map(\.version).joined(separator: ", ")))
        }
    }
}
