import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import PostgresNIO
import ProviderReaders
import RegistryCore
import RegistryStore
import Testing

/// The in-memory practice search against the PostgreSQL one (`ProviderQueries.search`), which is
/// the reference: on a generated register, hundreds of random searches (names with typos and
/// variants, codes, places, every sort, cursors page after page) must give the same hits in the
/// same order with the same scores, distances, totals and cursor values.
@Suite(.timeLimit(.minutes(5)))
struct PracticeSearchSnapshotTests {
    /// A deterministic generator for the searches.
    struct Random {
        var mix: SplitMix64
        mutating func next() -> UInt64 { mix.next() }
        mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }
        mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    }

    /// Variants a user types: as written, lower case, one letter dropped, two swapped, a prefix,
    /// given and family name, without spaces.
    static func variant(_ name: String, given: String?, _ random: inout Random) -> String {
        var letters = Array(name)
        switch random.int(0..<7) {
        case 0: return name
        case 1: return name.lowercased()
        case 2:
            if letters.count > 3 { letters.remove(at: random.int(1..<letters.count)) }
            return String(letters)
        case 3:
            if letters.count > 3 {
                let i = random.int(0..<(letters.count - 1))
                letters.swapAt(i, i + 1)
            }
            return String(letters)
        case 4: return String(letters.prefix(max(3, letters.count / 2)))
        case 5: return "\(given ?? "") \(name)"
        default: return name.replacingOccurrences(of: " ", with: "").uppercased()
        }
    }

    struct Vocabulary {
        var names: [(family: String, given: String?)] = []
        var professions: [String] = []
        var qualifications: [String] = []
        var postcodes: [String] = []
        var places: [(Double, Double)] = []
    }

    static func vocabulary(_ postgres: PostgresClient) async throws -> Vocabulary {
        var v = Vocabulary()
        let rows = try await postgres.query(
            """
            SELECT family_name, given_name FROM practice_search WHERE family_name IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2
            """, logger: TestDatabase.logger)
        for try await (family, given) in rows.decode((String, String?).self) { v.names.append((family, given)) }
        v.professions = try await postgres.strings(
            "SELECT DISTINCT profession FROM practice_search WHERE profession IS NOT NULL ORDER BY 1")
        v.qualifications = try await postgres.strings(
            "SELECT DISTINCT unnest(qualifications) FROM practice_search ORDER BY 1")
        v.postcodes = try await postgres.strings("SELECT DISTINCT postcode FROM practice_search ORDER BY 1")
        let places = try await postgres.query(
            "SELECT latitude, longitude FROM practice_search WHERE latitude IS NOT NULL ORDER BY practice_key",
            logger: TestDatabase.logger)
        for try await place in places.decode((Double, Double).self) { v.places.append(place) }
        return v
    }

    static func randomQuery(_ v: Vocabulary, _ random: inout Random) -> PracticeSearchQuery {
        let at = random.chance(80) ? LocalDate(iso: "2026-11-27")! : LocalDate(iso: "2012-06-01")!
        let hasName = random.chance(60)
        let hasPlace = random.chance(50)
        var sort: PracticeSearchQuery.Sort = hasName ? .relevance : hasPlace ? .distance : .name
        if hasName && hasPlace && random.chance(40) { sort = .distance }
        var query = PracticeSearchQuery(at: at, sort: sort, limit: random.pick([1, 3, 5, 20, 50]))
        if hasName {
            let name = random.pick(v.names)
            query.name = variant(name.family, given: name.given, &random)
        }
        if random.chance(hasName ? 25 : 50) { query.profession = random.pick(v.professions) }
        if random.chance(10), !v.qualifications.isEmpty { query.qualification = random.pick(v.qualifications) }
        if random.chance(15) { query.language = random.pick(["nl", "fr", "de", "en"]) }
        if random.chance(hasPlace ? 5 : 25) { query.postcode = random.pick(v.postcodes) }
        if hasPlace {
            let place = random.pick(v.places)
            query.near = random.chance(50) ? place : (place.0 + 0.05, place.1 - 0.07)
            query.radiusMetres = Double(random.pick([2, 5, 10, 30, 80])) * 1000
        }
        return query
    }

    static func describe(_ q: PracticeSearchQuery) -> String {
        "name=\(q.name ?? "-") profession=\(q.profession ?? "-") qualification=\(q.qualification ?? "-") "
            + "language=\(q.language ?? "-") postcode=\(q.postcode ?? "-") near=\(q.near.map { "\($0.0),\($0.1)" } ?? "-") "
            + "radius=\(q.radiusMetres ?? 0) sort=\(q.sort) limit=\(q.limit) at=\(q.at)"
    }

    /// A renderer for the test: every field a hit carries, in canonical JSON.
    @Sendable static func render(_ hit: PracticeSearchHit) -> [UInt8] {
        JSONValue.object([
            "practice": hit.practice, "key": .string(hit.practiceKey),
            "professional": hit.professionalId.map(JSONValue.string) ?? .null,
            "family": hit.familyName.map(JSONValue.string) ?? .null,
            "given": hit.givenName.map(JSONValue.string) ?? .null,
            "profession": hit.profession.map(JSONValue.string) ?? .null,
            "qualifications": .array(hit.qualifications.sorted().map(JSONValue.string)),
        ]).canonicalBytes
    }

    /// A resource renderer for the test: every field a practice hands to it, in canonical JSON.
    @Sendable static func renderPractice(_ practice: FHIRActorQueries.Practice) -> [UInt8] {
        JSONValue.object([
            "key": .string(practice.key), "document": practice.document,
            "professional": practice.professionalId.map(JSONValue.string) ?? .null,
            "profession": practice.profession.map(JSONValue.string) ?? .null,
            "institution": practice.institutionKey.map(JSONValue.string) ?? .null,
            "from": practice.validFrom.map { .string($0.description) } ?? .null,
            "to": practice.validTo.map { .string($0.description) } ?? .null, "changed": .string(practice.changedAt),
        ]).canonicalBytes
    }

    /// What two answers must share, hit by hit.
    static func summary(_ result: PracticeSearchResult) -> [String] {
        ["total \(result.total) \(result.totalIsExact) more \(result.hasMore)"]
            + result.hits.map { hit in
                [
                    hit.practiceKey, hit.sortValue, hit.score.map { "\($0)" } ?? "-",
                    hit.distanceMetres.map { String(format: "%.6f", $0) } ?? "-", hit.professionalId ?? "-",
                    hit.familyName ?? "-", hit.givenName ?? "-", hit.profession ?? "-",
                    hit.qualifications.sorted().joined(separator: ","),
                    String(decoding: hit.rendered ?? render(hit), as: UTF8.self),
                ].joined(separator: " ")
            }
    }

    /// A generated CoBRHA snapshot and practice register, imported.
    static func importGenerated(scale: Double, seed: UInt64, into postgres: PostgresClient) async throws {
        let folder = try TestDatabase.temporaryDirectory()
        _ = try CoBRHAGenerator(scale: scale, seed: seed).write(to: URL(fileURLWithPath: folder))
        _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: folder)
        _ = try await PracticeImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: folder)
    }

    /// A generated register imported into a fresh database, and its snapshot loaded.
    static func withGeneratedSnapshot(
        scale: Double, seed: UInt64, _ body: @Sendable (PostgresClient, PracticeSearchSnapshot) async throws -> Void
    ) async throws {
        try await TestDatabase.with { postgres, _ in
            try await importGenerated(scale: scale, seed: seed, into: postgres)
            try await body(
                postgres,
                try await PracticeSearchSnapshot.load(
                    client: postgres, logger: TestDatabase.logger, render: render, renderResource: renderPractice))
        }
    }

    @Test func theInMemorySearchAnswersExactlyWhatPostgreSQLAnswers() async throws {
        try await TestDatabase.with { postgres, _ in
            try await Self.importGenerated(scale: 0.004, seed: 7, into: postgres)
            let reader = ProviderQueries(client: postgres, logger: TestDatabase.logger)
            let snapshot = try await PracticeSearchSnapshot.load(
                client: postgres, logger: TestDatabase.logger, render: Self.render)
            let practices = try await postgres.scalar("SELECT count(*) FROM practice_search", as: Int64.self)
            #expect(snapshot.count == Int(practices) && practices > 2000)
            #expect(
                snapshot.marker
                    == (try await PracticeSearchSnapshot.currentMarker(client: postgres, logger: TestDatabase.logger)))

            let vocabulary = try await Self.vocabulary(postgres)
            var random = Random(mix: SplitMix64(state: 20_261_128))
            var compared = 0
            var nonEmpty = 0
            var pagesFollowed = 0
            for _ in 0..<400 {
                var query = Self.randomQuery(vocabulary, &random)
                // Up to four pages, each engine following the cursor the database gave.
                for _ in 0..<4 {
                    let expected = try await reader.search(query)
                    let folded: (exact: String, key: String)? =
                        if let name = query.name { try await reader.fold(name) } else { nil }
                    let actual = snapshot.search(query, folded: folded)
                    #expect(Self.summary(actual) == Self.summary(expected), "\(Self.describe(query))")
                    compared += 1
                    if !expected.hits.isEmpty { nonEmpty += 1 }
                    guard expected.hasMore, let last = expected.hits.last else { break }
                    query.after = (last.sortValue, last.practiceKey)
                    pagesFollowed += 1
                }
            }
            // The searches exercised something: most found practices, many had further pages.
            #expect(nonEmpty > compared / 2, "\(nonEmpty) of \(compared) searches found practices")
            #expect(pagesFollowed > 50)
        }
    }

    /// FHIR's `near` search from memory (``PracticeSearchSnapshot/nearest``) finds the practices
    /// PostgreSQL's KNN search finds (``FHIRActorQueries/practices``), in its order, page for page,
    /// with the same fields: random centres, radii, professions, postcodes, dates and offsets.
    @Test func theNearestPracticesAreThoseOfTheFHIRNearSearchInPostgreSQL() async throws {
        try await Self.withGeneratedSnapshot(scale: 0.004, seed: 11) { postgres, snapshot in
            let reader = FHIRActorQueries(client: postgres, logger: TestDatabase.logger)
            let vocabulary = try await Self.vocabulary(postgres)
            var random = Random(mix: SplitMix64(state: 20_261_129))
            var nonEmpty = 0
            var withMore = 0
            for _ in 0..<150 {
                let at = random.chance(80) ? LocalDate(iso: "2026-11-27")! : LocalDate(iso: "2012-06-01")!
                var filter = FHIRActorQueries.Filter(at: at)
                let place = random.pick(vocabulary.places)
                let centre = random.chance(50) ? place : (place.0 + 0.05, place.1 - 0.07)
                filter.near = (centre.0, centre.1, Double(random.pick([500, 2000, 5000, 20000, 80000])))
                if random.chance(40) { filter.profession = random.pick(vocabulary.professions) }
                if random.chance(10) { filter.postcode = random.pick(vocabulary.postcodes) }
                let offset = random.pick([0, 0, 3, 20])
                let limit = random.pick([0, 1, 5, 20])
                let expected = try await reader.practices(filter, offset: offset, limit: limit, countTotal: false)
                let actual = snapshot.nearest(
                    to: (centre.0, centre.1), radius: filter.near!.metres, profession: filter.profession,
                    postcode: filter.postcode, at: at, offset: offset, limit: limit)
                let described =
                    "near \(centre) \(filter.near!.metres) m \(filter.profession ?? "-") \(filter.postcode ?? "-") \(at) offset \(offset) limit \(limit)"
                #expect(actual.hasMore == expected.hasMore, "\(described)")
                #expect(actual.hits.map(\.key) == expected.practices.map(\.key), "\(described)")
                // Document, professional, profession, institution, validity and last change: what
                // the loader gave the renderer is what PostgreSQL's search reads.
                for (hit, practice) in zip(actual.hits, expected.practices) {
                    #expect(
                        String(decoding: hit.resource, as: UTF8.self)
                            == String(decoding: Self.renderPractice(practice), as: UTF8.self), "\(hit.key)")
                }
                if !expected.practices.isEmpty { nonEmpty += 1 }
                if expected.hasMore { withMore += 1 }
            }
            #expect(nonEmpty > 30, "\(nonEmpty) of 150 searches found practices")
            #expect(withMore > 30, "\(withMore) of 150 searches had a further page")
        }
    }

    @Test func namesFoldInSwiftAsPostgreSQLFoldsThem() async throws {
        try await Self.withGeneratedSnapshot(scale: 0.002, seed: 3) { postgres, snapshot in
            let reader = ProviderQueries(client: postgres, logger: TestDatabase.logger)
            let generated = try await postgres.strings(
                "SELECT DISTINCT n FROM practice_search, LATERAL (VALUES (family_name), (given_name)) v(n) WHERE n IS NOT NULL"
            )
            let written = [
                "Van de Casteele", "  Lefèvre  ", "ÉMILIE   D'HOOGHE", "Müller-Lüdenscheidt", "Ørsted", "Œuvray",
                "Straße", "Ægidius", "Łukasz Żółć", "Dvořák", "İlkay", "ﬁnck", "Noël ¼", "O'Neill", "José María",
                "Çelik", "Ðorđe", "Þór", "Ĳsselstein",
            ]
            var folded = 0
            for name in generated + written {
                let byPostgres = try await reader.fold(name)
                if let bySwift = snapshot.folding.fold(name) {
                    #expect(bySwift.exact == byPostgres.exact && bySwift.key == byPostgres.key, "\(name)")
                    folded += 1
                }
            }
            // Every generated name (Belgian names with accents) folds without PostgreSQL.
            #expect(folded >= generated.count)
            // Whitespace PostgreSQL treats differently is left to it; so is anything past the BMP.
            #expect(snapshot.folding.fold("Jan\tPeeters") == nil)
            #expect(snapshot.folding.fold("Peeters 𝔸") == nil)
        }
    }
}
