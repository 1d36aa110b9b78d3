import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

/// OMS organisations and locations: import (two JSON shapes), aliases of merged records,
/// change events, bad records, and the /v1/spor/oms look-ups through the router. The files are
/// written here after the fields of OMS's own export (Organisation ID, Name, Acronym, Status,
/// Location ID, Address Line 1-4, City, Postal Code, Country Code); no real API sample exists
/// in `../shared`.
@Suite(.timeLimit(.minutes(5)))
struct OMSTests {
    static func write(_ json: String, name: String = "oms.json") throws -> String {
        let path = try TestDatabase.temporaryDirectory() + "/" + name
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func organisations(renamed: Bool = false) -> String {
        """
        {"content": [
          {"orgId": "ORG-100000001", "orgName": "\(renamed ? "Pharma Belgium SA" : "Pharma Belgium NV")",
           "orgAcronym": "PB", "orgStatus": "ACTIVE", "aliasIds": ["ORG-100000009"],
           "alternativeNames": [{"name": "Pharma België", "language": "nl"}],
           "locations": [
             {"locId": "LOC-100000011", "locStatus": "ACTIVE", "addressLine1": "Rue de la Loi 1",
              "city": "Bruxelles", "postalCode": "1000", "countryCode": "BE"},
             {"locId": "LOC-100000012", "locStatus": "INACTIVE", "addressLine1": "Kerkstraat 2",
              "city": "Gent", "postalCode": "9000", "countryCode": "BE"}]},
          {"orgId": "ORG-100000002", "orgName": "Generics Europe GmbH", "orgStatus": "ACTIVE"},
          {"orgId": "ORG-12AB", "orgName": "Broken id", "orgStatus": "ACTIVE"},
          {"orgId": "ORG-100000003", "orgStatus": "ACTIVE"},
          {"orgId": "ORG-100000004", "orgName": "Odd status BV", "orgStatus": "RETIRED"}
        ], "totalElements": 5}
        """
    }

    @Test func organisationsAndLocationsWithAliasesEventsAndLookups() async throws {
        let first = try Self.write(Self.organisations())
        let renamed = try Self.write(Self.organisations(renamed: true), name: "oms2.json")
        try await APITest.with(importing: []) { api, postgres in
            let pipeline = OMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            let summary = try await pipeline.run(paths: [first])
            #expect(summary.outcome == .applied)
            let events = try await postgres.strings(
                "SELECT type || ' ' || entity_key || ' ' || href FROM change_event WHERE run_id = \(summary.runId) ORDER BY entity_key"
            )
            #expect(
                events == [
                    "spor.oms.location.created LOC-100000011 /v1/spor/oms/locations/LOC-100000011",
                    "spor.oms.location.created LOC-100000012 /v1/spor/oms/locations/LOC-100000012",
                    "spor.oms.organisation.created ORG-100000001 /v1/spor/oms/organisations/ORG-100000001",
                    "spor.oms.organisation.created ORG-100000002 /v1/spor/oms/organisations/ORG-100000002",
                    "spor.oms.organisation.created ORG-100000004 /v1/spor/oms/organisations/ORG-100000004",
                ], "\(events)")
            let findings = try await postgres.strings(
                "SELECT rule || ' ' || coalesce(entity_key, '-') FROM import_finding WHERE run_id = \(summary.runId) ORDER BY rule, entity_key"
            )
            #expect(
                findings == [
                    "SPOR-OMS-ID ORG-12AB", "SPOR-OMS-NAME ORG-100000003", "SPOR-OMS-STATUS ORG-100000004",
                ], "\(findings)")

            // The organisation with its locations; the merged id finds it and says so.
            let organisation = try await api.get("/v1/spor/oms/organisations/ORG-100000001")
            #expect(organisation.status == .ok)
            #expect(organisation.json["name"].string == "Pharma Belgium NV")
            #expect(organisation.json["acronym"].string == "PB")
            #expect(organisation.json["alternativeNames"].array.compactMap(\.string) == ["Pharma België"])
            #expect(
                organisation.json["locations"].array.compactMap { $0["locId"].string } == [
                    "LOC-100000011", "LOC-100000012",
                ])
            let merged = try await api.get("/v1/spor/oms/organisations/ORG-100000009").json
            #expect(merged["orgId"].string == "ORG-100000001")
            #expect(merged["resolvedFrom"].string == "ORG-100000009")
            let location = try await api.get("/v1/spor/oms/locations/LOC-100000012").json
            #expect(location["status"].string == "INACTIVE")
            #expect(location["address"]["city"].string == "Gent")
            #expect(location["organisation"]["href"].string == "/v1/spor/oms/organisations/ORG-100000001")

