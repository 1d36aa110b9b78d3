import ArgumentParser
import Foundation
import TestDataGenerators
import SAMReaders

struct GenerateSAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sam",
        abstract: "Write a deterministic, realistic SAM v2 export, or the next version of one with --from/--changes.")

    @Option(help: "Size relative to the real export (1.0 ≈ 19.5k current AMPs, ~1 GB AMP file).")
    var scale: Double = 0.01

    @Option(help: "Folder to write into.")
    var out: String

    @Option(help: "Random seed (same seed, same export).")
    var seed: UInt64 = 1

    @Option(help: "A previous generated export folder: write its next version.")
    var from: String?

    @Option(help: "Number of changes in the next version (with --from).")
    var changes: Int = 1000

    @Flag(help: "Write one zip, as the real download, instead of the XML files.")
    var zip = false

    func validate() throws {
        guard scale > 0, scale <= 5 else { throw ValidationError("--scale must be in (0, 5], got \(scale)") }
        guard changes >= 0 else { throw ValidationError("--changes must not be negative") }
    }

    func run() throws {
        let written: [GeneratedChange]
        if let from {
            written = try SAMExportGenerator.writeNextVersion(
                from: from, to: out, changes: changes, seed: seed, zip: zip)
            print(
                "wrote the next version of \(from) into \(out): \(written.count) entity changes (listed in changes.json)"
            )
        } else {
            try SAMExportGenerator(config: SAMGeneratorConfig(seed: seed, scale: scale)).write(to: out, zip: zip) {
                FileHandle.standardError.write(Data("\($0)\n".utf8))
            }
            print("wrote a SAM export at scale \(scale) (seed \(seed)) into \(out)")
        }
    }
}
