import DatabaseTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

/// Lookups on a generated export, each compared with what PostgreSQL itself says about the stored
/// slices (jsonb queries, independent of the API's rendering code).
@Suite(.timeLimit(.minutes(5)))
struct GeneratedLookupTests {
    static let day = "2026-06-15"

    static func withExport(_ body: @Sendable (APIClient, PostgresClient) async throws -> Void) async throws {
        let dir = try generatedExport(seed: 5, scale: 0.004)
        try await APITest.with(importing: [dir], body)
    }

    /// Text of `path` in the slice of an entity valid on `day`, straight from jsonb.
    static func storedField(
        _ postgres: PostgresClient, type: String, key: String, path: [String], on day: String = day
    ) async throws -> String? {
        let rows = try await postgres.query(
            """
            SELECT s -> 'fields' #>> \(path) FROM sam_entity, jsonb_array_elements(document -> 'slices') s
            WHERE entity_type = \(type) AND entity_key = \(key)
              AND coalesce((s ->> 'from')::date, '-infinity') <= \(day)::date
              AND coalesce((s ->> 'to')::date, 'infinity') >= \(day)::date
            """, logger: TestDatabase.logger)
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }

    @Test func cnkLookupMatchesTheStoredSliceWithItsPackProductAndReimbursement() async throws {
        try await Self.withExport { api, postgres in
            // A public-pharmacy DMPP with a price today and a reimbursement context.
            let keys = try await postgres.strings(
                """
                SELECT d.entity_key FROM sam_entity d
                JOIN sam_entity r ON r.entity_type = 'reimbursement_context' AND r.document #>> '{key,code}' = split_part(d.entity_key, '|', 3)
                WHERE d.entity_type = 'dmpp' AND d.entity_key LIKE 'P|CNK|%'
                ORDER BY d.entity_key LIMIT 20
                """)
            var checked = 0
            for key in keys {
                guard let price = try await Self.storedField(postgres, type: "dmpp", key: key, path: ["Price"]) else {
                    continue
                }
                let cnk = String(key.split(separator: "|")[2])
                let response = try await api.get("/v1/medicines/cnk/\(cnk)?at=\(Self.day)")
                #expect(response.status == .ok)
                let body = response.json
                #expect(body["price"].number == Double(price))
                #expect(body["cnk"].string == cnk)
                let parent = try await postgres.strings(
                    "SELECT parent_key FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = \(key)")
                #expect(body["ampp"]["key"]["ctiExtended"].string == parent.first)
                let ampParent = try await postgres.strings(
                    "SELECT parent_key FROM sam_entity WHERE entity_type = 'ampp' AND entity_key = \(parent.first ?? "")"
                )
                #expect(body["amp"]["key"]["code"].string == ampParent.first)
                let contexts = try await postgres.strings(
                    """
                    SELECT r.entity_key FROM sam_entity r, jsonb_array_elements(r.document -> 'slices') s
                    WHERE r.entity_type = 'reimbursement_context' AND r.entity_key LIKE \(key + "|%")
                      AND coalesce((s ->> 'from')::date, '-infinity') <= \(Self.day)::date
                      AND coalesce((s ->> 'to')::date, 'infinity') >= \(Self.day)::date
                    """)
                #expect(body["reimbursementContexts"].array.count == contexts.count)
                for context in body["reimbursementContexts"].array {
                    let path = context["key"]["legalReferencePath"].string ?? ""
                    let category = try await Self.storedField(
                        postgres, type: "reimbursement_context", key: "\(key)|\(path)",
                        path: ["ReimbursementCriterion", "@category"])
                    #expect(context["fields"]["reimbursementCriterion"]["category"].string == category)
                    #expect(context["copayments"].array.allSatisfy { $0["fields"]["feeAmount"].exists })
                }
                #expect(body["source"]["importRunId"].number != nil)
                checked += 1
                if checked == 3 { break }
            }
            #expect(checked == 3)
        }
    }

