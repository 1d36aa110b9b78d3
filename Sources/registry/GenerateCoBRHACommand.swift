import ArgumentParser
import Foundation
import TestDataGenerators
import ProviderReaders

struct GenerateCoBRHACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cobrha",
        abstract:
            "Write a deterministic, realistic CoBRHA snapshot pair (FPS Health, RIZIV-INAMI) and practice register.")

    @Option(help: "Size relative to Belgium (1.0 ≈ 500k professionals, 30k institutions, 600k practices).")
    var scale: Double = 0.01

    @Option(help: "Folder to write into.")
    var out: String

    @Option(help: "Random seed (same seed, same files).")
    var seed: UInt64 = 1

    func validate() throws {
        guard scale > 0, scale <= 4 else { throw ValidationError("--scale must be in (0, 4], got \(scale)") }
    }

    func run() throws {
        let summary = try CoBRHAGenerator(scale: scale, seed: seed).write(
            to: URL(fileURLWithPath: out, isDirectory: true))
        print(
            "wrote a CoBRHA snapshot pair and practice register at scale \(scale) (seed \(seed)) into \(out): "
                + "\(summary.professionals) professionals, \(summary.institutions) institutions, "
                + "\(summary.practices) practices (\(summary.files.joined(separator: ", ")))")
    }
}
