import DatabaseTestSupport
import Foundation
import RegistryImport
import HTTPTypes
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryStore
import Synchronization
import Testing

/// Providers and the practice search through the real router, on imported fixtures.
@Suite(.timeLimit(.minutes(5)))
struct ProviderAPITests {
    static let centre = (latitude: 50.8466, longitude: 4.3528)  // Brussels, Grand-Place

    /// Great-circle distance in km on a sphere of mean radius, written out here (not the registry's).
    static func haversine(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let r = 6371.0
        let dLat = (b.0 - a.0) * .pi / 180
        let dLon = (b.1 - a.1) * .pi / 180
        let h =
            sin(dLat / 2) * sin(dLat / 2) + cos(a.0 * .pi / 180) * cos(b.0 * .pi / 180) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * r * asin(sqrt(h))
    }

    /// One practice per person at increasing distances east of the centre, plus twelve nurse
    /// practices of Marie close by, and one closed practice of Jan.
    static func practices() -> [ProviderFixture.Practice] {
        var list: [ProviderFixture.Practice] = []
        for (index, person) in ProviderFixture.people.enumerated() {
            list.append(
                .init(
                    id: "P\(index)", nihii: person.nihii, postcode: "1000", latitude: centre.latitude,
                    longitude: centre.longitude + 0.01 * Double(index + 1)))
        }
        for n in 0..<12 {
            list.append(
                .init(
                    id: "N\(String(format: "%02d", n))", nihii: ProviderFixture.people[1].nihii, postcode: "1000",
                    latitude: centre.latitude + 0.001 * Double(n), longitude: centre.longitude))
        }
        var closed = ProviderFixture.Practice(
            id: "OLD", nihii: ProviderFixture.people[0].nihii, postcode: "1000", latitude: centre.latitude,
            longitude: centre.longitude)
        closed.validTo = "2019-12-31"
        list.append(closed)
        return list
    }

    /// Where searches are answered: PostgreSQL, or the in-memory snapshot (waited for after the
    /// imports, so every search of the test is answered from it).
    enum SearchEngine: String, CaseIterable, Sendable { case database, memory }

