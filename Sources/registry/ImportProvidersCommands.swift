import ArgumentParser
import Foundation
import RegistryImport
import Logging
import PostgresNIO
import RegistryStore

struct ImportCoBRHACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cobrha",
        abstract:
            "Import CoBRHA snapshots (one XML file per source, or a folder of them; format in docs/PROVIDER-FORMATS.md)."
    )

    @Argument(help: "A snapshot file or a folder of snapshot files.")
    var path: String

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (path, share) = (self.path, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await CoBRHAImportPipeline(client: client, logger: logger).run(path: path, maxDeleteShare: share)
        }
    }
}

struct ImportPracticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "practices",
        abstract:
            "Import the practice register (CSV or JSON, or a folder holding practices.csv; see docs/PROVIDER-FORMATS.md)."
    )

    @Argument(help: "practices.csv, practices.json, or a folder holding one.")
    var path: String

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (path, share) = (self.path, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await PracticeImportPipeline(client: client, logger: logger).run(path: path, maxDeleteShare: share)
        }
    }
}

/// Migrates the configured database, runs one import on it and prints the run's report.
func runImport(_ body: @escaping @Sendable (PostgresClient, Logger) async throws -> ImportSummary) async throws {
    let logger = makeLogger()
    let summary: ImportSummary = try await DatabaseContext.with(logger: logger) { url in
        try await withPostgresClient(url, logger: logger) { client in
            try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: logger)
            return try await body(client, logger)
        }
    }
    print(summary.report)
}
