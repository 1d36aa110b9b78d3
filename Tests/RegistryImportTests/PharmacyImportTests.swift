import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

/// The real AFMPS pharmacy list (`../shared/reference/providers`, test data only: CC BY-NC-SA).
enum AFMPSList {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/reference/providers/afmps-pharmacies_last-pharmacies_afmps.json")
    static var available: Bool { FileManager.default.fileExists(atPath: url.path) }

    static func items() throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
    }

    static func write(_ items: [[String: Any]]) throws -> String {
        let path = try TestDatabase.temporaryDirectory() + "/pharmacies.json"
        try JSONSerialization.data(withJSONObject: items).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The CBE check written out independently of CBENumber: 10 digits, leading 0 or 1,
    /// last two = 97 - (first eight mod 97).
    static func cbeIsValid(_ text: String) -> Bool {
        let digits = text.filter(\.isNumber)
        guard digits.count == 10, digits.first == "0" || digits.first == "1" else { return false }
        let head = digits.prefix(8).reduce(0) { $0 * 10 + Int(String($1))! }
        return 97 - head % 97 == Int(digits.suffix(2))!
    }
}

@Suite(.enabled(if: AFMPSList.available, "../shared/reference/providers is not present"), .timeLimit(.minutes(5)))
struct PharmacyImportTests {
    @Test func theRealListImportsWithItsStatusesEveryCBECheckedAndNothingTwice() async throws {
        let items = try AFMPSList.items()
        #expect(items.count == 5026)
        var invalidCBEs = 0
        var validCBEs = Set<String>()
        for item in items {
            for role in ["authorization_holder", "operator"] {
                guard let number = (item[role] as? [String: Any])?["entreprise_number"] as? String, !number.isEmpty
                else { continue }
                if AFMPSList.cbeIsValid(number) {
                    validCBEs.insert("\(item["authorization_id"]!)|\(number)")
                } else {
                    invalidCBEs += 1
                }
            }
        }
        let (invalid, valid) = (invalidCBEs, validCBEs.count)
        try await TestDatabase.with { postgres, _ in
            let pipeline = PharmacyImportPipeline(client: postgres, logger: TestDatabase.logger)
            let summary = try await pipeline.run(path: AFMPSList.url.path)
            #expect(summary.outcome == .applied)
            #expect(summary.counts["institution"]?.created == 5026)
            #expect(summary.eventsEmitted == 5026)
            let statuses = try await postgres.strings(
                """
                SELECT status || ' ' || n FROM (SELECT document ->> 'status' AS status, count(*) AS n FROM institution
                                                GROUP BY 1) t ORDER BY 1
                """)
            #expect(statuses == ["ACTIVE 4717", "TEMPORARILY_SUSPENDED 309"])
            let cbeFindings: Int64 = try await postgres.scalar(
                "SELECT count(*) FROM import_finding WHERE rule = 'INST-ID-CBE'")
            #expect(cbeFindings == Int64(invalid))
            let cbeIdentifiers: Int64 = try await postgres.scalar(
                "SELECT count(*) FROM institution_identifier WHERE scheme = 'cbe'")
            #expect(cbeIdentifiers == Int64(valid))
            // Every pharmacy has a position in Belgium (its own, or its postcode's centroid).
            let unplaced: Int64 = try await postgres.scalar(
                """
                SELECT count(*) FROM institution
                WHERE latitude IS NULL OR latitude NOT BETWEEN 49.49 AND 51.51 OR longitude NOT BETWEEN 2.54 AND 6.41
                """)
            #expect(unplaced == 0)
            let events = try await postgres.strings(
                "SELECT DISTINCT type FROM change_event")
            #expect(events == ["cobrha.institution.created"])
            let href = try await postgres.strings(
                "SELECT href FROM change_event WHERE entity_key = 'afmps:913007'")
            #expect(href == ["/v1/institutions/afmps:913007"])

            let again = try await pipeline.run(path: AFMPSList.url.path)
            #expect(again.outcome == .applied && again.eventsEmitted == 0)
            #expect(again.counts["institution"]?.updated == 0 && again.counts["institution"]?.created == 0)
        }
    }