    @Test func historyReturnsEverySliceAndUnknownCodesAre404() async throws {
        try await Self.withExport { api, postgres in
            let key = try await postgres.strings(
                """
                SELECT entity_key FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%'
                  AND jsonb_array_length(document -> 'slices') > 1 ORDER BY entity_key LIMIT 1
                """
            ).first!
            let stored = try await postgres.strings(
                "SELECT jsonb_array_length(document -> 'slices')::text FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = \(key)"
            ).first!
            let cnk = key.split(separator: "|")[2]
            let history = try await api.get("/v1/medicines/cnk/\(cnk)?history=true")
            #expect(history.json["dmpp"]["slices"].array.count == Int(stored))
            let missing = try await api.get("/v1/medicines/cnk/0000001")
            #expect(missing.status == .notFound)
            #expect(missing.json["detail"].string?.contains("0000001") == true)
            #expect(try await api.get("/v1/medicines/amp/SAM999999-99").status == .notFound)
            #expect(try await api.get("/v1/medicines/ampp/999999-99").status == .notFound)
            #expect(try await api.get("/v1/medicines/vmp/999999").status == .notFound)
            #expect(try await api.get("/v1/medicines/vmp-groups/999999").status == .notFound)
            #expect(try await api.get("/v1/companies/99999").status == .notFound)
            #expect(try await api.get("/v1/medicines/chapter-iv/IV/999999").status == .notFound)
        }
    }

