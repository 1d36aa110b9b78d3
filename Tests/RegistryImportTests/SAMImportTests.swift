import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import SAMReaders
import Testing

@Suite(.timeLimit(.minutes(5)))
struct SAMImportTests {
    let logger = TestDatabase.logger

    func importSAM(_ client: PostgresClient, _ paths: [String], maxDeleteShare: Double = 0.05) async throws
        -> ImportSummary
    {
        try await SAMImportPipeline(client: client, logger: logger).run(
            input: try SAMInput.resolve(paths: paths), options: SAMImportOptions(maxDeleteShare: maxDeleteShare))
    }

    func refusal(_ body: () async throws -> ImportSummary) async -> ImportSummary? {
        do {
            _ = try await body()
            return nil
        } catch ImportError.refused(let summary) {
            return summary
        } catch {
            Issue.record("expected a refusal, got \(String(reflecting: error))")
            return nil
        }
    }

    @Test func fullImportThenIdenticalReimportEmitsNothing() async throws {
        let dir = try generatedExport()
        try await TestDatabase.with { client, _ in
            let first = try await importSAM(client, [dir])
            #expect(first.outcome == .applied)
            #expect(first.sourceVersion == "6.0" && first.sourceId == "SAM-11-0")
            #expect(first.files.count == 9)
            // Each file's recorded SHA-256 is the file's, as coreutils computes it.
            for file in first.files {
                let sum = try await ChildProcess.run("/usr/bin/sha256sum", ["\(dir)/\(file.name)"])
                #expect(file.sha256 == String(sum.outputText.prefix(64)), "\(file.name)")
            }
            let stored: Int64 = try await client.scalar("SELECT count(*) FROM sam_entity")
            #expect(stored > 1000)
            #expect(Int64(first.eventsEmitted) == stored, "one created event per entity")
            #expect(first.firstEventSeq == 1 && first.lastEventSeq == stored)
            let gapFree: Bool = try await client.scalar("SELECT count(*) = max(seq) AND min(seq) = 1 FROM change_event")
            #expect(gapFree)
            let created: Int64 = try await client.scalar(
                "SELECT count(*) FROM change_event WHERE type LIKE '%.created'")
            #expect(created == stored)

            let before = try await client.dataFingerprint()
            let second = try await importSAM(client, [dir])
            #expect(second.outcome == .applied)
            #expect(second.eventsEmitted == 0)
            #expect(second.totalChanged == 0)
            #expect(try await client.dataFingerprint() == before)
            let runs: Int64 = try await client.scalar("SELECT count(*) FROM import_run WHERE outcome = 'applied'")
            #expect(runs == 2)
        }
    }

    @Test func deltaImportEmitsExactlyTheGeneratedChanges() async throws {
        let base = try generatedExport(seed: 21)
        let next = try TestDatabase.temporaryDirectory()
        let expected = try SAMExportGenerator.writeNextVersion(from: base, to: next, changes: 25, seed: 9)
        #expect(expected.count >= 25)
        try await TestDatabase.with { client, _ in
            let first = try await importSAM(client, [base])
            let delta = try await importSAM(client, [next])
            #expect(delta.outcome == .applied)
            #expect(delta.firstEventSeq == Int64(first.eventsEmitted) + 1, "the feed continues without a gap")
            var emitted: Set<String> = []
            let rows = try await client.query(
                "SELECT entity_type, entity_key, type FROM change_event WHERE run_id = \(delta.runId)", logger: logger)
            for try await (type, key, eventType) in rows.decode((String, String, String).self) {
                emitted.insert("\(type) \(key) \(eventType.split(separator: ".").last!)")
            }
            let wanted = Set(expected.map { "\($0.entityType) \($0.entityKey) \($0.kind)" })
            #expect(emitted == wanted)
            #expect(delta.eventsEmitted == expected.count)
            // A new future price slice: only Price changed, effective from the new slice's start.
            let priceChange = try #require(expected.first { $0.entityType == "dmpp" && $0.kind == "updated" })
            let (changed, effective): ([String], String) = try await {
                let rows = try await client.query(
                    "SELECT changed, effective_from::text FROM change_event WHERE run_id = \(delta.runId) AND entity_type = 'dmpp' AND entity_key = \(priceChange.entityKey)",
                    logger: logger)
                for try await row in rows.decode(([String], String).self) { return row }
                throw PostgresScalarMissing()
            }()
            #expect(changed == ["Price"])
            #expect(effective > "2026-11-27")
            // The history keeps what we believed before.
            let history: Int64 = try await client.scalar(
                "SELECT count(*) FROM sam_entity_history WHERE replaced_by_run = \(delta.runId)")
            #expect(history == Int64(expected.filter { $0.kind != "created" }.count))
            // Updated and created entities are stored as this run wrote them: a re-import of the
            // same version finds every one unchanged (a stale stored document would be updated again).
            let stored: Int64 = try await client.scalar(
                """
                SELECT count(*) FROM sam_entity e JOIN change_event c USING (entity_type, entity_key)
                WHERE c.run_id = \(delta.runId) AND c.type NOT LIKE '%.deleted' AND e.changed_run_id = \(delta.runId)
                """)
            #expect(stored == Int64(expected.filter { $0.kind != "deleted" }.count))
            let again = try await importSAM(client, [next])
            #expect(again.eventsEmitted == 0)
        }
    }

