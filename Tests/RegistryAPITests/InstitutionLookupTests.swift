import DatabaseTestSupport
import Foundation
import RegistryImport
import RegistryStore
import Testing

/// `GET /v1/institutions/{scheme}:{id}` over pharmacies imported from an AFMPS-shaped list.
@Suite(.timeLimit(.minutes(5)))
struct InstitutionLookupTests {
    /// Three pharmacies; two share a holder (one CBE number, two pharmacies).
    static func list() throws -> String {
        func pharmacy(_ id: Int, _ name: String, _ holder: String, zip: Int, lat: Double, lon: Double) -> [String: Any]
        {
            [
                "authorization_id": id, "name": name, "textual_address": "Rue Test 1 ", "zipCode": zip,
                "municipality": "Test", "status": "ACTIVE",
                "geo": [["format": "epsg:4326", "latitude": lat, "longitude": lon]],
                "authorization_holder": ["name": "Holder", "entreprise_number": holder],
                "operator": ["name": "Operator", "entreprise_number": holder],
            ]
        }
        let items = [
            pharmacy(913007, "Familia", "0403019261", zip: 1000, lat: 50.846, lon: 4.352),
            pharmacy(913008, "Familia Bis", "0403019261", zip: 1000, lat: 50.847, lon: 4.353),
            pharmacy(123502, "Keustermans", "0428759497", zip: 9000, lat: 51.05, lon: 3.72),
        ]
        let path = try TestDatabase.temporaryDirectory() + "/pharmacies.json"
        try JSONSerialization.data(withJSONObject: items).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func institutionsAreFoundByEachOfTheirIdentifiers() async throws {
        let path = try Self.list()
        try await APITest.with(importing: []) { api, postgres in
            _ = try await PharmacyImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: path)
            let one = try await api.get("/v1/institutions/afmps:913007")
            #expect(one.status == .ok)
            #expect(one.json["items"].array.count == 1)
            let pharmacy = one.json["items"][0]
            #expect(pharmacy["name"].string == "Familia")
            #expect(pharmacy["kind"].string == "orgpharmacy")
            #expect(pharmacy["href"].string == "/v1/institutions/afmps:913007")
            #expect(pharmacy["holder"]["cbe"].string == "0403019261")
            #expect(pharmacy["position"]["from"].string == "source")
            // A holder's CBE number names both its pharmacies; dotted input is normalised.
            let holder = try await api.get("/v1/institutions/cbe:0403.019.261")
            #expect(holder.json["items"].array.compactMap { $0["key"].string } == ["afmps:913007", "afmps:913008"])
            #expect(holder.json["identifier"]["value"].string == "0403019261")

            #expect(try await api.get("/v1/institutions/afmps:999999").status == .notFound)
            #expect(try await api.get("/v1/institutions/cbe:0431150351").status == .badRequest)
            #expect(try await api.get("/v1/institutions/afmps:12345678").status == .badRequest)
            #expect(try await api.get("/v1/institutions/ssin:85073003328").status == .badRequest)
            #expect(try await api.get("/v1/institutions/913007").status == .badRequest)
            #expect(try await api.get("/v1/institutions/nihii:12345678").status == .notFound)
        }
    }
}