    @Test func vmpGroupListsTheAmppsThatBelongToItOnTheDate() async throws {
        try await Self.withExport { api, postgres in
            // Expected AMPPs by SQL: VMPs whose slice on the day names the group, their AMPs, AMPPs valid that day.
            let group = try await postgres.strings(
                """
                SELECT v.document #>> '{slices,0,fields,VmpGroup,@code}' FROM sam_entity v
                JOIN sam_entity a ON a.entity_type = 'amp' AND a.document #>> '{attributes,vmpCode}' = v.entity_key
                WHERE v.entity_type = 'vmp' AND v.document #>> '{slices,0,fields,VmpGroup,@code}' IS NOT NULL
                ORDER BY 1 LIMIT 1
                """
            ).first!
            let expected = try await postgres.strings(
                """
                SELECT DISTINCT p.entity_key FROM sam_entity v
                JOIN sam_entity a ON a.entity_type = 'amp' AND a.document #>> '{attributes,vmpCode}' = v.entity_key
                JOIN sam_entity p ON p.entity_type = 'ampp' AND p.parent_key = a.entity_key
                WHERE v.entity_type = 'vmp'
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(v.document -> 'slices') s
                              WHERE s #>> '{fields,VmpGroup,@code}' = \(group)
                                AND coalesce((s ->> 'from')::date, '-infinity') <= \(Self.day)::date
                                AND coalesce((s ->> 'to')::date, 'infinity') >= \(Self.day)::date)
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(a.document -> 'slices') s
                              WHERE coalesce((s ->> 'from')::date, '-infinity') <= \(Self.day)::date
                                AND coalesce((s ->> 'to')::date, 'infinity') >= \(Self.day)::date)
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(p.document -> 'slices') s
                              WHERE coalesce((s ->> 'from')::date, '-infinity') <= \(Self.day)::date
                                AND coalesce((s ->> 'to')::date, 'infinity') >= \(Self.day)::date)
                ORDER BY 1
                """)
            let response = try await api.get("/v1/medicines/vmp-groups/\(group)?at=\(Self.day)")
            #expect(response.status == .ok)
            let ampps = response.json["ampps"].array.compactMap { $0["key"]["ctiExtended"].string }.sorted()
            #expect(!expected.isEmpty)
            #expect(ampps == expected)
            #expect(
                response.json["vmps"].array.allSatisfy { $0["href"].string?.hasPrefix("/v1/medicines/vmp/") == true })
        }
    }

    /// Fields the official XSD requires, which the generator writes since it follows it (issue 25):
    /// a VMP component's virtual form, a VMP's abbreviation, an ingredient's substance name, a
    /// reimbursement context's Temporary/Multiple flags; imported and shown as stored.
    @Test func fieldsTheSchemaRequiresAreImportedAndShown() async throws {
        try await Self.withExport { api, postgres in
            let vmp = try await postgres.strings(
                """
                SELECT v.entity_key FROM sam_entity v, jsonb_array_elements(v.document -> 'slices') s
                WHERE v.entity_type = 'vmp' AND coalesce((s ->> 'to')::date, 'infinity') >= \(Self.day)::date
                ORDER BY v.entity_key LIMIT 1
                """
            ).first!
            let answer = try await api.get("/v1/medicines/vmp/\(vmp)?at=\(Self.day)")
            #expect(answer.status == .ok)
            let abbreviation = try await Self.storedField(
                postgres, type: "vmp", key: vmp, path: ["Abbreviation", "Fr"])
            #expect(abbreviation?.isEmpty == false)
            #expect(answer.json["vmp"]["fields"]["abbreviation"]["fr"].string == abbreviation)
            let component = answer.json["components"][0]
            let componentKey = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'vmp_component' AND parent_key = \(vmp)"
            ).first!
            let form = try await Self.storedField(
                postgres, type: "vmp_component", key: componentKey, path: ["VirtualForm", "@code"])
            #expect(form != nil)
            #expect(component["fields"]["virtualForm"]["code"].string == form)
            #expect(component["fields"]["virtualForm"]["name"]["fr"].string?.isEmpty == false)
            #expect(component["fields"]["routeOfAdministration"]["name"]["nl"].string?.isEmpty == false)
            let substance = component["ingredients"][0]["fields"]["substance"]
            #expect(substance["name"]["en"].string?.isEmpty == false)
            #expect(substance["type"].string == "ACTIVE_SUBSTANCE")

            let contexts = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'reimbursement_context' AND entity_key LIKE 'P|CNK|%' ORDER BY entity_key LIMIT 40"
            )
            var flags = Set<String>()
            for key in contexts {
                let parts = key.split(separator: "|")
                guard
                    let temporary = try await Self.storedField(
                        postgres, type: "reimbursement_context", key: key, path: ["Temporary"]),
                    let multiple = try await Self.storedField(
                        postgres, type: "reimbursement_context", key: key, path: ["Multiple"])
                else { continue }
                let cnk = try await api.get("/v1/medicines/cnk/\(parts[2])?at=\(Self.day)")
                guard cnk.status == .ok else { continue }
                let shown = cnk.json["reimbursementContexts"].array.first {
                    $0["key"]["legalReferencePath"].string == String(parts[3])
                }
                #expect(shown?["fields"]["temporary"].string == temporary, "\(key)")
                #expect(shown?["fields"]["multiple"].string == multiple, "\(key)")
                flags.insert("\(temporary)/\(multiple)")
            }
            // Both values of the flags occur in the generated data.
            #expect(flags.contains { $0.hasPrefix("false/") } && flags.contains { $0.hasSuffix("/V") }, "\(flags)")
        }
    }

    @Test func vmpCompanyAndChapterIVLookups() async throws {
        try await Self.withExport { api, postgres in
            let vmp = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'vmp' ORDER BY entity_key LIMIT 1"
            ).first!
            let vmpResponse = try await api.get("/v1/medicines/vmp/\(vmp)?history=true")
            #expect(vmpResponse.status == .ok)
            let amps = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'amp' AND document #>> '{attributes,vmpCode}' = \(vmp) ORDER BY 1"
            )
            #expect(vmpResponse.json["amps"].array.compactMap { $0["key"]["code"].string }.sorted() == amps)

            let company = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'company' ORDER BY entity_key LIMIT 1"
            ).first!
            #expect(company.hasPrefix("0"))
            let companyResponse = try await api.get("/v1/companies/\(company)?at=\(Self.day)")
            #expect(companyResponse.status == .ok)
            #expect(companyResponse.json["company"]["key"]["actorNr"].string == company)
            let denomination = try await Self.storedField(
                postgres, type: "company", key: company, path: ["Denomination"])
            #expect(companyResponse.json["company"]["fields"]["denomination"].string == denomination)

            let paragraph = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'paragraph' ORDER BY entity_key LIMIT 1"
            ).first!
            let parts = paragraph.split(separator: "|")
            let chapter = try await api.get("/v1/medicines/chapter-iv/\(parts[0])/\(parts[1])?history=true")
            #expect(chapter.status == .ok)
            let verses = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'verse' AND parent_key = \(paragraph)")
            #expect(chapter.json["verses"].array.count == verses.count)
        }
    }
}
