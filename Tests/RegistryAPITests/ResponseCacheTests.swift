import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import HTTPTypes
import HummingbirdTesting
import RegistryAPI
import PostgresNIO
import RegistryStore
import SAMReaders
import Testing

/// The response cache serves repeated lookups without the database and forgets them when an
/// import commits (the import's NOTIFY reaches the server's listener).
@Suite(.timeLimit(.minutes(5)))
struct ResponseCacheTests {
    @Test func repeatedLookupsAreCachedUntilAnImportChangesTheData() async throws {
        let base = try generatedExport(seed: 33)
        let next = try TestDatabase.temporaryDirectory()
        let changes = try SAMExportGenerator.writeNextVersion(from: base, to: next, changes: 25, seed: 4)
        let priceChange = try #require(
            changes.first { $0.entityType == "dmpp" && $0.kind == "updated" && $0.entityKey.hasPrefix("P|CNK|") })
        let cnk = priceChange.entityKey.split(separator: "|")[2]
        try await APITest.with(importing: [base]) { api, postgres in
            let uri = "/v1/medicines/cnk/\(cnk)?history=true"
            let first = try await api.get(uri)
            #expect(first.status == .ok)
            var cached = try await api.get(uri)
            for _ in 0..<50 where cached.headers[.xCacheField] != "hit" {
                try await Task.sleep(for: .milliseconds(100))
                cached = try await api.get(uri)
            }
            #expect(cached.headers[.xCacheField] == "hit")
            #expect(cached.body == first.body)

            // A write that no import announced is not seen: the answer comes from the cache.
            try await postgres.execute(
                "UPDATE sam_entity SET document = jsonb_set(document, '{attributes,ProductId}', '\"unannounced\"') WHERE entity_type = 'dmpp' AND entity_key = \(priceChange.entityKey)",
                logger: TestDatabase.logger)
            #expect(try await api.get(uri).headers[.eTag] == first.headers[.eTag])

            // The delta import commits with its NOTIFY: the next answer is recomputed.
            _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [next]))
            var after = try await api.get(uri)
            for _ in 0..<50 where after.headers[.eTag] == first.headers[.eTag] {
                try await Task.sleep(for: .milliseconds(100))
                after = try await api.get(uri)
            }
            #expect(after.headers[.eTag] != first.headers[.eTag])
            #expect(after.headers[.xCacheField] == "miss")
            #expect(after.json["source"]["importRunId"].number != first.json["source"]["importRunId"].number)
        }
    }
}

extension HTTPField.Name {
    static let xCacheField = HTTPField.Name("X-Cache")!
}