            // The same records in FHIR: Organization (also found by a merged id) and Location.
            let fhirOrganisation = try await api.get("/fhir/Organization/ORG-100000001").json
            #expect(fhirOrganisation["name"].string == "Pharma Belgium NV")
            #expect(
                fhirOrganisation["identifier"].array.contains {
                    $0["use"].string == "old" && $0["value"].string == "ORG-100000009"
                })
            let byAlias = try await api.get(
                "/fhir/Organization?identifier=https%3A%2F%2Fspor.ema.europa.eu%2Fv1%2Forganisations%7CORG-100000009"
            ).json
            #expect(byAlias["entry"].array.compactMap { $0["resource"]["id"].string } == ["ORG-100000001"])
            let fhirLocation = try await api.get("/fhir/Location/LOC-100000012").json
            #expect(fhirLocation["status"].string == "inactive")
            #expect(fhirLocation["managingOrganization"]["reference"].string == "Organization/ORG-100000001")

            // The same file again changes nothing; a rename is one update event.
            #expect(try await pipeline.run(paths: [first]).eventsEmitted == 0)
            let delta = try await pipeline.run(paths: [renamed])
            #expect(
                try await postgres.strings(
                    "SELECT type || ' ' || entity_key || ' ' || array_to_string(changed, ',') FROM change_event WHERE run_id = \(delta.runId)"
                ) == ["spor.oms.organisation.updated ORG-100000001 name"])

            for (uri, status) in [
                ("/v1/spor/oms/organisations/LOC-100000011", 400), ("/v1/spor/oms/locations/ORG-100000001", 400),
                ("/v1/spor/oms/organisations/ORG-999999999", 404),
                ("/v1/spor/oms/organisations/ORG-100000001?x=1", 400),
            ] {
                let response = try await api.get(uri)
                #expect(response.status.code == status, "\(uri)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
            }
        }
    }

    @Test func fhirShapedRecordsAreReadAndBadFilesRefused() async throws {
        let bundle = try Self.write(
            """
            {"resourceType": "Bundle", "type": "searchset", "entry": [
              {"resource": {"resourceType": "Organization", "id": "x1",
                "identifier": [{"system": "https://spor.ema.europa.eu/v1/organisations", "value": "ORG-100000021"}],
                "name": "Hospital Supplies Ltd", "status": "ACTIVE"}},
              {"resource": {"resourceType": "Location",
                "identifier": [{"system": "https://spor.ema.europa.eu/v1/locations", "value": "LOC-100000022"}],
                "status": "ACTIVE", "managingOrganization": {"reference": "Organization/ORG-100000021"},
                "address": {"line": ["Dublin Road 5"], "city": "Cork", "postalCode": "T12", "country": "IE"}}}]}
            """)
        let garbage = try Self.write("{not json", name: "garbage.json")
        try await APITest.with(importing: []) { api, postgres in
            let pipeline = OMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            let summary = try await pipeline.run(paths: [bundle])
            #expect(summary.eventsEmitted == 2)
            let location = try await api.get("/v1/spor/oms/locations/LOC-100000022").json
            #expect(location["orgId"].string == "ORG-100000021")
            #expect(location["address"]["lines"][0].string == "Dublin Road 5")
            await #expect(throws: ImportError.self) { try await pipeline.run(paths: [garbage]) }
            let refused = try await postgres.strings(
                "SELECT f.rule FROM import_finding f JOIN import_run r ON r.id = f.run_id WHERE r.outcome = 'refused'")
            #expect(refused == ["SPOR-OMS-FILE"])
            #expect(try await postgres.scalar("SELECT count(*) FROM spor_oms_record", as: Int64.self) == 2)
        }
    }
}