    @Test func missingFileRefusesTheRunAndChangesNothing() async throws {
        let dir = try generatedExport(seed: 31)
        let next = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: dir, to: next, changes: 10, seed: 1)
        let cpn = try #require(try FileManager.default.contentsOfDirectory(atPath: next).first { $0.hasPrefix("CPN-") })
        try FileManager.default.removeItem(atPath: "\(next)/\(cpn)")
        try await TestDatabase.with { client, _ in
            _ = try await importSAM(client, [dir])
            let before = try await client.dataFingerprint()
            let refused = try #require(await refusal { try await importSAM(client, [next]) })
            #expect(refused.findingsSample.contains { $0.rule == "SAM-FILE-MISSING" && $0.message.contains("CPN") })
            #expect(try await client.dataFingerprint() == before)
            let outcome: String = try await client.scalar("SELECT outcome FROM import_run WHERE id = \(refused.runId)")
            #expect(outcome == "refused")
            let stored: Int64 = try await client.scalar(
                "SELECT count(*) FROM import_finding WHERE run_id = \(refused.runId) AND rule = 'SAM-FILE-MISSING'")
            #expect(stored == 1)
        }
    }

    @Test func massDeletionRefusesTheRunAndChangesNothing() async throws {
        let dir = try generatedExport(seed: 41)
        let cut = try TestDatabase.temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".xml") {
            var text = try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8)
            if name.hasPrefix("AMP-") {
                // Keep the first third of the AMPs: a valid, well-formed file that lost most of its content.
                let prefix = String(try #require(text.firstMatch(of: /<(ns\d):ExportActualMedicines/)).1)
                let starts = text.ranges(of: "<\(prefix):Amp ")
                let keepUntil = starts[starts.count / 3].lowerBound
                text = String(text[..<keepUntil]) + "</\(prefix):ExportActualMedicines>\n"
            }
            try text.write(toFile: "\(cut)/\(name)", atomically: true, encoding: .utf8)
        }
        try await TestDatabase.with { client, _ in
            _ = try await importSAM(client, [dir])
            let before = try await client.dataFingerprint()
            let refused = try #require(await refusal { try await importSAM(client, [cut]) })
            let finding = try #require(
                refused.findingsSample.first { $0.rule == "SAM-GATE-MASS-DELETE" && $0.entityType == "amp" })
            #expect(finding.message.contains("more than the allowed 5.0%"))
            #expect(try await client.dataFingerprint() == before)
            // The share is configurable: allowing everything applies the same input.
            let applied = try await importSAM(client, [cut], maxDeleteShare: 1.0)
            #expect(applied.counts["amp"]!.deleted > 0)
        }
    }

    @Test func truncatedXMLRefusesTheRunAndChangesNothing() async throws {
        let dir = try generatedExport(seed: 51)
        let next = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: dir, to: next, changes: 10, seed: 1)
        let amp = try #require(try FileManager.default.contentsOfDirectory(atPath: next).first { $0.hasPrefix("AMP-") })
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(next)/\(amp)"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: "\(next)/\(amp)"))
        try await TestDatabase.with { client, _ in
            _ = try await importSAM(client, [dir])
            let before = try await client.dataFingerprint()
            let refused = try #require(await refusal { try await importSAM(client, [next]) })
            let finding = try #require(refused.findingsSample.first { $0.rule == "SAM-XML-WELLFORMED" })
            #expect(finding.file == amp && finding.line != nil)
            #expect(try await client.dataFingerprint() == before)
            let staged: Int64 = try await client.scalar(
                """
                SELECT (SELECT count(*) FROM sam_stage_entity) + (SELECT count(*) FROM sam_stage_rejected)
                     + (SELECT count(*) FROM sam_stage_ref)
                """)
            #expect(staged == 0, "a refused run leaves the staging empty")
        }
    }

    @Test func rejectedEntityKeepsItsStoredVersion() async throws {
        let dir = try generatedExport(seed: 61)
        let next = try TestDatabase.temporaryDirectory()
        let expected = try SAMExportGenerator.writeNextVersion(from: dir, to: next, changes: 10, seed: 2)
        // Break one AMP in the new version: its first slice starts on a date that does not exist.
        let ampFile = try #require(
            try FileManager.default.contentsOfDirectory(atPath: next).first { $0.hasPrefix("AMP-") })
        var text = try String(contentsOfFile: "\(next)/\(ampFile)", encoding: .utf8)
        let marker = try #require(text.range(of: #"code="SAM000002-00""#))
        let dataStart = try #require(text.range(of: #"Data from=""#, range: marker.upperBound..<text.endIndex))
        text.replaceSubrange(dataStart.upperBound..<text.index(dataStart.upperBound, offsetBy: 10), with: "2020-13-45")
        try text.write(toFile: "\(next)/\(ampFile)", atomically: true, encoding: .utf8)
        try await TestDatabase.with { client, _ in
            _ = try await importSAM(client, [dir])
            let storedBefore: String = try await client.scalar(
                "SELECT content_hash FROM sam_entity WHERE entity_type = 'amp' AND entity_key = 'SAM000002-00'")
            let delta = try await importSAM(client, [next])
            #expect(delta.outcome == .applied)
            #expect(delta.counts["amp"]!.rejected == 1)
            let storedAfter: String = try await client.scalar(
                "SELECT content_hash FROM sam_entity WHERE entity_type = 'amp' AND entity_key = 'SAM000002-00'")
            #expect(storedAfter == storedBefore)
            let finding: String = try await client.scalar(
                "SELECT rule FROM import_finding WHERE run_id = \(delta.runId) AND entity_key = 'SAM000002-00' AND severity = 'error'"
            )
            #expect(finding == "SAM-PERIOD-INVALID")
            let events: Int64 = try await client.scalar(
                "SELECT count(*) FROM change_event WHERE run_id = \(delta.runId) AND entity_key = 'SAM000002-00'")
            #expect(events == 0)
            #expect(delta.eventsEmitted == expected.filter { $0.entityKey != "SAM000002-00" }.count)
        }
    }

    /// A key that occurs twice in one export is an error: every occurrence is rejected, the stored
    /// version stays, and the rest of the run applies.
    @Test func duplicatedKeyRejectsEveryOccurrenceAndKeepsTheStoredVersion() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        func companies(_ rows: [(String, String)]) -> String {
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <e:ExportCompanies xmlns:e="urn:be:fgov:ehealth:samws:v2:export" xmlns="urn:be:fgov:ehealth:samws:v2:company:submit" version="6.0" SamId="X">
            \(rows.map { #"<e:Company actorNr="\#($0.0)"><e:Data from="2020-01-01"><Denomination>\#($0.1)</Denomination></e:Data></e:Company>"# }.joined(separator: "\n"))
            </e:ExportCompanies>
            """
        }
        try companies([("00042", "Before"), ("00043", "Kept")]).write(
            toFile: "\(dir)/CPN-1.xml", atomically: true, encoding: .utf8)
        try companies([("00042", "Twice A"), ("00043", "Renamed"), ("00042", "Twice B"), ("00044", "New")]).write(
            toFile: "\(dir)/CPN-2.xml", atomically: true, encoding: .utf8)
        try await TestDatabase.with { client, _ in
            _ = try await importSAM(client, ["\(dir)/CPN-1.xml"])
            let run = try await importSAM(client, ["\(dir)/CPN-2.xml"])
            #expect(run.outcome == .applied)
            #expect(run.counts["company"]?.rejected == 1)
            #expect(run.counts["company"]?.updated == 1 && run.counts["company"]?.created == 1)
            let finding: String = try await client.scalar(
                "SELECT rule || ' ' || message FROM import_finding WHERE run_id = \(run.runId) AND entity_key = '00042'"
            )
            #expect(
                finding == "SAM-ENTITY-DUPLICATE the key occurs 2 times in this export; all occurrences are rejected")
            let names: String = try await client.scalar(
                """
                SELECT string_agg(entity_key || '=' || (document -> 'slices' -> 0 -> 'fields' ->> 'Denomination'), ',' ORDER BY entity_key)
                FROM sam_entity WHERE entity_type = 'company'
                """)
            #expect(names == "00042=Before,00043=Renamed,00044=New")
            let events: String = try await client.scalar(
                "SELECT string_agg(type || ' ' || entity_key, ',' ORDER BY seq) FROM change_event WHERE run_id = \(run.runId)"
            )
            #expect(events == "sam.company.updated 00043,sam.company.created 00044")
        }
    }

    @Test func secondImportWaitsForTheLock() async throws {
        let dir = try generatedExport(seed: 71, scale: 0.002)
        try await TestDatabase.with { client, _ in
            try await client.withConnection { holder in
                _ = try await holder.query(
                    "SELECT pg_advisory_lock(\(SAMImportPipeline.advisoryLockKey))", logger: logger)
                await #expect {
                    _ = try await importSAM(client, [dir])
                } throws: { error in
                    guard case ImportError.alreadyRunning = error else { return false }
                    return "\(error)".contains("another SAM import is running")
                }
                _ = try await holder.query(
                    "SELECT pg_advisory_unlock(\(SAMImportPipeline.advisoryLockKey))", logger: logger)
            }
            let runs: Int64 = try await client.scalar("SELECT count(*) FROM import_run")
            #expect(runs == 0)
            #expect(try await importSAM(client, [dir]).outcome == .applied)
        }
    }

    @Test func awkwardCharactersSurviveTheRoundTripThroughCopy() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        let name = "Back\\slash\ttab \"quote\" é – 💊 &amp; line\nbreak"
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <e:ExportCompanies xmlns:e="urn:be:fgov:ehealth:samws:v2:export" xmlns="urn:be:fgov:ehealth:samws:v2:company:submit" version="6.0" SamId="X">
            <e:Company actorNr="00042"><e:Data from="2020-01-01"><Denomination>\(name)</Denomination></e:Data></e:Company>
            </e:ExportCompanies>
            """
        try xml.write(toFile: "\(dir)/CPN-1.xml", atomically: true, encoding: .utf8)
        try await TestDatabase.with { client, _ in
            let summary = try await importSAM(client, ["\(dir)/CPN-1.xml"])
            #expect(summary.counts["company"]?.created == 1)
            let stored: String = try await client.scalar(
                "SELECT document -> 'slices' -> 0 -> 'fields' ->> 'Denomination' FROM sam_entity WHERE entity_key = '00042'"
            )
            #expect(stored == "Back\\slash\ttab \"quote\" é – 💊 & line\nbreak")
            #expect(try await importSAM(client, ["\(dir)/CPN-1.xml"]).eventsEmitted == 0)
        }
    }

    @Test func zipImportMatchesFolderImport() async throws {
        let folder = try generatedExport(seed: 81, scale: 0.002)
        let zipped = try generatedExport(seed: 81, scale: 0.002, zip: true)
        let zip = try #require(
            try FileManager.default.contentsOfDirectory(atPath: zipped).first { $0.hasSuffix(".zip") })
        try await TestDatabase.with { client, _ in
            let first = try await importSAM(client, ["\(zipped)/\(zip)"])
            #expect(first.outcome == .applied && first.eventsEmitted > 0)
            #expect(try await importSAM(client, [folder]).eventsEmitted == 0, "zip and folder hold the same export")
        }
    }
}
