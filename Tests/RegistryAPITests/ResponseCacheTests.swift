import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import HTTPTypes
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