    @Test func aChangedListEmitsExactlyItsChangesAndAMassDeletionIsRefused() async throws {
        let original = try AFMPSList.items()
        let first = try AFMPSList.write(original)
        var items = original
        let changedId = "\(items[0]["authorization_id"]!)"
        let removedId = "\(items[1]["authorization_id"]!)"
        items[0]["status"] = items[0]["status"] as? String == "ACTIVE" ? "TEMPORARILY_SUSPENDED" : "ACTIVE"
        items.remove(at: 1)
        var added = items[2]
        added["authorization_id"] = 999_999
        added["name"] = "Pharmacie Nouvelle"
        items.append(added)
        let second = try AFMPSList.write(items)
        let truncated = try AFMPSList.write(Array(items.prefix(items.count * 9 / 10)))
        try await TestDatabase.with { postgres, _ in
            let pipeline = PharmacyImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(path: first)
            let summary = try await pipeline.run(path: second)
            #expect(summary.eventsEmitted == 3)
            let events = try await postgres.strings(
                "SELECT type || ' ' || entity_key || ' ' || array_to_string(changed, ',') FROM change_event WHERE run_id = \(summary.runId) ORDER BY entity_key"
            )
            #expect(
                Set(events) == [
                    "cobrha.institution.updated afmps:\(changedId) status",
                    "cobrha.institution.deleted afmps:\(removedId) ",
                    "cobrha.institution.created afmps:999999 address,holder,identifiers,kind,lambert2008,name,operator,position,source,status",
                ], "\(events)")

            // A list that lost 10% of the pharmacies is refused: nothing changes, the refusal is recorded.
            let before = try await postgres.strings("SELECT key || content_hash FROM institution ORDER BY key")
            await #expect(throws: ImportError.self) { try await pipeline.run(path: truncated) }
            #expect(try await postgres.strings("SELECT key || content_hash FROM institution ORDER BY key") == before)
            let refused = try await postgres.strings(
                "SELECT outcome || ': ' || refusal_reason FROM import_run WHERE domain = 'afmps' ORDER BY id DESC LIMIT 1"
            )
            #expect(refused.first?.hasPrefix("refused: the list would delete") == true)

            // A file that is not the list is refused and recorded with its finding.
            let garbage = try TestDatabase.temporaryDirectory() + "/garbage.json"
            try "{\"not\": \"a list\"".write(toFile: garbage, atomically: true, encoding: .utf8)
            await #expect(throws: ImportError.self) { try await pipeline.run(path: garbage) }
            let rule = try await postgres.strings(
                "SELECT f.rule FROM import_finding f JOIN import_run r ON r.id = f.run_id WHERE r.source = \(garbage)")
            #expect(rule == ["INST-FILE-UNREADABLE"])
            #expect(try await postgres.strings("SELECT key || content_hash FROM institution ORDER BY key") == before)
        }
    }

    @Test func positionsFarFromTheirPostcodeAreFlaggedAndOutsideBelgiumReplacedByTheCentroid() async throws {
        var items = Array(try AFMPSList.items().prefix(20))
        // A point in Ostend for a pharmacy whose postcode is far from the coast; a point in Paris.
        let far = items.firstIndex { ($0["zipCode"] as? Int).map { $0 >= 4000 } ?? false }!
        items[far]["geo"] = [["format": "epsg:4326", "latitude": 51.2154, "longitude": 2.9286]]
        let paris = far == 0 ? 1 : 0
        items[paris]["geo"] = [["format": "epsg:4326", "latitude": 48.8566, "longitude": 2.3522]]
        let path = try AFMPSList.write(items)
        let (farKey, parisKey) = (
            "afmps:\(items[far]["authorization_id"]!)", "afmps:\(items[paris]["authorization_id"]!)"
        )
        try await TestDatabase.with { postgres, _ in
            let summary = try await PharmacyImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                path: path)
            #expect(summary.outcome == .applied)
            let rules = try await postgres.strings(
                "SELECT rule || ' ' || entity_key FROM import_finding WHERE rule LIKE 'INST-GEO%' ORDER BY rule")
            // The real entries may be flagged too (that is what the rule is for); ours must be.
            #expect(rules.filter { $0.hasPrefix("INST-GEO-BELGIUM") } == ["INST-GEO-BELGIUM \(parisKey)"])
            #expect(rules.contains("INST-GEO-POSTCODE \(farKey)"))
            let from = try await postgres.strings(
                "SELECT document #>> '{position,from}' FROM institution WHERE key = \(parisKey)")
            #expect(from == ["postcode-centroid"])
        }
    }
}
