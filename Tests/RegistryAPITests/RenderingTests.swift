import RegistryCore
import Testing

@testable import RegistryAPI
@testable import RegistryStore

/// Pure rendering and parsing logic of the API (no database, no HTTP).
struct RenderingTests {
    static func entity(_ slices: [(String?, String?, String)]) throws -> StoredSAMEntity {
        let items = slices.map { from, to, price in
            "{\"from\":\(from.map { "\"\($0)\"" } ?? "null"),\"to\":\(to.map { "\"\($0)\"" } ?? "null"),\"fields\":{\"Price\":\"\(price)\"}}"
        }
        let document = try JSONValue.parse(
            "{\"key\":{\"code\":\"0046128\"},\"attributes\":{},\"slices\":[\(items.joined(separator: ","))]}")
        return StoredSAMEntity(
            type: "dmpp", key: "P|CNK|0046128", parentType: nil, parentKey: nil, document: document, changedRunId: 1)
    }

    @Test func sliceAtDateIsInclusiveOfBothEndsAndIgnoresSourceOrder() throws {
        let entity = try Self.entity([
            ("2022-06-01", nil, "3"), ("2020-01-01", "2021-12-31", "1"), ("2022-01-01", "2022-05-31", "2"),
        ])
        func price(_ day: String) -> String? { entity.slice(at: LocalDate(iso: day)!)?.fields["Price"]?.stringValue }
        #expect(price("2019-12-31") == nil)
        #expect(price("2020-01-01") == "1")
        #expect(price("2021-12-31") == "1")
        #expect(price("2022-01-01") == "2")
        #expect(price("2022-05-31") == "2")
        #expect(price("2022-06-01") == "3")
        #expect(price("2999-01-01") == "3")
    }

    @Test func nearestPeriodIsTheClosestSliceToTheDay() throws {
        let entity = try Self.entity([("2020-01-01", "2020-01-31", "1"), ("2020-03-01", "2020-03-31", "2")])
        let before = entity.nearestPeriod(to: LocalDate(iso: "2019-06-01")!)
        #expect(before?.from == LocalDate(iso: "2020-01-01"))
        let betweenCloserToMarch = entity.nearestPeriod(to: LocalDate(iso: "2020-02-25")!)
        #expect(betweenCloserToMarch?.from == LocalDate(iso: "2020-03-01"))
        let betweenCloserToJanuary = entity.nearestPeriod(to: LocalDate(iso: "2020-02-03")!)
        #expect(betweenCloserToJanuary?.to == LocalDate(iso: "2020-01-31"))
    }

    @Test func sourceNamesBecomeLowerCamelCase() {
        #expect(EntityRenderer.apiName("ExFactoryPrice") == "exFactoryPrice")
        #expect(EntityRenderer.apiName("FMDInScope") == "fmdInScope")
        #expect(EntityRenderer.apiName("@actorNr") == "actorNr")
        #expect(EntityRenderer.apiName("#text") == "value")
        #expect(EntityRenderer.apiName("Fr") == "fr")
        #expect(EntityRenderer.apiName("CNK") == "cnk")
        #expect(EntityRenderer.apiName("PrescriptionNameFamhp") == "prescriptionNameFamhp")
        #expect(EntityRenderer.apiName("ÉtatCivil") == "étatCivil")
    }

    /// The byte-level fast path for ASCII names follows the same rule as the `Character` one.
    @Test func asciiNamesFollowTheCharacterRule() {
        var random = SplitMix64(state: 20)
        let alphabet = Array("AaBbZzQq09_-@#x")
        for length in 0..<12 {
            for _ in 0..<200 {
                let name = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
                #expect(EntityRenderer.asciiAPIName(name) == EntityRenderer.unicodeAPIName(name), "name \(name)")
            }
        }
        #expect(EntityRenderer.asciiAPIName("Épée") == nil)
    }

    @Test func nestedDataSlicesResolveAtTheDate() throws {
        let company = try JSONValue.parse(
            """
            {"Company":{"@actorNr":"01028","Data":[{"@from":"1960-01-01","@to":"2022-06-29","LegalForm":"NV"},
             {"@from":"2022-06-30","LegalForm":"S.A.-N.V."}]}}
            """)
        let early = EntityRenderer(at: LocalDate(iso: "2022-06-29")!, history: false, language: .fr)
        let late = EntityRenderer(at: LocalDate(iso: "2022-06-30")!, history: false, language: .fr)
        #expect(early.apiValue(company)["company"]?["data"]?["legalForm"]?.stringValue == "NV")
        #expect(late.apiValue(company)["company"]?["data"]?["legalForm"]?.stringValue == "S.A.-N.V.")
        let all = EntityRenderer(at: LocalDate(iso: "2022-06-30")!, history: true, language: .fr)
        guard case .array(let slices) = all.apiValue(company)["company"]?["data"] ?? .null else {
            Issue.record("history keeps every nested slice as an array")
            return
        }
        #expect(slices.count == 2)
    }

    @Test func displayNameFollowsTheRequestedLanguageThenFallsBack() throws {
        let fields = try JSONValue.parse("{\"Name\":{\"Fr\":\"Nom\",\"Nl\":\"Naam\"}}")
        let at = LocalDate(iso: "2026-01-01")!
        #expect(
            EntityRenderer(at: at, history: false, language: .nl).display(type: "amp", fields: fields)?["name"]?
                .stringValue == "Naam")
        let german = EntityRenderer(at: at, history: false, language: .de).display(type: "amp", fields: fields)
        #expect(german?["name"]?.stringValue == "Nom")
        #expect(german?["language"]?.stringValue == "fr")
    }

    @Test func ifNoneMatchAndAcceptEncodingParsing() {
        #expect(JSONResponse.matches("\"a\", \"b\"", tag: "\"b\""))
        #expect(JSONResponse.matches("W/\"b\"", tag: "\"b\""))
        #expect(JSONResponse.matches("*", tag: "\"b\""))
        #expect(!JSONResponse.matches("\"a\"", tag: "\"b\""))
        #expect(JSONResponse.acceptsGzip("gzip, deflate"))
        #expect(JSONResponse.acceptsGzip("br;q=1.0, gzip;q=0.5"))
        #expect(!JSONResponse.acceptsGzip("gzip;q=0"))
        #expect(!JSONResponse.acceptsGzip("br"))
        #expect(!JSONResponse.acceptsGzip(nil))
    }
}

