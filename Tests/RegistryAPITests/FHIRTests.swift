import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryCore
import RegistryStore
import SAMReaders
import Testing

/// The FHIR endpoint through the real router: the CapabilityStatement against the routes,
/// OperationOutcome errors, searches and paging. Expected values come from the fixtures and the
/// /v1 API (a different code path), never from the FHIR code itself.
@Suite(.timeLimit(.minutes(5)))
struct FHIRTests {
    static func withMedicines(_ body: @Sendable (APIClient, PostgresClient) async throws -> Void) async throws {
        let export = try generatedExport(seed: 7, scale: 0.004)
        try await APITest.with(importing: [export]) { api, postgres in try await body(api, postgres) }
    }

    @Test func capabilityStatementListsExactlyWhatTheRoutesAccept() async throws {
        try await Self.withMedicines { api, _ in
            let metadata = try await api.get("/fhir/metadata")
            #expect(metadata.status == .ok)
            #expect(metadata.headers[.contentType] == "application/fhir+json")
            let statement = metadata.json
            #expect(statement["resourceType"].string == "CapabilityStatement")
            #expect(statement["fhirVersion"].string == "5.0.0")
            let resources = statement["rest"][0]["resource"].array
            #expect(resources.count >= 10)
            for resource in resources {
                let type = resource["type"].string!
                // The read route exists: an unknown id is "not known", not "no such route".
                let read = try await api.get("/fhir/\(type)/unknown-id")
                #expect(read.status == .notFound, "\(type)")
                #expect(read.json["resourceType"].string == "OperationOutcome")
                #expect(read.json["issue"][0]["diagnostics"].string?.contains("is not known") == true, "\(type)")
                // Every listed search parameter is accepted (an answer or a value problem, never "not supported").
                for parameter in resource["searchParam"].array {
                    let name = parameter["name"].string!
                    let value =
                        switch parameter["type"].string {
                        case "reference": "\(type)/unknown"
                        case "date": "ge2020-01-01"
                        case "special": "50.85|4.35|1|km"
                        default: "x"
                        }
                    let response = try await api.get(
                        "/fhir/\(type)?\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
                    #expect(response.json["issue"][0]["code"].string != "not-supported", "\(type) \(name)")
                    #expect(response.status != .internalServerError, "\(type) \(name)")
                }
                // A parameter not listed is refused.
                let unknown = try await api.get("/fhir/\(type)?shoe-size=42")
                #expect(unknown.status == .badRequest, "\(type)")
                #expect(unknown.json["issue"][0]["code"].string == "not-supported")
                #expect(unknown.headers[.contentType] == "application/fhir+json")
            }
            // A type the statement does not list has no route.
            let patient = try await api.get("/fhir/Patient/1")
            #expect(patient.status == .notFound)
            #expect(patient.json["resourceType"].string == "OperationOutcome")
            #expect(!resources.contains { $0["type"].string == "Patient" })
        }
    }

    /// The virtual form of the VMP an AMP implements (required by the SAM XSD, so generated since
    /// issue 25) is a characteristic of its MedicinalProductDefinition, coded as stored.
    @Test func medicinalProductShowsTheVirtualFormOfItsVMP() async throws {
        try await Self.withMedicines { api, postgres in
            let pairs = try await postgres.strings(
                """
                SELECT a.entity_key || '|' || (c.document -> 'slices' -> 0 -> 'fields' -> 'VirtualForm' ->> '@code')
                FROM sam_entity a JOIN sam_entity c ON c.entity_type = 'vmp_component'
                  AND c.parent_key = a.document #>> '{attributes,vmpCode}'
                WHERE a.entity_type = 'amp' ORDER BY a.entity_key LIMIT 10
                """)
            var checked = 0
            for pair in pairs {
                let parts = pair.split(separator: "|").map(String.init)
                let resource = try await api.get("/fhir/MedicinalProductDefinition/\(parts[0])")
                guard resource.status == .ok else { continue }
                let characteristic = resource.json["characteristic"][0]
                #expect(characteristic["type"]["text"].string == "Virtual form (SAM VMP)")
                let coding = characteristic["valueCodeableConcept"]["coding"][0]
                #expect(coding["code"].string == parts[1], "\(parts[0])")
                #expect(coding["system"].string == "https://registry.example.be/fhir/CodeSystem/sam-virtual-form")
                #expect(coding["display"].string?.isEmpty == false)
                checked += 1
            }
            #expect(checked >= 3)
        }
    }

    @Test func packagedProductByCNKIsThePackOfTheV1Lookup() async throws {
        try await Self.withMedicines { api, postgres in
            let cnks = try await postgres.strings(
                "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY 1 LIMIT 10"
            )
            var checked = 0
            for cnk in cnks {
                let v1 = try await api.get("/v1/medicines/cnk/\(cnk)")
                guard v1.status == .ok else { continue }
                let bundle = try await api.get("/fhir/PackagedProductDefinition?identifier=\(cnk)").json
                #expect(bundle["resourceType"].string == "Bundle")
                #expect(bundle["type"].string == "searchset")
                let packs = bundle["entry"].array.map { $0["resource"] }
                let cti = v1.json["ampp"]["key"]["ctiExtended"].string!
                let pack = try #require(packs.first { $0["id"].string == cti }, "CNK \(cnk)")
                #expect(
                    pack["identifier"].array.contains {
                        $0["system"].string
                            == "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes"
                            && $0["value"].string == cnk
                    })
                #expect(
                    pack["packageFor"][0]["reference"].string
                        == "MedicinalProductDefinition/\(v1.json["amp"]["key"]["code"].string!)")
                // With the system, the same answer; a system we do not know is a 400.
                let system = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes"
                let withSystem = try await api.get(
                    "/fhir/PackagedProductDefinition?identifier=\(system.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)%7C\(cnk)"
                ).json
                #expect(withSystem["total"].number == bundle["total"].number)
                // The product it is for reads back, with its AMP code as identifier.
                let product = try await api.get("/fhir/\(pack["packageFor"][0]["reference"].string!)")
                #expect(product.status == .ok)
                #expect(product.json["identifier"][0]["value"].string == v1.json["amp"]["key"]["code"].string)
                checked += 1
            }
            #expect(checked > 3)
            let bad = try await api.get("/fhir/PackagedProductDefinition?identifier=http%3A%2F%2Fexample.org%7C1234567")
            #expect(bad.status == .badRequest)
            #expect(bad.json["issue"][0]["diagnostics"].string?.contains("Unknown identifier system") == true)
        }
    }

    @Test func searchesPageWithNextLinksThatVisitEveryMatchOnce() async throws {
        try await Self.withMedicines { api, postgres in
            // Every AMP carrying a name starting with the commonest first letter today, per the /v1
            // search index, page by page.
            let letter = try await postgres.strings(
                """
                SELECT left(name_norm, 1) FROM sam_search_entry WHERE entity_type = 'amp' AND valid @> current_date
                GROUP BY 1 ORDER BY count(DISTINCT entity_key) DESC, 1 LIMIT 1
                """)[0]
            let expected = Set(
                try await postgres.strings(
                    "SELECT DISTINCT entity_key FROM sam_search_entry WHERE entity_type = 'amp' AND name_norm LIKE \(letter + "%") AND valid @> current_date"
                ))
            #expect(expected.count > 5)
            var seen: [String] = []
            var next: String? = "/fhir/MedicinalProductDefinition?name=\(letter.uppercased())&_count=4"
            var total: Double?
            while let uri = next {
                let page = try await api.get(uri).json
                total = total ?? page["total"].number
                seen += page["entry"].array.compactMap { $0["resource"]["id"].string }
                next = page["link"].array.first { $0["relation"].string == "next" }?["url"].string.map {
                    String($0[$0.range(of: "/fhir/")!.lowerBound...])
                }
            }
            #expect(Set(seen) == expected)
            #expect(seen.count == expected.count)
            #expect(total == Double(expected.count))
        }
    }

    @Test func practitionersRolesLocationsAndOrganizationsFollowMCSD() async throws {
        try await ProviderAPITests.withProviders { api, _ in
            let jan = ProviderFixture.people[0]
            let found = try await api.get("/fhir/Practitioner?identifier=\(jan.nihii)").json
            #expect(found["total"].number == 1)
            let practitioner = found["entry"][0]["resource"]
            #expect(practitioner["name"][0]["family"].string == "Van de Casteele")
            let text = String(
                decoding: try await api.get("/fhir/Practitioner/\(practitioner["id"].string!)").body, as: UTF8.self)
            #expect(!text.contains(jan.ssin) && !text.contains(jan.birth), "no personal data")
            // Names are matched folded: "lefevre" finds Lefèvre; :exact needs the whole name.
            #expect(try await api.get("/fhir/Practitioner?family=lefevre").json["total"].number == 1)
            #expect(try await api.get("/fhir/Practitioner?family:exact=desmet").json["total"].number == 1)
            #expect(try await api.get("/fhir/Practitioner?family:contains=smet").json["total"].number == 2)

            // Jan's role today is P0 (OLD closed in 2019), with its practitioner and location included.
            let roles = try await api.get(
                "/fhir/PractitionerRole?practitioner=Practitioner/\(practitioner["id"].string!)&_include=PractitionerRole:practitioner&_include=PractitionerRole:location"
            ).json
            let matches = roles["entry"].array.filter { $0["search"]["mode"].string == "match" }
            let includes = roles["entry"].array.filter { $0["search"]["mode"].string == "include" }
            #expect(matches.compactMap { $0["resource"]["id"].string } == ["P0"])
            #expect(
                Set(includes.compactMap { "\($0["resource"]["resourceType"].string!)/\($0["resource"]["id"].string!)" })
                    == ["Practitioner/\(practitioner["id"].string!)", "Location/P0"])
            #expect(matches[0]["resource"]["specialty"][0]["coding"][0]["code"].string == "persphysician")

            // Location?near: within 1.5 km of the centre by the haversine distance, nearest first, paged.
            let all = ProviderAPITests.practices().filter { $0.validTo.isEmpty }
            let distances = all.map {
                ($0.id, ProviderAPITests.haversine(ProviderAPITests.centre, ($0.latitude, $0.longitude)))
            }
            let expected = distances.filter { $0.1 <= 1.5 }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
            var seen: [String] = []
            var next: String? =
                "/fhir/Location?near=\(ProviderAPITests.centre.latitude)%7C\(ProviderAPITests.centre.longitude)%7C1.5%7Ckm&_count=5"
            while let uri = next {
                let page = try await api.get(uri).json
                seen += page["entry"].array.compactMap { $0["resource"]["id"].string }
                next = page["link"].array.first { $0["relation"].string == "next" }?["url"].string.map {
                    String($0[$0.range(of: "/fhir/")!.lowerBound...])
                }
            }
            #expect(seen == expected)
            #expect(seen.count > 5)
            let location = try await api.get("/fhir/Location/P1").json
            #expect(location["position"]["latitude"].number == ProviderAPITests.centre.latitude)
            #expect(location["address"]["postalCode"].string == "1000")

            // Errors are OperationOutcomes with the parameter named.
            for uri in [
                "/fhir/Location?near=50|4|500|km", "/fhir/Practitioner?identifier=12", "/fhir/Practitioner?_count=1000",
                "/fhir/PractitionerRole?practitioner=Patient/1", "/fhir/Organization?_lastUpdated=yesterday",
                "/fhir/Practitioner?name:fuzzy=jan",
            ] {
                let response = try await api.get(uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.json["resourceType"].string == "OperationOutcome", "\(uri)")
                #expect(response.json["issue"][0]["expression"][0].string != nil, "\(uri)")
            }
        }
    }
}
