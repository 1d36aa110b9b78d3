import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

/// Healthcare-actor events reach subscribers filtered by profession and postcode.
@Suite(.timeLimit(.minutes(5)))
struct ProviderEventTests {
    @Test func subscriptionsFilterActorEventsByProfessionAndPostcode() async throws {
        let snapshots = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let people = ProviderFixture.people
        var practices = people.enumerated().map { index, person in
            ProviderFixture.Practice(
                id: "P\(index)", nihii: person.nihii, postcode: "1000", latitude: 50.85, longitude: 4.35)
        }
        // Luc (dentist) also practises in Ghent.
        practices.append(.init(id: "GENT", nihii: people[4].nihii, postcode: "9000", latitude: 51.05, longitude: 3.72))
        let register = try ProviderFixture.folder(["practices.csv": ProviderFixture.practicesCSV(practices)])
        try await DispatchFixture.with { fixture in
            _ = try await CoBRHAImportPipeline(client: fixture.postgres, logger: fixture.logger).run(path: snapshots)
            _ = try await PracticeImportPipeline(client: fixture.postgres, logger: fixture.logger).run(path: register)
            func filter(_ fields: [String: [String: [String]]]) throws -> SubscriptionFilter {
                try SubscriptionFilter(
                    json: .object(
                        fields.mapValues { condition in
                            .object(condition.mapValues { .array($0.map(JSONValue.string)) })
                        }))
            }
            _ = try await fixture.subscribe(
                path: "/dentists-in-ghent", types: ["practice.*"],
                filter: try filter(["profession": ["in": ["persdentist"]], "postcode": ["in": ["9000"]]]))
            _ = try await fixture.subscribe(
                path: "/nurses", types: ["cobrha.professional.*"],
                filter: try filter(["profession": ["in": ["persnurse"]]]))
            _ = try await fixture.subscribe(
                path: "/practising-in-ghent", types: ["cobrha.professional.*"],
                filter: try filter(["postcode": ["prefix": ["90"]]]))
            let nurses = try await fixture.postgres.strings(
                "SELECT p.id FROM professional p WHERE p.document -> 'professions' @> '[{\"code\": \"persnurse\"}]' ORDER BY 1"
            )
            let luc = try await fixture.postgres.strings(
                "SELECT professional_id FROM professional_nihii WHERE nihii = \(people[4].nihii)")
            #expect(nurses.count == 2)
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= 4 })
                try await Task.sleep(for: .milliseconds(800))  // anything else would have arrived by now
            }
            func keys(_ path: String) -> [String] {
                fixture.receiver.at(path).compactMap { ($0.json?["data"] as? [String: Any])?["key"] as? [String: Any] }
                    .compactMap { ($0["id"] as? String) }.sorted()
            }
            #expect(keys("/dentists-in-ghent") == ["GENT"])
            #expect(keys("/nurses") == nurses)
            #expect(keys("/practising-in-ghent") == luc)
            #expect(fixture.receiver.all.count == 4)
        }
    }
}
