import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

extension PostgresClient {
    /// The provider tables an import may change, to prove a refused run changed nothing.
    func providerFingerprint() async throws -> String {
        try await strings(
            """
            SELECT concat_ws(E'\\n',
              (SELECT string_agg(actor_type || actor_key || source || content_hash, ',' ORDER BY 1) FROM actor_fact),
              (SELECT string_agg(id || content_hash, ',' ORDER BY 1) FROM professional),
              (SELECT string_agg(key || content_hash, ',' ORDER BY 1) FROM institution),
              (SELECT string_agg(key || content_hash, ',' ORDER BY 1) FROM practice),
              (SELECT count(*)::text FROM practice_search),
              (SELECT last_seq::text FROM change_event_counter))
            """
        ).joined()
    }

    func professionalDocument(nihii: String) async throws -> JSONValue {
        let text = try await scalar(
            "SELECT p.document::text FROM professional p JOIN professional_nihii n ON n.professional_id = p.id WHERE n.nihii = \(nihii)",
            as: String.self)
        return try JSONValue.parse(text)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct CoBRHAImportTests {
    static let both = [
        "cobrha-fps-health.xml": ProviderFixture.fpsHealth(), "cobrha-riziv-inami.xml": ProviderFixture.rizivInami(),
    ]

    @Test func twoSourcesAreMergedPerPersonKeepingWhichSourceAssertedEachFact() async throws {
        let folder = try ProviderFixture.folder(Self.both)
        try await TestDatabase.with { postgres, _ in
            let pipeline = CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger)
            let summary = try await pipeline.run(path: folder)
            #expect(summary.outcome == .applied)
            #expect(summary.counts["professional"]?.created == 6)
            #expect(summary.counts["institution"]?.created == 1)
            #expect(summary.eventsEmitted == 7)

            let jan = ProviderFixture.people[0]
            let merged = try await postgres.professionalDocument(nihii: jan.nihii)
            #expect(merged["ssin"]?.stringValue == jan.ssin)
            #expect(merged["identitySource"]?.stringValue == "FPS-HEALTH")
            #expect(merged["sources"] == .array([.string("FPS-HEALTH"), .string("RIZIV-INAMI")]))
            guard case .array(let professions)? = merged["professions"] else {
                Issue.record("no professions")
                return
            }
            // One profession, asserted by both; the NIHII and the speciality came from RIZIV,
            // the period from FPS Health (first in precedence).
            #expect(professions.count == 1)
            let physician = professions[0]
            #expect(physician["code"]?.stringValue == "persphysician")
            #expect(physician["sources"] == .array([.string("FPS-HEALTH"), .string("RIZIV-INAMI")]))
            #expect(physician["nihii"]?.stringValue == jan.nihii)
            #expect(physician["nihiiSource"]?.stringValue == "RIZIV-INAMI")
            #expect(physician["from"]?.stringValue == "2005-09-01")
            #expect(physician["periodSource"]?.stringValue == "FPS-HEALTH")
            #expect(physician["specialities"]?[0]?["source"]?.stringValue == "RIZIV-INAMI")
            guard case .array(let licences)? = physician["licences"] else { return }
            #expect(Set(licences.compactMap { $0["source"]?.stringValue }) == ["FPS-HEALTH", "RIZIV-INAMI"])

            let types = try await postgres.strings("SELECT type FROM change_event ORDER BY seq")
            #expect(types.filter { $0 == "cobrha.professional.created" }.count == 6)
            #expect(types.contains("cobrha.institution.created"))
            // The event names the professional by its public id, never by the SSIN.
            let keys = try await postgres.strings("SELECT key::text FROM change_event")
            #expect(!keys.contains { $0.contains(jan.ssin) })
            #expect(keys.contains { $0.contains(jan.nihii) && $0.contains("persphysician") })

            // Institution identifiers from the snapshot are searchable like the AFMPS ones.
            let byCBE = try await postgres.strings(
                "SELECT institution_key FROM institution_identifier WHERE scheme = 'cbe' AND value = '0403019261'")
            #expect(byCBE == ["nihii:71000436"])

            // The same snapshots again: nothing changes, no events.
            let again = try await pipeline.run(path: folder)
            #expect(again.totalChanged == 0)
            #expect(again.eventsEmitted == 0)
        }
    }

    @Test func aSourceArrivingLaterUpdatesThePersonAndKeepsTheOtherSourcesFacts() async throws {
        let fps = try ProviderFixture.folder(["fps.xml": ProviderFixture.fpsHealth()])
        let riziv = try ProviderFixture.folder(["riziv.xml": ProviderFixture.rizivInami()])
        try await TestDatabase.with { postgres, _ in
            let pipeline = CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(path: fps)
            let count = try await postgres.scalar("SELECT count(*) FROM professional_nihii", as: Int64.self)
            #expect(count == 0)
            let second = try await pipeline.run(path: riziv)
            #expect(second.counts["professional"]?.updated == 6)
            #expect(second.counts["professional"]?.created == 0)
            let changed = try await postgres.strings(
                "SELECT array_to_string(changed, ',') FROM change_event WHERE type = 'cobrha.professional.updated' LIMIT 1"
            )
            #expect(changed == ["professions,sources"])
            let sources = try await postgres.strings(
                "SELECT DISTINCT source FROM actor_fact WHERE actor_type = 'professional' ORDER BY 1")
            #expect(sources == ["FPS-HEALTH", "RIZIV-INAMI"])
            let doc = try await postgres.professionalDocument(nihii: ProviderFixture.people[2].nihii)
            #expect(doc["identitySource"]?.stringValue == "FPS-HEALTH")
        }
    }

    @Test func aRefusedRunChangesNothing() async throws {
        let folder = try ProviderFixture.folder(Self.both)
        let full = ProviderFixture.fpsHealth()
        let truncated = try ProviderFixture.folder(["fps.xml": String(full.prefix(full.count / 2))])
        let shrunk = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(Array(ProviderFixture.people.prefix(2)))
        ])
        try await TestDatabase.with { postgres, _ in
            let pipeline = CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(path: folder)
            let before = try await postgres.providerFingerprint()
            for (path, rule) in [(truncated, "COBRHA-FILE"), (shrunk, "COBRHA-MASS-DELETION")] {
                do {
                    _ = try await pipeline.run(path: path)
                    Issue.record("\(path) should have been refused")
                } catch ImportError.refused(let summary) {
                    #expect(summary.outcome == .refused)
                    let rules = try await postgres.strings(
                        "SELECT rule FROM import_finding WHERE run_id = \(summary.runId) AND severity = 'fatal'")
                    #expect(rules.contains(rule))
                }
                #expect(try await postgres.providerFingerprint() == before)
            }
            // A bigger share allows the deletion: the four persons lose their FPS facts.
            let allowed = try await pipeline.run(path: shrunk, maxDeleteShare: 1)
            #expect(allowed.counts["professional"]?.updated == 4)
        }
    }

    @Test func recordsBreakingARuleAreRejectedAndKeepWhatIsStored() async throws {
        let people = ProviderFixture.people
        let folder = try ProviderFixture.folder(["fps.xml": ProviderFixture.fpsHealth()])
        var renamed = people
        renamed[0].last = "Renamed"
        renamed[1].ssin = "81020301299"  // check digits wrong
        renamed[3].profession = "persunknowncode"
        var broken = ProviderFixture.fpsHealth(renamed)
        // The same SSIN on two records: both are rejected.
        broken = broken.replacingOccurrences(of: people[4].ssin, with: people[5].ssin)
        let bad = try ProviderFixture.folder(["fps.xml": broken])
        let invalidSSIN = renamed[1].ssin
        try await TestDatabase.with { postgres, _ in
            let pipeline = CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(path: folder)
            let summary = try await pipeline.run(path: bad, maxDeleteShare: 1)
            #expect(summary.outcome == .applied)
            let rules = try await postgres.strings(
                "SELECT rule || ' ' || coalesce(entity_key, '') || ' ' || message FROM import_finding WHERE run_id = \(summary.runId) ORDER BY rule"
            )
            #expect(rules.contains { $0.hasPrefix("COBRHA-SSIN ssin:…\(invalidSSIN.suffix(3))") })
            #expect(rules.contains { $0.hasPrefix("COBRHA-PROFESSION ") })
            #expect(rules.filter { $0.hasPrefix("COBRHA-SSIN-TWICE") }.count == 1)
            // Findings never carry a whole SSIN.
            #expect(!rules.contains { $0.contains(people[5].ssin) })
            // Jan was renamed (accepted); Anne (unknown profession) and the duplicated SSIN keep their
            // stored facts; Marie's record had an invalid SSIN, so hers is not in the snapshot and is removed.
            // Luc's record now carries Émilie's SSIN, so Luc is absent from the snapshot and removed too.
            let names = try await postgres.strings("SELECT document ->> 'lastName' FROM professional")
            #expect(Set(names) == ["De Smet", "Desmet", "Lefèvre", "Renamed"])
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct PracticeImportTests {
    static func practices(_ count: Int) -> [ProviderFixture.Practice] {
        (0..<count).map { n in
            ProviderFixture.Practice(
                id: "PR\(n)", nihii: ProviderFixture.people[n % ProviderFixture.people.count].nihii, postcode: "1000",
                latitude: 50.85 + Double(n) * 0.001, longitude: 4.35)
        }
    }

    @Test func theRegisterImportsFromCSVOrJSONOnceAndRefusesAMassDeletion() async throws {
        let snapshots = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let csv = try ProviderFixture.folder(["practices.csv": ProviderFixture.practicesCSV(Self.practices(40))])
        // The same register as JSON (arrays for languages), one practice changed.
        var items: [[String: Any]] = Self.practices(40).map { p in
            [
                "practice_id": p.id, "nihii": p.nihii, "role": "owner", "street_fr": "Rue de la Loi, 16",
                "street_nl": "Wetstraat", "house_number": "16", "postcode": p.postcode, "municipality_fr": "Bruxelles",
                "municipality_nl": "Brussel", "latitude": p.latitude, "longitude": p.longitude,
                "languages": ["nl", "fr"], "valid_from": "2015-01-01",
            ]
        }
        items[3]["languages"] = ["nl", "fr", "en"]
        let json = try TestDatabase.temporaryDirectory() + "/practices.json"
        try JSONSerialization.data(withJSONObject: items).write(to: URL(fileURLWithPath: json))
        let shrunk = try ProviderFixture.folder(["practices.csv": ProviderFixture.practicesCSV(Self.practices(30))])
        try await TestDatabase.with { postgres, _ in
            _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: snapshots)
            let pipeline = PracticeImportPipeline(client: postgres, logger: TestDatabase.logger)
            let first = try await pipeline.run(path: csv)
            #expect(first.counts["practice"]?.created == 40)
            #expect(first.eventsEmitted == 40)
            let again = try await pipeline.run(path: csv)
            #expect(again.totalChanged == 0 && again.eventsEmitted == 0)
            let fromJSON = try await pipeline.run(path: json)
            #expect(fromJSON.counts["practice"]?.updated == 1)
            let changed = try await postgres.strings(
                "SELECT array_to_string(changed, ',') FROM change_event WHERE type = 'practice.updated'")
            #expect(changed == ["languages"])
            let languages = try await postgres.strings(
                "SELECT array_to_string(languages, ',') FROM practice_search WHERE practice_key = 'PR3'")
            #expect(languages == ["nl,fr,en"])

            let before = try await postgres.providerFingerprint()
            do {
                _ = try await pipeline.run(path: shrunk)
                Issue.record("deleting a quarter of the practices should be refused")
            } catch ImportError.refused(let summary) {
                #expect(summary.refusalReason?.contains("10 of 40") == true)
            }
            #expect(try await postgres.providerFingerprint() == before)
        }
    }
}
