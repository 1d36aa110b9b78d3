import CompressNIO
import DatabaseTestSupport
import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import RegistryStore
import Testing

@Suite(.timeLimit(.minutes(5)))
struct MedicineSearchTests {
    @Test func exactCodeRanksFirstThenNamePrefixThenTypos() async throws {
        try await GeneratedLookupTests.withExport { api, postgres in
            let cnk = try await postgres.strings(
                "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY 1 LIMIT 1"
            ).first!
            let parent = try await postgres.strings(
                "SELECT parent_key FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = \("P|CNK|" + cnk)"
            ).first!
            let byCode = try await api.get("/v1/medicines?q=\(cnk)&at=\(GeneratedLookupTests.day)").json
            #expect(byCode["items"][0]["type"].string == "ampp")
            #expect(byCode["items"][0]["code"].string == parent)
            #expect(byCode["items"][0]["match"].string == "code")
            #expect(byCode["items"][0]["href"].string == "/v1/medicines/ampp/\(parent)")

            // A brand name: every hit's name starts with it (accent- and case-insensitively), in name order.
            let prefix = try await api.get("/v1/medicines?q=HALD&limit=50").json
            let names = prefix["items"].array.compactMap { $0["matchedName"].string }
            #expect(!names.isEmpty)
            #expect(names.allSatisfy { $0.lowercased().hasPrefix("hald") })
            #expect(prefix["items"].array.allSatisfy { $0["match"].string == "prefix" })

            // A typo still finds the brand.
            let typo = try await api.get("/v1/medicines?q=haldoll").json
            #expect(typo["items"].array.contains { $0["matchedName"].string?.lowercased().hasPrefix("haldol") == true })

            // Accents: "generique" finds the VMPs named "Générique ...".
            let accented = try await api.get("/v1/medicines?q=generique&limit=5").json
            #expect(accented["items"].array.contains { $0["type"].string == "vmp" })
        }
    }

    static func identity(_ item: JSON) -> String {
        "\(item["type"].string ?? "?"):\(item["code"].string ?? "?")"
    }

    @Test func pagingHasNoDuplicatesAndNoGaps() async throws {
        try await GeneratedLookupTests.withExport { api, _ in
            let all = try await api.get("/v1/medicines?q=ha&limit=100").json["items"].array.map(Self.identity)
            #expect(all.count > 12)
            #expect(Set(all).count == all.count)
            var paged: [String] = []
            var uri: String? = "/v1/medicines?q=ha&limit=5"
            var pages = 0
            while let next = uri, pages < 100 {
                let page = try await api.get(next).json
                paged += page["items"].array.map(Self.identity)
                uri = page["nextHref"].string
                pages += 1
            }
            #expect(Array(paged.prefix(all.count)) == all)
            #expect(Set(paged).count == paged.count)
        }
    }

