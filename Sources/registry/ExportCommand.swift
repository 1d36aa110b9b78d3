import ArgumentParser
import Foundation
import RegistryAPI
import RegistryExport
import RegistryStore

/// `registry export sam`: builds the offline-mirror files of the current SAM version now (what
/// `registry serve` does in the background after each import) and records them for `/v1/exports`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Build offline-mirror files (SQLite snapshot, NDJSON).",
        subcommands: [SAM.self])

    struct SAM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sam",
            abstract:
                "Build sam-{version}.sqlite and sam-{version}-{type}.ndjson.gz of the newest applied SAM import; prints one line per file."
        )

        @Option(help: "Directory to write to (env EXPORT_DIR; default REGISTRY_HOME/exports).")
        var exportDir: String?

        @Option(help: "SAM versions whose export files are kept (env EXPORT_KEEP_VERSIONS).")
        var keep = ProcessInfo.processInfo.environment["EXPORT_KEEP_VERSIONS"].flatMap { Int($0) } ?? 3

        func validate() throws {
            guard (1...1000).contains(keep) else { throw ValidationError("--keep must be from 1 to 1000.") }
        }

        func run() async throws {
            let logger = makeLogger()
            let environment = ProcessInfo.processInfo.environment
            var settings = ExportSettings(
                directory: exportDir ?? environment["EXPORT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
                    ?? "\(environment["REGISTRY_HOME"] ?? ".registry")/exports")
            settings.keepVersions = keep
            let configured = settings
            let built = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    try await ExportService.buildNow(client: client, settings: configured, logger: logger) ?? []
                }
            }
            for artifact in built {
                print("\(artifact.name)\t\(artifact.sizeBytes)\t\(artifact.sha256)")
            }
        }
    }
}
