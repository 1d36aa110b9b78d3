import DatabaseTestSupport
import Foundation
import RegistryStore
import SAMReaders
import Testing

/// The `registry` executable's contract: exit 0 applied, 2 usage error, 3 refused by the gate.
@Suite(.timeLimit(.minutes(5)))
struct CommandLineTests {
    func run(_ arguments: [String], databaseURL: DatabaseURL) async throws -> (status: Int32, output: String) {
        try await RegistryBinary.run(arguments, databaseURL: databaseURL)
    }

    @Test func truncatedZipExitsWithThreeAndChangesNothing() async throws {
        let base = try generatedExport(seed: 91, scale: 0.002)
        let zipped = try generatedExport(seed: 92, scale: 0.002, zip: true)
        let zip = try #require(
            try FileManager.default.contentsOfDirectory(atPath: zipped).first { $0.hasSuffix(".zip") })
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(zipped)/\(zip)"))
        let cut = "\(zipped)/cut.zip"
        try data.prefix(data.count - 5000).write(to: URL(fileURLWithPath: cut))
        try await TestDatabase.with { client, url in
            let applied = try await run(["import", "sam", base], databaseURL: url)
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains("APPLIED"))
            let before = try await client.dataFingerprint()
            let refused = try await run(["import", "sam", cut], databaseURL: url)
            #expect(refused.status == 3, "\(refused.output)")
            #expect(refused.output.contains("truncated"))
            #expect(try await client.dataFingerprint() == before)
            let outcome: String = try await client.scalar(
                "SELECT outcome || ' ' || (SELECT rule FROM import_finding f WHERE f.run_id = r.id) FROM import_run r ORDER BY id DESC LIMIT 1"
            )
            #expect(outcome == "refused SAM-FILE-UNREADABLE", "a refused input is recorded as a run")
        }
    }

    @Test func massDeletionExitsWithThreeAndUsageErrorsWithTwo() async throws {
        let base = try generatedExport(seed: 93, scale: 0.002)
        let empty = try TestDatabase.temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: base) where name.hasSuffix(".xml") {
            var text = try String(contentsOfFile: "\(base)/\(name)", encoding: .utf8)
            if name.hasPrefix("CPN-") {
                // A well-formed companies file with no company in it.
                let start = try #require(text.range(of: "<ns")?.lowerBound)
                let rootEnd = try #require(text.range(of: ">\n", range: start..<text.endIndex)?.upperBound)
                let close = try #require(text.range(of: "</", options: .backwards)?.lowerBound)
                text = String(text[..<rootEnd]) + String(text[close...])
            }
            try text.write(toFile: "\(empty)/\(name)", atomically: true, encoding: .utf8)
        }
        try await TestDatabase.with { client, url in
            #expect(try await run(["import", "sam", base], databaseURL: url).status == 0)
            let before = try await client.dataFingerprint()
            let refused = try await run(["import", "sam", empty], databaseURL: url)
            #expect(refused.status == 3, "\(refused.output)")
            #expect(refused.output.contains("SAM-GATE-MASS-DELETE"))
            #expect(try await client.dataFingerprint() == before)
            // The refused run and its findings can be read back afterwards.
            let runId = try #require(refused.output.firstMatch(of: /SAM import run #(\d+): REFUSED/)).1
            let list = try await run(["imports", "list"], databaseURL: url)
            #expect(list.status == 0 && list.output.contains("#\(runId) ") && list.output.contains("REFUSED"))
            let shown = try await run(
                ["imports", "show", String(runId), "--rule", "SAM-GATE-MASS-DELETE"], databaseURL: url)
            #expect(shown.status == 0)
            #expect(shown.output.contains("FATAL [SAM-GATE-MASS-DELETE]") && shown.output.contains("company"))
            #expect(!shown.output.contains("SAM-REF-RMB-DMPP"), "filtered by rule")
            #expect(try await run(["import", "sam", base, "--max-delete-share", "7"], databaseURL: url).status == 2)
            #expect(try await run(["import", "nothing"], databaseURL: url).status == 2)
        }
    }
}