/// Dependency-tracked invalidation: random deltas, and after each one every cached answer equals
/// the answer of a server without a cache, while most answers stay cached.
@Suite(.timeLimit(.minutes(8)))
struct PreciseInvalidationTests {
    /// Lookup and search URLs over a sample of every kind, plus every entity the deltas change.
    static func urls(_ postgres: PostgresClient, changed: [GeneratedChange]) async throws -> [String] {
        func keys(_ type: String, like: String = "%", limit: Int) async throws -> [String] {
            try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = \(type) AND entity_key LIKE \(like) ORDER BY md5(entity_key) LIMIT \(Int64(limit))"
            )
        }
        var urls: [String] = []
        let cnks =
            try await keys("dmpp", like: "P|CNK|%", limit: 60)
            + changed.filter { $0.entityType == "dmpp" && $0.entityKey.hasPrefix("P|CNK|") }.map(\.entityKey)
        urls += cnks.map { "/v1/medicines/cnk/\($0.split(separator: "|")[2])" }
        urls += cnks.prefix(10).map { "/v1/medicines/cnk/\($0.split(separator: "|")[2])?history=true" }
        let amps = try await keys("amp", limit: 30) + changed.filter { $0.entityType == "amp" }.map(\.entityKey)
        urls += amps.map { "/v1/medicines/amp/\($0)" }
        let ampps = try await keys("ampp", limit: 30) + changed.filter { $0.entityType == "ampp" }.map(\.entityKey)
        urls += ampps.map { "/v1/medicines/ampp/\($0)" }
        urls += try await keys("vmp", limit: 20).map { "/v1/medicines/vmp/\($0)" }
        urls += try await keys("vmp_group", limit: 20).map { "/v1/medicines/vmp-groups/\($0)" }
        urls += try await keys("company", limit: 10).map { "/v1/companies/\($0)" }
        urls += try await keys("paragraph", limit: 10).map { key in
            let parts = key.split(separator: "|")
            return "/v1/medicines/chapter-iv/\(parts[0])/\(parts[1])"
        }
        urls += ["/v1/medicines?q=a", "/v1/medicines?q=tab&limit=50", "/v1/medicines?q=0", "/v1/medicines?q=zz"]
        return Array(Set(urls)).sorted()
    }

    @Test func afterRandomDeltasEveryCachedAnswerEqualsAFreshOneAndMostStayCached() async throws {
        let base = try generatedExport(seed: 41)
        var deltas: [(path: String, changes: [GeneratedChange])] = []
        var previous = base
        // The generator renames companies first (every fifth change, until each was renamed once):
        // the first delta renames them all. SAM embeds the company in each of its AMPs, so a rename
        // rewrites every AMP of the company and the answers showing them; those evictions are
        // right (the equality check covers them), and precision is measured on the later deltas.
        for round in 0..<3 {
            let next = try TestDatabase.temporaryDirectory()
            let changes = try SAMExportGenerator.writeNextVersion(
                from: previous, to: next, changes: 30, seed: UInt64(200 + round))
            deltas.append((next, changes))
            previous = next
        }
        #expect(deltas[1...].allSatisfy { !$0.changes.contains { $0.entityType == "company" } })
        let rounds = deltas
        try await APITest.with(importing: [base]) { api, postgres in
            let fresh = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(logLevel: .warning, cacheBytes: 0),
                logger: TestDatabase.logger, runsClient: false)
            try await fresh.test(.router) { freshClient in
                let uncached = APIClient(client: freshClient)
                let urls = try await Self.urls(postgres, changed: rounds.flatMap(\.changes))
                #expect(urls.count > 150)
                for (round, delta) in rounds.enumerated() {
                    // Warm every answer (the cache starts serving once its listener is up; problems
                    // such as "not valid today" are not cached).
                    var answered: [String] = []
                    for url in urls where try await api.get(url).status == .ok { answered.append(url) }
                    var hits = 0
                    for url in answered where try await api.get(url).headers[.xCacheField] == "hit" { hits += 1 }
                    #expect(hits == answered.count, "round \(round): only \(hits) of \(answered.count) cached")
                    #expect(answered.count > 200)

                    let summary = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                        input: try SAMInput.resolve(paths: [delta.path]))
                    #expect(summary.outcome == .applied && summary.eventsEmitted > 0)
                    // The listener has handled the run once a cached answer names it as its source.
                    let probe =
                        "/v1/companies/"
                        + (try await postgres.strings(
                            "SELECT entity_key FROM sam_entity WHERE entity_type = 'company' ORDER BY entity_key LIMIT 1"
                        )[0])
                    var handled = false
                    for _ in 0..<100 {
                        let answer = try await api.get(probe)
                        if answer.json["source"]["importRunId"].number == Double(summary.runId) {
                            handled = true
                            break
                        }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(handled, "round \(round): the listener did not handle run \(summary.runId)")

                    var stillCached = 0
                    var survivors: [String] = []
                    for url in urls {
                        let cached = try await api.get(url)
                        let expected = try await uncached.get(url)
                        if cached.headers[.xCacheField] == "hit" { stillCached += 1 }
                        if cached.headers[.xCacheField] == "hit" { survivors.append(url) }
                        #expect(cached.status == expected.status, "round \(round) \(url)")
                        #expect(
                            cached.body == expected.body,
                            "round \(round) \(url) (\(cached.headers[.xCacheField] ?? "-")): stale answer")
                    }
                    // Precise: 30 changes leave most answers cached (the searches and what changed go).
                    let companyChanged = delta.changes.contains { $0.entityType == "company" }
                    #expect(
                        companyChanged || stillCached > answered.count * 3 / 4,
                        "round \(round): \(stillCached) of \(answered.count) survived: \(survivors.prefix(5))")
                }
            }
        }
    }
}