    static func withProviders(
        engine: SearchEngine = .database, _ body: @Sendable (APIClient, PostgresClient) async throws -> Void
    ) async throws {
        let folder = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let register = try ProviderFixture.folder(["practices.csv": ProviderFixture.practicesCSV(practices())])
        try await TestDatabase.with { postgres, _ in
            let search = RegistryApplication.practiceSearchService(
                client: postgres, enabled: engine == .memory, logger: TestDatabase.logger)
            let app = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(logLevel: .warning), logger: TestDatabase.logger,
                runsClient: false, practiceSearch: search)
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: folder)
                let summary = try await PracticeImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                    path: register)
                #expect(summary.counts["practice"]?.created == 19)
                if engine == .memory {
                    let marker = try await PracticeSearchSnapshot.currentMarker(
                        client: postgres, logger: TestDatabase.logger)
                    let deadline = ContinuousClock.now + .seconds(30)
                    while search.currentSnapshot?.marker != marker, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(search.currentSnapshot?.count == 19, "the snapshot of both imports is loaded")
                } else {
                    #expect(search.currentSnapshot == nil)
                }
                try await body(api, postgres)
            }
        }
    }

    static func ids(_ response: APIResponse) -> [String] {
        response.json["items"].array.compactMap { $0["practice"]["id"].string }
    }

    static func lastNames(_ response: APIResponse) -> [String] {
        response.json["items"].array.compactMap { $0["professional"]["lastName"].string }
    }

    @Test func aProviderIsFoundByNIHIIWithoutPersonalData() async throws {
        try await Self.withProviders { api, _ in
            let jan = ProviderFixture.people[0]
            let response = try await api.get("/v1/providers/\(jan.nihii)")
            #expect(response.status == .ok)
            let body = String(decoding: response.body, as: UTF8.self)
            #expect(!body.contains(jan.ssin))
            #expect(!body.contains(jan.birth))
            #expect(!response.json["ssin"].exists && !response.json["birthDate"].exists)
            #expect(response.json["lastName"].string == "Van de Casteele")
            #expect(response.json["professions"][0]["nihii"].string == jan.nihii)
            #expect(response.json["professions"][0]["label"]["nl"].string == "arts")
            #expect(response.json["professions"][0]["specialities"][0]["code"].string == "persgeneralphysician")
            // Practices valid today only; the closed one appears when asked for 2018.
            #expect(response.json["practices"].array.compactMap { $0["id"].string } == ["P0"])
            let old = try await api.get("/v1/providers/\(jan.nihii)?at=2018-06-01")
            #expect(Set(old.json["practices"].array.compactMap { $0["id"].string }) == ["P0", "OLD"])
            // The public id answers the same.
            let id = try #require(response.json["id"].string)
            #expect(try await api.get("/v1/providers/\(id)").json["lastName"].string == "Van de Casteele")

            #expect(try await api.get("/v1/providers/10000199999").status == .notFound)
            #expect(try await api.get("/v1/providers/123").status == .badRequest)
            #expect(try await api.get("/v1/providers/\(jan.nihii)?at=yesterday").status == .badRequest)
        }
    }

    @Test func theSSINLookupNeedsTheSensitiveScopeAndIsAudited() async throws {
        try await Self.withProviders { api, postgres in
            let jan = ProviderFixture.people[0]
            let clients = ClientRepository(client: postgres, logger: TestDatabase.logger)
            let (_, plain) = try await clients.create(name: "portal", scopes: [.subscriptionsManage])
            let (sensitiveClient, sensitive) = try await clients.create(name: "hr", scopes: [.providersSensitive])
            func bearer(_ token: AccessToken) -> HTTPFields { [.authorization: "Bearer \(token.text)"] }

            let anonymous = try await api.get("/v1/providers?ssin=\(jan.ssin)")
            #expect(anonymous.status == .unauthorized)
            #expect(!String(decoding: anonymous.body, as: UTF8.self).contains("Van de Casteele"))
            let wrongScope = try await api.get("/v1/providers?ssin=\(jan.ssin)", headers: bearer(plain))
            #expect(wrongScope.status == .forbidden)

            let allowed = try await api.get("/v1/providers?ssin=\(jan.ssin)", headers: bearer(sensitive))
            #expect(allowed.status == .ok)
            #expect(allowed.json["ssin"].string == jan.ssin)
            #expect(allowed.json["birthDate"].string == jan.birth)
            #expect(allowed.headers[.cacheControl] == "private, no-store")
            #expect(
                try await api.get("/v1/providers?ssin=12345678901", headers: bearer(sensitive)).status == .badRequest)

            let audit = try await postgres.strings(
                """
                SELECT coalesce(client_id, '-') || ' ' || action || ' ' || outcome || ' ' || coalesce(status::text, '') || ' ' || coalesce(target, '')
                FROM audit_entry WHERE action = 'provider.read-sensitive' ORDER BY id
                """)
            #expect(audit.count == 3)
            #expect(
                audit.last
                    == "\(sensitiveClient.id) provider.read-sensitive succeeded 200 \(allowed.json["id"].string!)")
            #expect(audit.contains { $0.hasSuffix("refused 401 /v1/providers") })
            #expect(!audit.joined().contains(jan.ssin))
        }
    }

    @Test(arguments: SearchEngine.allCases) func namesMatchWhateverTheParticlesAccentsAndCaseAndExactSpellingRanksFirst(
        engine: SearchEngine
    ) async throws {
        try await Self.withProviders(engine: engine) { api, _ in
            for query in ["Vandecasteele", "Van%20De%20Casteele", "vande%20casteele", "VAN%20DE%20CASTEELE"] {
                let found = Self.lastNames(try await api.get("/v1/practices?name=\(query)&profession=persphysician"))
                #expect(found == ["Van de Casteele"], "query \(query)")
                let all = Set(Self.lastNames(try await api.get("/v1/practices?name=\(query)")))
                #expect(all == ["Van de Casteele", "Vandecasteele"], "query \(query)")
            }
            let deSmet = Self.lastNames(try await api.get("/v1/practices?name=De%20Smet"))
            #expect(deSmet.first == "De Smet")
            #expect(deSmet.contains("Desmet"))
            let desmet = Self.lastNames(try await api.get("/v1/practices?name=Desmet"))
            #expect(desmet.first == "Desmet")
            #expect(desmet.contains("De Smet"))
            // Accents folded, and a typo still finds the name.
            #expect(Self.lastNames(try await api.get("/v1/practices?name=lefevre")).first == "Lefèvre")
            #expect(Self.lastNames(try await api.get("/v1/practices?name=Vandecastele")).contains("Vandecasteele"))
            // First and last name together.
            #expect(Self.lastNames(try await api.get("/v1/practices?name=Pieter%20De%20Smet")).first == "De Smet")
        }
    }

    @Test(arguments: SearchEngine.allCases) func radiusResultsAreSortedByDistanceAndAgreeWithIndependentDistances(
        engine: SearchEngine
    ) async throws {
        try await Self.withProviders(engine: engine) { api, _ in
            let expected = Self.practices().filter { $0.validTo.isEmpty }.map {
                (
                    id: $0.id,
                    km: Self.haversine((Self.centre.latitude, Self.centre.longitude), ($0.latitude, $0.longitude))
                )
            }
            let radius = 2.5
            let response = try await api.get(
                "/v1/practices?near=\(Self.centre.latitude),\(Self.centre.longitude)&radius_km=\(radius)&limit=100")
            #expect(response.json["sort"].string == "distance")
            let hits = response.json["items"].array
            let inside = expected.filter { $0.km <= radius }
            #expect(Set(hits.compactMap { $0["practice"]["id"].string }) == Set(inside.map(\.id)))
            #expect(inside.count < expected.count)
            var previous = -1.0
            for hit in hits {
                let id = hit["practice"]["id"].string!
                let km = hit["distanceKm"].number!
                let independent = expected.first { $0.id == id }!.km
                #expect(abs(km - independent) <= max(0.005, independent * 0.005), "\(id): \(km) vs \(independent)")
                #expect(km >= previous)
                previous = km
            }
            // A postcode stands for its centroid.
            #expect(try await api.get("/v1/practices?near=1000&radius_km=50").json["items"].array.count == 18)
        }
    }

    @Test(arguments: SearchEngine.allCases) func filtersApplyBeforeTheLimitAndTheCursorVisitsEveryHitOnce(
        engine: SearchEngine
    ) async throws {
        try await Self.withProviders(engine: engine) { api, _ in
            // Twelve nurse practices are nearer than any dentist: the dentist must still be found.
            let dentist = try await api.get(
                "/v1/practices?near=\(Self.centre.latitude),\(Self.centre.longitude)&profession=persdentist&limit=1")
            #expect(Self.lastNames(dentist) == ["Desmedt"])
            #expect(dentist.json["total"]["value"].number == 1)
            let qualified = try await api.get("/v1/practices?qualification=perscardiologist&limit=1")
            #expect(Self.lastNames(qualified) == ["De Smet"])
            #expect(try await api.get("/v1/practices?language=de").json["items"].array.isEmpty)

            var seen: [String] = []
            var uri: String? = "/v1/practices?near=1000&radius_km=20&limit=5"
            var pages = 0
            while let next = uri {
                let page = try await api.get(next)
                #expect(page.status == .ok)
                #expect(page.json["total"]["value"].number == 18)
                seen += Self.ids(page)
                uri = page.json["next"].string
                pages += 1
            }
            #expect(pages == 4)
            #expect(seen.count == 18 && Set(seen).count == 18)

            var byName: [String] = []
            uri = "/v1/practices?name=casteele&limit=4"
            while let next = uri {
                let page = try await api.get(next)
                byName += Self.ids(page)
                uri = page.json["next"].string
            }
            #expect(byName.count == Set(byName).count)
            #expect(Set(byName) == Set(["P0", "P1"] + (0..<12).map { "N\(String(format: "%02d", $0))" }))

            // Name and place together: the same hits, each with its distance.
            var nearby: [String] = []
            uri = "/v1/practices?name=casteele&near=1000&radius_km=20&limit=4"
            while let next = uri {
                let page = try await api.get(next)
                #expect(page.json["items"].array.allSatisfy { $0["distanceKm"].number != nil })
                nearby += Self.ids(page)
                uri = page.json["next"].string
            }
            #expect(nearby.count == Set(nearby).count)
            #expect(Set(nearby) == Set(byName))
            let deSmetNearby = try await api.get("/v1/practices?name=De%20Smet&near=1000&radius_km=20")
            #expect(Self.lastNames(deSmetNearby).first == "De Smet")
            #expect(deSmetNearby.json["sort"].string == "relevance")

            // A cursor from one search is refused by another.
            let first = try await api.get("/v1/practices?near=1000&radius_km=20&limit=5")
            let cursor = try #require(first.json["next"].string?.components(separatedBy: "cursor=").last)
            #expect(
                try await api.get("/v1/practices?near=1000&radius_km=30&limit=5&cursor=\(cursor)").status == .badRequest
            )
            #expect(try await api.get("/v1/practices?cursor=garbage").status == .badRequest)
        }
    }

    @Test func fullWebhookPayloadsAreTheLookupAnswersWithEveryPeriod() async throws {
        try await Self.withProviders { api, postgres in
            let source = LookupEntitySource(client: postgres, logger: TestDatabase.logger)
            let jan = try await api.get("/v1/providers/\(ProviderFixture.people[0].nihii)")
            let id = try #require(jan.json["id"].string)
            for href in ["/v1/providers/\(id)", "/v1/practices/P0", "/v1/institutions/nihii:71000436"] {
                let payload = try #require(try await source.entity(href: href), "\(href)")
                let lookup = try await api.get(href + (href.hasPrefix("/v1/providers") ? "?history=true" : ""))
                #expect(lookup.status == .ok)
                #expect(JSON(bytes: payload.canonicalBytes).description == lookup.json.description, "\(href)")
            }
            // The payload of a professional spans every period: the closed practice is in it.
            let payload = try #require(try await source.entity(href: "/v1/providers/\(id)"))
            #expect(
                JSON(bytes: payload.canonicalBytes)["practices"].array.compactMap { $0["id"].string }.contains("OLD"))
            #expect(!payload.canonicalText.contains(ProviderFixture.people[0].ssin))
            #expect(try await source.entity(href: "/v1/practices/NOPE") == nil)
        }
    }

    /// Requests every URI from a memory-engine server and a database-engine server (response
    /// caches off), following each answer's next page; expects the same status 200 and the same
    /// bytes from both. Returns the pages compared and the database answers.
    static func compareEngines(
        _ uris: [String], next: @escaping @Sendable (APIResponse) -> String?
    ) async throws -> (pages: Int, answers: [APIResponse]) {
        let compared = Mutex((pages: 0, answers: [APIResponse]()))
        try await withProviders(engine: .memory) { memory, postgres in
            let app = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(logLevel: .warning, cacheBytes: 0),
                logger: TestDatabase.logger, runsClient: false,
                practiceSearch: RegistryApplication.practiceSearchService(
                    client: postgres, enabled: false, logger: TestDatabase.logger))
            try await app.test(.router) { client in
                let database = APIClient(client: client)
                for first in uris {
                    var uri: String? = first
                    while let page = uri {
                        let fromMemory = try await memory.get(page)
                        let fromDatabase = try await database.get(page)
                        let memoryBody = String(decoding: fromMemory.body, as: UTF8.self)
                        #expect(fromMemory.status == .ok && fromDatabase.status == .ok, "\(page): \(memoryBody)")
                        #expect(memoryBody == String(decoding: fromDatabase.body, as: UTF8.self), "\(page)")
                        compared.withLock {
                            $0.pages += 1
                            $0.answers.append(fromDatabase)
                        }
                        uri = next(fromDatabase)
                    }
                }
            }
        }
        return compared.withLock { $0 }
    }

    /// The in-memory search and PostgreSQL give the same bytes (hits, order, distances, scores,
    /// totals, next links) for searches of every kind, page after page.
    @Test func bothEnginesAnswerEverySearchWithTheSameBytes() async throws {
        let searches = [
            "name=casteele&limit=3", "name=De%20Smet", "name=desmet&profession=persphysician", "name=lefevre",
            "name=Vandecastele&limit=2", "name=Pieter%20De%20Smet", "near=1000&radius_km=20&limit=4",
            "near=50.8466,4.3528&radius_km=2.5&limit=100", "near=1000&profession=persdentist&limit=1",
            "name=casteele&near=1000&radius_km=20&limit=4", "name=smet&near=1000&sort=distance&limit=2",
            "qualification=perscardiologist", "language=fr&limit=5", "postcode=1000&limit=7",
            "limit=6", "at=2019-06-01&limit=5", "name=zzzz",
        ]
        let compared = try await Self.compareEngines(searches.map { "/v1/practices?\($0)" }) {
            $0.json["next"].string
        }
        #expect(compared.pages > searches.count + 5)
    }

    /// FHIR `Location?near` searches answered from the in-memory snapshot are those PostgreSQL
    /// answers, byte for byte, page after page (with a postcode, `_count=0`, nothing in reach).
    @Test func fhirNearSearchesFromMemoryAreThoseOfPostgreSQL() async throws {
        let centre = "\(Self.centre.latitude)%7C\(Self.centre.longitude)"
        let searches = [
            "near=\(centre)%7C20%7Ckm&_count=3", "near=\(centre)%7C1500%7Cm&_count=2",
            "near=\(centre)%7C50%7Ckm&address-postalcode=1000&_count=2", "near=\(centre)%7C50%7Ckm&_count=0",
            "near=50.5%7C5.5%7C1%7Ckm", "near=\(centre)%7C5%7Ckm&_count=1", "near=\(centre)%7C50%7Ckm&_total=accurate",
        ]
        let compared = try await Self.compareEngines(searches.map { "/fhir/Location?\($0)" }) {
            $0.json["link"].array.first { $0["relation"].string == "next" }?["url"].string
                .map { String($0[$0.range(of: "/fhir/")!.lowerBound...]) }
        }
        #expect(compared.pages > searches.count + 5)
        #expect(compared.answers.map { $0.json["entry"].array.count }.reduce(0, +) > 20)
    }

    /// A near search the snapshot could answer is still checked first: a bad `_total` is a 400.
    @Test func fhirNearSearchesFromMemoryRefuseBadParameters() async throws {
        try await Self.withProviders(engine: .memory) { memory, _ in
            let centre = "\(Self.centre.latitude)%7C\(Self.centre.longitude)"
            let good = try await memory.get("/fhir/Location?near=\(centre)%7C20%7Ckm")
            #expect(good.status == .ok && !good.json["entry"].array.isEmpty)
            let response = try await memory.get("/fhir/Location?near=\(centre)%7C20%7Ckm&_total=sometimes")
            #expect(response.status == .badRequest)
            #expect(response.json["resourceType"].string == "OperationOutcome")
            #expect(response.json["issue"][0]["expression"][0].string == "_total")
        }
    }

    @Test func malformedSearchesAreProblemsNamingTheParameter() async throws {
        try await Self.withProviders { api, _ in
            for (query, parameter) in [
                ("near=91,4", "near"), ("near=abc", "near"), ("radius_km=5", "radius_km"),
                ("near=1000&radius_km=0", "radius_km"), ("near=1000&radius_km=999", "radius_km"),
                ("sort=distance", "sort"), ("sort=relevance", "sort"), ("sort=name", "sort"), ("limit=0", "limit"),
                ("limit=101", "limit"), ("name=a", "name"), ("profession=doctor", "profession"),
                ("language=french", "language"), ("postcode=10000", "postcode"), ("at=2026-13-01", "at"),
                ("colour=blue", "colour"),
            ] {
                let response = try await api.get("/v1/practices?\(query)")
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.json["parameter"].string == parameter, "\(query)")
            }
            #expect(try await api.get("/v1/practices/P0").json["professional"]["lastName"].string == "Van de Casteele")
            #expect(try await api.get("/v1/practices/NOPE").status == .notFound)
        }
    }
}