    @Test func filtersCombine() async throws {
        try await GeneratedLookupTests.withExport { api, postgres in
            let company = try await postgres.strings(
                "SELECT document #>> '{slices,0,fields,Company,@actorNr}' FROM sam_entity WHERE entity_type = 'amp' ORDER BY entity_key LIMIT 1"
            ).first!
            let byCompany = try await api.get("/v1/medicines?company=\(company)&limit=100").json["items"].array
            #expect(!byCompany.isEmpty)
            #expect(byCompany.allSatisfy { $0["type"].string != "vmp" })
            let expectedAmps = try await postgres.strings(
                """
                SELECT DISTINCT entity_key FROM sam_entity WHERE entity_type = 'amp'
                  AND jsonb_path_exists(document, '$.slices[*].fields.Company ? (@."@actorNr" == $c)', jsonb_build_object('c', \(company)::text))
                """)
            let amps = Set(byCompany.filter { $0["type"].string == "amp" }.compactMap { $0["code"].string })
            // Only AMPs valid today are listed; every listed one belongs to the company.
            #expect(amps.isSubset(of: Set(expectedAmps)))
            let atc = try await postgres.strings(
                "SELECT document #>> '{slices,0,fields,Atc,@code}' FROM sam_entity WHERE entity_type = 'ampp' AND parent_key = ANY(\(expectedAmps)) LIMIT 1"
            ).first!
            let both = try await api.get("/v1/medicines?company=\(company)&atc=\(atc.prefix(3))&limit=100").json[
                "items"
            ].array
            #expect(!both.isEmpty)
            #expect(both.count <= byCompany.count)
            let hospital = try await api.get("/v1/medicines?env=H&limit=100").json["items"].array
            let hospitalAmpps = Set(
                try await postgres.strings(
                    "SELECT DISTINCT parent_key FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'H|%'"))
            #expect(!hospital.isEmpty)
            #expect(
                hospital.filter { $0["type"].string == "ampp" }.allSatisfy {
                    hospitalAmpps.contains($0["code"].string ?? "")
                })
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct HTTPBehaviourTests {
    @Test func etagRevalidatesAndChangesWithTheAnswer() async throws {
        try await GeneratedLookupTests.withExport { api, postgres in
            let cnk = try await postgres.strings(
                "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY 1 LIMIT 1"
            ).first!
            let uri = "/v1/medicines/cnk/\(cnk)?history=true"
            let first = try await api.get(uri)
            let tag = try #require(first.headers[.eTag])
            #expect(first.headers[.cacheControl]?.contains("max-age") == true)
            let again = try await api.get(uri, headers: [.ifNoneMatch: tag])
            #expect(again.status == .notModified)
            #expect(again.body.isEmpty)
            #expect(try await api.get(uri, headers: [.ifNoneMatch: "\"other\""]).status == .ok)
            // Another language is another answer (display text differs): another tag.
            let dutch = try await api.get(uri + "&lang=nl")
            #expect(dutch.headers[.eTag] != tag)
            // A change to the stored entity, announced as imports announce theirs, changes the tag.
            try await postgres.execute(
                "UPDATE sam_entity SET document = jsonb_set(document, '{attributes,ProductId}', '\"changed\"') WHERE entity_type = 'dmpp' AND entity_key = \("P|CNK|" + cnk)",
                logger: TestDatabase.logger)
            try await postgres.execute("NOTIFY registry_data, 'test'", logger: TestDatabase.logger)
            var changed = try await api.get(uri, headers: [.ifNoneMatch: tag])
            for _ in 0..<50 where changed.status == .notModified {
                try await Task.sleep(for: .milliseconds(100))
                changed = try await api.get(uri, headers: [.ifNoneMatch: tag])
            }
            #expect(changed.status == .ok)
            #expect(changed.headers[.eTag] != tag)
        }
    }

    @Test func gzipWhenAsked() async throws {
        try await GeneratedLookupTests.withExport { api, _ in
            let plain = try await api.get("/v1/medicines?q=a&limit=50")
            #expect(plain.headers[.contentEncoding] == nil)
            let zipped = try await api.get("/v1/medicines?q=a&limit=50", headers: [.acceptEncoding: "br, gzip"])
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.body.count < plain.body.count)
            var buffer = ByteBuffer(bytes: zipped.body)
            let inflated = try buffer.decompress(with: .gzip())
            #expect(Array(inflated.readableBytesView) == plain.body)
            let refused = try await api.get("/v1/medicines?q=a&limit=50", headers: [.acceptEncoding: "gzip;q=0"])
            #expect(refused.headers[.contentEncoding] == nil)
        }
    }

    /// Every client mistake is a 4xx problem with a detail that names the parameter and what was expected.
    @Test(arguments: [
        ("/v1/medicines/cnk/46128", 400, "cnk must be 7 digits"),
        ("/v1/medicines/cnk/004612A", 400, "cnk must be 7 digits"),
        ("/v1/medicines/cnk/0046128?at=2026-02-30", 400, "at must be a calendar date"),
        ("/v1/medicines/cnk/0046128?at=yesterday", 400, "at must be a calendar date"),
        ("/v1/medicines/cnk/0046128?env=X", 400, "env must be P"),
        ("/v1/medicines/cnk/0046128?lang=es", 400, "lang must be one of"),
        ("/v1/medicines/cnk/0046128?history=yes", 400, "history must be true or false"),
        ("/v1/medicines/cnk/0046128?enviroment=H", 400, "Unknown query parameter 'enviroment'"),
        ("/v1/medicines/cnk/0046128?env=P&env=H", 400, "more than once"),
        ("/v1/medicines/amp/SAM25", 400, "code must be SAM"),
        ("/v1/medicines/ampp/25-01", 400, "ctiExtended must be"),
        ("/v1/medicines/vmp/01", 400, "code must be a positive integer"),
        ("/v1/companies/1028", 400, "actorNr must be 5 digits"),
        ("/v1/medicines/chapter-iv/4/1", 400, "chapter must be a Roman numeral"),
        ("/v1/medicines?limit=0", 400, "limit must be an integer from 1 to 100"),
        ("/v1/medicines?limit=101", 400, "limit must be an integer from 1 to 100"),
        ("/v1/medicines?cursor=bm90LWEtY3Vyc29y", 400, "cursor is not one this API issued"),
        // [1,"\u0000","amp","x"]: a NUL byte PostgreSQL cannot take; and a lone surrogate.
        ("/v1/medicines?cursor=WzEsIlx1MDAwMCIsImFtcCIsIngiXQ", 400, "cursor is not one this API issued"),
        ("/v1/medicines?atc=n05", 400, "atc must be an ATC code"),
        ("/v1/medicines?company=ACME", 400, "company must be 5 digits"),
        ("/v1/nothing-here", 404, "No route matches"),
    ])
    func clientMistakesAreProblems(uri: String, status: Int, detail: String) async throws {
        try await APITest.with(importing: []) { api, _ in
            let response = try await api.get(uri)
            #expect(response.status.code == status)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.json["status"].number == Double(status))
            #expect(response.json["detail"].string?.contains(detail) == true, "\(response.json)")
            #expect(response.json["type"].string?.hasPrefix("https://") == true)
        }
    }

    @Test func wrongMethodAndOversizedTargetAreProblems() async throws {
        try await APITest.with(importing: []) { api, _ in
            let post = try await api.request("/v1/medicines/cnk/0046128", method: .post, body: "{}")
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.contentType] == "application/problem+json")
            let long = try await api.get("/v1/medicines?q=" + String(repeating: "a", count: 5000))
            #expect(long.status == .uriTooLong)
            let longQuery = try await api.get("/v1/medicines?q=" + String(repeating: "a", count: 300))
            #expect(longQuery.status == .badRequest)
            // A forged cursor with a lone surrogate ([1,"\ud800\u0041","amp","x"]) is read, not a crash.
            let surrogate = try await api.get("/v1/medicines?cursor=WzEsIlx1ZDgwMFx1MDA0MSIsImFtcCIsIngiXQ")
            #expect(surrogate.status == .ok)
        }
    }

    @Test func healthMetricsAndOpenAPI() async throws {
        try await GeneratedLookupTests.withExport { api, postgres in
            #expect(try await api.get("/health/live").status == .ok)
            let ready = try await api.get("/health/ready")
            #expect(ready.status == .ok)
            #expect(ready.json["migrations"].string == "current")
            _ = try await api.get("/v1/medicines/cnk/0000001")
            #expect(try await api.get("/metrics").status == .unauthorized, "metrics need a token on the API port")
            let (_, token) = try await ClientRepository(client: postgres, logger: TestDatabase.logger).create(
                name: "prometheus", scopes: [.metricsRead])
            let metrics = String(
                decoding: try await api.get("/metrics", headers: [.authorization: "Bearer \(token.text)"]).body,
                as: UTF8.self)
            #expect(metrics.contains("http_server_request_duration_bucket"))
            #expect(metrics.contains("http_route=\"/v1/medicines/cnk/{cnk}\""))
            #expect(metrics.contains("registry_import_runs_total{domain=\"sam\",outcome=\"applied\"} 1"))
            let openapi = try await api.get("/openapi.json").json
            #expect(openapi["openapi"].string?.hasPrefix("3.") == true)
            #expect(openapi["paths"]["/v1/medicines/cnk/{cnk}"]["get"].exists)
        }
    }

    @Test func readinessFailsWhileMigrationsArePending() async throws {
        try await APITest.with(importing: []) { api, postgres in
            try await postgres.execute(
                "DELETE FROM schema_migration WHERE version = (SELECT max(version) FROM schema_migration)",
                logger: TestDatabase.logger)
            let ready = try await api.get("/health/ready")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["detail"].string?.contains("registry migrate") == true)
        }
    }
}
