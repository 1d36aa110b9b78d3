import ArgumentParser
import RegistryStore
import RegistryImport

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

struct ImportSPORSMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-sms",
        abstract:
            "Import EMA SPOR SMS substance lists (CSV: substance_code,substance_name[,moiety_code,moiety_name] or SMS_ID,Substance_Name,Is_Preferred_Name; zipped or not)."
    )

    @Argument(help: "Substance list files (.csv or a .zip holding one) or folders holding them.")
    var paths: [String]

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (paths, share) = (self.paths, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await SMSImportPipeline(client: client, logger: logger).run(paths: paths, maxDeleteShare: share)
        }
    }
}

struct ImportSPOROMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-oms",
        abstract:
            "Import EMA SPOR OMS organisations (ORG-…) and locations (LOC-…) from JSON as the SPOR API returns them (zipped or not)."
    )

    @Argument(help: "JSON files (or zips or folders of them).")
    var paths: [String]

    @OptionGroup var gate: DeleteShareOption

    func run() async throws {
        let (paths, share) = (self.paths, gate.maxDeleteShare)
        try await runImport { client, logger in
            try await OMSImportPipeline(client: client, logger: logger).run(paths: paths, maxDeleteShare: share)
        }
    }
}