/// The search statement without the similar-names tier must not mention trigrams at all.
struct SearchStatementTests {
    @Test func statementWithoutSimilarNamesHasNoTrigramBranch() {
        let without = SAMSearchQueries.Statement.sql(similar: false)
        let with = SAMSearchQueries.Statement.sql(similar: true)
        #expect(with.contains("<%"))
        #expect(!without.contains("<%"))
        #expect(!without.contains("(SELECT 2,"))
        #expect(with.contains("(SELECT 2,"))
        #expect(without.contains("e.name_norm >= $13"))
    }
}

/// Distances and scores in search hits: fixed decimals like `%.Nf`, without `String(format:)`.
struct FixedDecimalTests {
    @Test func fixedDecimalsAgreeWithPrintfAwayFromExactHalves() {
        var mix = SplitMix64(state: 42)
        var compared = 0
        for _ in 0..<20_000 {
            let value = Double(mix.next() % 300_000_000) / 1_000_000 * (mix.next() % 5 == 0 ? -1 : 1)
            for decimals in [3, 4] {
                let printf = String(format: "%.\(decimals)f", value)
                // Skip values within a hair of a rounding half, where `%.Nf` sees the exact binary value.
                var scale = 1.0
                for _ in 0..<decimals { scale *= 10 }
                let fraction = abs(value) * scale - (abs(value) * scale).rounded(.down)
                guard abs(fraction - 0.5) > 1e-6 else { continue }
                #expect(ProviderRendering.fixed(value, decimals: decimals) == printf, "\(value)")
                compared += 1
            }
        }
        #expect(compared > 39_000)
        #expect(ProviderRendering.fixed(0, decimals: 3) == "0.000")
        #expect(ProviderRendering.fixed(-0.0001, decimals: 3) == "0.000")
        #expect(ProviderRendering.fixed(12.3456, decimals: 3) == "12.346")
        #expect(ProviderRendering.fixed(3, decimals: 4) == "3.0000")
    }
}
