import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryStore
import SAMReaders
import SharedSamples
import Testing

/// Imports the real SAM fragments of ../shared into PostgreSQL (skipped where ../shared is absent).
@Suite(
    .enabled(if: SharedSamples.available, "../shared/reference/samv2-samples is not present"), .timeLimit(.minutes(5)))
struct RealFragmentImportTests {
    @Test func haldolPricesPerEnvironmentAndDate() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        let path = "\(dir)/AMP-real.xml"
        try SharedSamples.haldolExport().write(toFile: path, atomically: true, encoding: .utf8)
        try await TestDatabase.with { client, _ in
            let summary = try await SAMImportPipeline(client: client, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [path]))
            #expect(summary.outcome == .applied)
            #expect(summary.sourceId == "SAM-REAL-FRAGMENT")
            #expect(summary.counts["dmpp"]?.created == 3)
            /// The price of a DMPP on a day, read straight from the stored slices.
            func price(_ key: String, on day: String) async throws -> String? {
                let rows = try await client.query(
                    """
                    SELECT s -> 'fields' ->> 'Price' FROM sam_entity, jsonb_array_elements(document -> 'slices') s
                    WHERE entity_type = 'dmpp' AND entity_key = \(key)
                      AND (s ->> 'from')::date <= \(day)::date AND coalesce((s ->> 'to')::date, 'infinity') >= \(day)::date
                    """, logger: TestDatabase.logger)
                for try await value in rows.decode(String?.self) { return value }
                return nil
            }
            #expect(try await price("P|CNK|0046128", on: "2022-01-01") == "7.8700")
            #expect(try await price("P|CNK|0046128", on: "2020-05-31") == "7.8800")
            #expect(try await price("A|CNK|0708289", on: "2019-01-01") == "0.5400")
            #expect(try await price("A|CNK|0708289", on: "2026-01-01") == "0.6380")
            #expect(try await price("H|CNK|0708289", on: "2026-01-01") == "0.5240")
            let parent: String = try await client.scalar(
                "SELECT parent_key FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = 'H|CNK|0708289'")
            #expect(parent.hasPrefix("000025-"))
            let company: String = try await client.scalar(
                "SELECT document -> 'slices' -> 0 -> 'fields' -> 'Company' ->> '@actorNr' FROM sam_entity WHERE entity_type = 'amp' AND entity_key = 'SAM000025-00'"
            )
            #expect(company == "01028")
            // Partial import: the AMP file alone; its references to other files are warnings.
            let warnings: Int64 = try await client.scalar(
                "SELECT count(*) FROM import_finding WHERE run_id = \(summary.runId) AND rule = 'SAM-REF-AMP-VMP'")
            #expect(warnings == 1)
        }
    }

    /// Real names (accents, four languages, slices with and without end) staged while reading give
    /// the search index what the stored documents give; so does a name the SQL is left to read (a
    /// language element with an attribute).
    @Test func realNamesStagedWhileReadingMatchTheStoredDocuments() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        let path = "\(dir)/AMP-real.xml"
        let export = try SharedSamples.haldolExport()
        let first = try #require(export.range(of: "<PrescriptionName>"))
        let odd = export.replacingCharacters(in: first, with: "<PrescriptionName><ns2:De x=\"1\">Odd</ns2:De>")
        let oddPath = "\(dir)/AMP-odd.xml"
        try export.write(toFile: path, atomically: true, encoding: .utf8)
        try odd.write(toFile: oddPath, atomically: true, encoding: .utf8)
        for file in [path, oddPath] {
            try await TestDatabase.with { client, _ in
                let (imported, rebuilt) = try await SearchIndexTests.importedAndRebuilt([file], client: client)
                #expect(imported.contains("haldol"))
                #expect(imported == rebuilt)
            }
        }
    }
}
