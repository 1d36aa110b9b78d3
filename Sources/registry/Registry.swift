import ArgumentParser
import Foundation
import RegistryImport
import Logging
import PostgresNIO
import RegistryStore
import SAMReaders

/// `registry`: the Belgian reference-data registry (import, migrate, generate, embedded database).
///
/// Exit codes (a contract for scripts): 0 success, 2 usage error, 3 the quality gate refused the
/// input (nothing applied), 1 anything else.
@main
struct Registry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Belgian healthcare reference-data registry: SAM v2 imports, change events, embedded PostgreSQL.",
        subcommands: [
            ServeCommand.self, DispatchCommand.self, SyncCommand.self, SourcesCommand.self, MigrateCommand.self,
            ImportCommand.self, ImportsCommand.self, ExportCommand.self,
            GenerateCommand.self, ClientsCommand.self, SecretsCommand.self, DatabaseCommand.self,
        ]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ImportError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            if case .refused = error { Foundation.exit(3) }
            Foundation.exit(1)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            } else if code == .validationFailure || error is CommandError || "\(type(of: error))".contains("Parser") {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            FileHandle.standardError.write(Data("error: \(describe(error))\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// A usage problem found after parsing (exit code 2).
struct CommandError: Error, CustomStringConvertible {
    var description: String
}

/// The database a command uses: `DATABASE_URL`, or the embedded cluster (started for the
/// command and stopped after it unless it was already running).
struct DatabaseContext {
    static func with<T: Sendable>(
        logger: Logger, _ body: @Sendable (DatabaseURL) async throws -> T
    ) async throws -> T {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return try await body(try DatabaseURL(parsing: url))
        }
        let embedded = EmbeddedPostgres.fromEnvironment()
        let startedHere = try embedded.start()
        do {
            let result = try await body(embedded.url)
            if startedHere { try embedded.stop() }
            return result
        } catch {
            if startedHere { try? embedded.stop() }
            throw error
        }
    }
}

func makeLogger() -> Logger {
    var logger = Logger(label: "registry")
    logger.logLevel =
        ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending database migrations.")

    @Flag(help: "List pending migrations without applying them.")
    var dryRun = false

    func run() async throws {
        let logger = makeLogger()
        let dryRun = self.dryRun
        let applied = try await DatabaseContext.with(logger: logger) { url in
            try await withPostgresClient(url, logger: logger) { client in
                try await MigrationRunner.bundled().apply(client: client, dryRun: dryRun, logger: logger)
            }
        }
        if applied.isEmpty {
            print("migrations: up to date")
        } else {
            for m in applied {
                print("\(dryRun ? "pending" : "applied"): \(String(format: "%04d", m.version))_\(m.name)")
            }
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import an authentic source.",
        subcommands: [
            ImportSAMCommand.self, ImportCoBRHACommand.self, ImportPracticesCommand.self, ImportPharmaciesCommand.self,
            ImportSPORRMSCommand.self, ImportSPORSMSCommand.self, ImportSPOROMSCommand.self,
        ])
}

/// The mass-deletion gate every import has.
struct DeleteShareOption: ParsableArguments {
    @Option(help: "Largest share of the current records of a type a run may delete (0...1).")
    var maxDeleteShare: Double =
        ProcessInfo.processInfo.environment["REGISTRY_MAX_DELETE_SHARE"].flatMap(Double.init) ?? 0.05

    func validate() throws {
        guard (0...1).contains(maxDeleteShare) else {
            throw ValidationError("--max-delete-share must be between 0 and 1, got \(maxDeleteShare)")
        }
    }
}

struct ImportPharmaciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pharmacies",
        abstract:
            "Import the AFMPS list of pharmacies (JSON: authorisation number, name, address, coordinates, holder, operator, status)."
    )

    @Argument(help: "The list as JSON.")
    var path: String

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (path, share) = (self.path, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await PharmacyImportPipeline(client: client, logger: logger).run(path: path, maxDeleteShare: share)
        }
    }
}

struct ImportSAMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sam",
        abstract: "Import a SAM v2 export: the zip, a folder of its XML files, or single XML files (a partial import).")

    @Argument(help: "The export zip, a folder of XML files, or XML files.")
    var paths: [String]

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let logger = makeLogger()
        var progress: (@Sendable (String) -> Void)? = nil
        if isatty(2) == 1 {
            progress = { line in FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }
        let options = SAMImportOptions(maxDeleteShare: gate.maxDeleteShare, progress: progress)
        let paths = self.paths
        let summary: ImportSummary = try await DatabaseContext.with(logger: logger) {
            (url: DatabaseURL) -> ImportSummary in
            try await importSAM(url: url, paths: paths, options: options, logger: logger)
        }
        print(summary.report)
    }
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate synthetic source data.",
        subcommands: [GenerateSAMCommand.self, GenerateCoBRHACommand.self])
}

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the embedded PostgreSQL cluster under .registry/.",
        subcommands: [Start.self, Stop.self, Status.self, URLCommand.self, Standby.self])

    struct Standby: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create (first time: pg_basebackup -R of the primary) and start a hot standby of an embedded cluster under REGISTRY_HOME, on REGISTRY_DB_PORT."
        )

        @Option(help: "REGISTRY_HOME of the primary cluster.")
        var primaryHome: String

        @Option(help: "Port of the primary cluster.")
        var primaryPort = 54329

        func run() throws {
            let primary = EmbeddedPostgres(baseDirectory: URL(fileURLWithPath: primaryHome), port: primaryPort)
            let standby = EmbeddedPostgres.fromEnvironment()
            guard standby.baseDirectory.standardizedFileURL != primary.baseDirectory.standardizedFileURL else {
                throw ValidationError("the standby needs its own REGISTRY_HOME, not the primary's")
            }
            let started = try standby.startStandby(of: primary)
            print(started ? "started standby \(standby.url)" : "already running \(standby.url)")
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (first time) and start the embedded cluster; it keeps running.")
        func run() throws {
            let embedded = EmbeddedPostgres.fromEnvironment()
            let started = try embedded.start()
            print(started ? "started \(embedded.url)" : "already running \(embedded.url)")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster.")
        func run() throws {
            try EmbeddedPostgres.fromEnvironment().stop()
            print("stopped")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the embedded cluster runs (exit 1 when not).")
        func run() throws {
            let embedded = EmbeddedPostgres.fromEnvironment()
            if try embedded.isRunning() {
                print("running \(embedded.url) data \(embedded.dataDirectory.path)")
            } else {
                print(embedded.isInitialised ? "stopped (data \(embedded.dataDirectory.path))" : "not created")
                throw ExitCode(1)
            }
        }
    }

    struct URLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url", abstract: "Print the embedded cluster's DATABASE_URL.")
        func run() throws { print(EmbeddedPostgres.fromEnvironment().url.urlString) }
    }
}

/// Migrates if needed, then runs the SAM import pipeline.
func importSAM(url: DatabaseURL, paths: [String], options: SAMImportOptions, logger: Logger) async throws
    -> ImportSummary
{
    try await withPostgresClient(url, logger: logger) { client in
        try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: logger)
        return try await SAMImportPipeline(client: client, logger: logger).run(paths: paths, options: options)
    }
}
