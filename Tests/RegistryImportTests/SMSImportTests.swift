import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import SharedSamples
import Testing

/// SMS substance lists in both layouts, their change events, the gate and bad rows; and the real
/// UNICOM extract of `../shared` when present.
@Suite(.timeLimit(.minutes(5)))
struct SMSImportTests {
    /// A substance list of `count` substances (ids 100000090000+), UNICOM's layout.
    static func list(_ count: Int, rename: Int? = nil, drop: Set<Int> = [], extra: [String] = []) throws -> String {
        var lines = ["substance_code,substance_name,moiety_code,moiety_name"]
        for i in 0..<count where !drop.contains(i) {
            let name = i == rename ? "renamed substance \(i)" : "substance \(i), hydrochloride"
            lines.append("\(100_000_090_000 + i),\"\(name)\",,")
        }
        lines += extra
        let path = try TestDatabase.temporaryDirectory() + "/substance.csv"
        try (lines.joined(separator: "\r\n") + "\r\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func stored(_ postgres: PostgresClient) async throws -> [String] {
        try await postgres.strings(
            """
            SELECT s.substance_id || ' ' || s.content_hash || ' ' || string_agg(n.name || ':' || n.preferred, '|' ORDER BY n.name)
            FROM spor_sms_substance s JOIN spor_sms_substance_name n USING (substance_id)
            GROUP BY s.substance_id, s.content_hash ORDER BY 1
            """)
    }

    @Test func deltaImportEmitsOneEventPerChangedSubstance() async throws {
        let first = try Self.list(100)
        let second = try Self.list(
            100, rename: 7, drop: [42], extra: ["100000099999,\"new substance\",100000099998,\"new moiety\""])
        try await TestDatabase.with { postgres, _ in
            let pipeline = SMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            let initial = try await pipeline.run(paths: [first])
            #expect(initial.outcome == .applied)
            #expect(initial.counts["sms-substance"]?.created == 100)
            #expect(initial.eventsEmitted == 100)
            #expect(
                try await postgres.scalar(
                    "SELECT document ->> 'name' FROM spor_sms_substance WHERE substance_id = '100000090003'",
                    as: String.self) == "substance 3, hydrochloride")

            let delta = try await pipeline.run(paths: [second])
            let events = try await postgres.strings(
                """
                SELECT type || ' ' || entity_key || ' ' || array_to_string(changed, ',') || ' ' || href
                FROM change_event WHERE run_id = \(delta.runId) ORDER BY entity_key
                """)
            #expect(
                events == [
                    "spor.sms.substance.updated 100000090007 name /v1/spor/sms/substances/100000090007",
                    "spor.sms.substance.deleted 100000090042  /v1/spor/sms/substances/100000090042",
                    "spor.sms.substance.created 100000099999 moiety,name,substanceId /v1/spor/sms/substances/100000099999",
                ], "\(events)")
            // The side table follows: the new name is searchable, the old one gone.
            #expect(
                try await postgres.strings(
                    "SELECT folded FROM spor_sms_substance_name WHERE substance_id = '100000090007'")
                    == ["renamed substance 7"])

