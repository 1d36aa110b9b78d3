import ArgumentParser
import RegistryStore

struct ImportSPORRMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-rms",
        abstract:
            "Import EMA SPOR RMS list exports (one CSV per list as the RMS portal exports it, zipped or not, or folders of them)."
    )

    @Argument(help: "Export files (<LISTID>.csv or export-<LISTID>.zip) or folders holding them.")
    var paths: [String]

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (paths, share) = (self.paths, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await RMSImportPipeline(client: client, logger: logger).run(paths: paths, maxDeleteShare: share)
        }
    }
}