            let again = try await pipeline.run(paths: [second])
            #expect(again.eventsEmitted == 0 && again.totalChanged == 0)
        }
    }

    @Test func theSMSExtractLayoutMergesNamesWithThePreferredOneFirst() async throws {
        let path = try TestDatabase.temporaryDirectory() + "/sms.csv"
        try """
        \u{FEFF}#SMS_ID,Substance_Name,Is_Preferred_Name
        100000085259,PARACETAMOL (PH. EUR.),N
        100000085259,paracetamol,Y
        100000085259,acetaminophen,N
        100000090186,Haloperidol,Y
        """.write(toFile: path, atomically: true, encoding: .utf8)
        try await TestDatabase.with { postgres, _ in
            let summary = try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [path])
            #expect(summary.counts["sms-substance"]?.created == 2)
            #expect(summary.findingsBySeverity.isEmpty)
            let document = try await postgres.scalar(
                "SELECT document::text FROM spor_sms_substance WHERE substance_id = '100000085259'", as: String.self)
            let parsed = try JSONSerialization.jsonObject(with: Data(document.utf8)) as! [String: Any]
            #expect(parsed["name"] as? String == "paracetamol")
            #expect(parsed["synonyms"] as? [String] == ["PARACETAMOL (PH. EUR.)", "acetaminophen"])
            #expect(
                try await postgres.strings(
                    "SELECT folded FROM spor_sms_substance_name WHERE preferred ORDER BY substance_id")
                    == ["paracetamol", "haloperidol"])
        }
    }

    @Test func massDeletionIsRefusedAndChangesNothing() async throws {
        let full = try Self.list(100)
        let shrunk = try Self.list(100, drop: Set(0..<10))
        try await TestDatabase.with { postgres, _ in
            let pipeline = SMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(paths: [full])
            let before = try await Self.stored(postgres)
            let events = try await postgres.scalar("SELECT count(*) FROM change_event", as: Int64.self)
            await #expect(throws: ImportError.self) { try await pipeline.run(paths: [shrunk]) }
            #expect(try await Self.stored(postgres) == before)
            #expect(try await postgres.scalar("SELECT count(*) FROM change_event", as: Int64.self) == events)
            let refusal = try await postgres.strings(
                "SELECT outcome || ': ' || refusal_reason FROM import_run WHERE domain = 'spor-sms' ORDER BY id DESC LIMIT 1"
            )
            #expect(
                refusal == [
                    "refused: the import would delete 10 of the 100 current sms-substance rows, more than 5%"
                ])
            // A larger share is accepted when asked for.
            let allowed = try await pipeline.run(paths: [shrunk], maxDeleteShare: 0.2)
            #expect(allowed.counts["sms-substance"]?.deleted == 10)
        }
    }

    @Test func badRowsAreReportedWithTheirLineAndKeepWhatIsStored() async throws {
        let good = try Self.list(20)
        // Line 21: an id that is not an SMS id; line 22: substance 5 without a name.
        let bad = try Self.list(20, drop: [5], extra: ["12A45,\"broken\",,", "100000090005,\"\",,"])
        try await TestDatabase.with { postgres, _ in
            let pipeline = SMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(paths: [good])
            let summary = try await pipeline.run(paths: [bad])
            #expect(summary.outcome == .applied)
            let findings = try await postgres.strings(
                """
                SELECT rule || ' ' || coalesce(entity_key, '-') || ' ' || file || ':' || line
                FROM import_finding WHERE run_id = \(summary.runId) ORDER BY line
                """)
            #expect(
                findings == ["SPOR-SMS-ID 12A45 substance.csv:21", "SPOR-SMS-NAME 100000090005 substance.csv:22"],
                "\(findings)")
            // The substance whose row was refused is not deleted.
            #expect(summary.counts["sms-substance"]?.deleted == 0)
            #expect(summary.counts["sms-substance"]?.rejected == 2)
            #expect(
                try await postgres.scalar(
                    "SELECT count(*) FROM spor_sms_substance WHERE substance_id = '100000090005'", as: Int64.self) == 1)
        }
    }

    @Test func aFileThatIsNotASubstanceListIsRefused() async throws {
        let path = try TestDatabase.temporaryDirectory() + "/other.csv"
        try "code,label\n1,x\n".write(toFile: path, atomically: true, encoding: .utf8)
        try await TestDatabase.with { postgres, _ in
            await #expect(throws: ImportError.self) {
                try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [path])
            }
            let recorded = try await postgres.strings(
                """
                SELECT f.rule || ' ' || f.message FROM import_finding f JOIN import_run r ON r.id = f.run_id
                WHERE r.domain = 'spor-sms' AND r.outcome = 'refused'
                """)
            #expect(recorded.count == 1)
            #expect(
                recorded.first?.hasPrefix("SPOR-SMS-FILE other.csv: the header (code,label)") == true, "\(recorded)")
            #expect(try await postgres.scalar("SELECT count(*) FROM spor_sms_substance", as: Int64.self) == 0)
        }
    }

    @Test(.enabled(if: SPORSamples.available, "../shared/reference/spor-samples is not present"))
    func theRealExtractIsImportedWhole() async throws {
        let path = SPORSamples.directory.appendingPathComponent("sms-substances/substance.csv").path
        // Distinct ids counted independently by Python's csv module.
        let counted = try await ChildProcess.python(
            "import csv,sys; print(len({r['substance_code'] for r in csv.DictReader(open(sys.argv[1], encoding='utf-8-sig'))}))",
            [path])
        let expected = Int(counted.outputText.trimmingCharacters(in: .whitespacesAndNewlines))
        try await TestDatabase.with { postgres, _ in
            let summary = try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [path])
            #expect(summary.counts["sms-substance"]?.created == expected)
            #expect(summary.findingsBySeverity.isEmpty)
            // A line of the file: 100000075989,"hydrochloric acid, concentrated",,
            #expect(
                try await postgres.scalar(
                    "SELECT name FROM spor_sms_substance WHERE substance_id = '100000075989'", as: String.self)
                    == "hydrochloric acid, concentrated")
        }
    }
}
