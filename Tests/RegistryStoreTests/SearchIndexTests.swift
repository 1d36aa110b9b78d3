import DatabaseTestSupport
import Foundation
import Logging
import PostgresNIO
import SAMImporter
import Testing

@testable import RegistryStore

/// The search index kept up to date import by import equals the one built from scratch.
@Suite(.timeLimit(.minutes(5)))
struct SearchIndexTests {
    static let snapshotSQL: PostgresQuery = """
        SELECT coalesce(string_agg(concat_ws(' ', entity_type, entity_key, amp_code, name, name_norm, langs::text,
               valid::text, codes::text, atc::text, ingredients::text, companies::text, vmp_groups::text, envs::text),
               E'\\n' ORDER BY entity_type, entity_key, name_norm), '')
        FROM sam_search_entry
        """

    /// The index as the import left it, then rebuilt from the stored documents alone.
    static func importedAndRebuilt(_ paths: [String], client: PostgresClient) async throws -> (String, String) {
        let pipeline = SAMImportPipeline(client: client, logger: TestDatabase.logger)
        let summary = try await pipeline.run(input: try SAMInput.resolve(paths: paths))
        #expect(summary.outcome == .applied)
        let imported: String = try await client.scalar(snapshotSQL)
        try await client.withConnection { connection in
            try await connection.executeScript("BEGIN")
            try await connection.executeScript("TRUNCATE sam_search_entry")
            try await SAMSearchIndex(logger: TestDatabase.logger).refresh(connection: connection)
            try await connection.executeScript("COMMIT")
        }
        return (imported, try await client.scalar(snapshotSQL))
    }

    @Test func namesStagedWhileReadingGiveTheIndexTheStoredDocumentsGive() async throws {
        let base = try generatedExport(seed: 45)
        try await TestDatabase.with { client, _ in
            let (imported, rebuilt) = try await Self.importedAndRebuilt([base], client: client)
            let staged: Int64 = try await client.scalar(
                "SELECT count(*) FROM sam_search_entry WHERE entity_type IN ('amp', 'ampp', 'vmp')")
            #expect(staged > 100)
            #expect(imported == rebuilt)
        }
    }

    /// Names with quotes, backslashes, commas, braces and tabs reach PostgreSQL as written.
    @Test func textArrayLiteralsRoundTripThroughPostgreSQL() async throws {
        let elements: [String?] = ["Fr", nil, #"a "quoted", {braced} \ name"#, "tab\there", "", "NULL", "é ü"]
        try await TestDatabase.with { client, _ in
            let literal = PostgresText.array(elements)
            let rows = try await client.query(
                "SELECT unnest(\(literal)::text[])", logger: TestDatabase.logger)
            var back: [String?] = []
            for try await value in rows.decode(String?.self) { back.append(value) }
            #expect(back == elements)
        }
    }

    @Test func incrementalRefreshAfterADeltaEqualsAFullBuild() async throws {
        let base = try generatedExport(seed: 44)
        let next = try TestDatabase.temporaryDirectory()
        let changes = try SAMExportGenerator.writeNextVersion(from: base, to: next, changes: 40, seed: 6)
        #expect(changes.contains { $0.entityType == "ampp" && $0.kind == "created" })
        try await TestDatabase.with { client, _ in
            let pipeline = SAMImportPipeline(client: client, logger: TestDatabase.logger)
            _ = try await pipeline.run(input: try SAMInput.resolve(paths: [base]))
            let afterBase: String = try await client.scalar(Self.snapshotSQL)
            let statistics: Int64 = try await client.scalar(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'sam_search_entry' AND attname = 'entity_type'")
            #expect(statistics == 1, "a full build leaves the index with statistics for the next delta's plans")
            _ = try await pipeline.run(input: try SAMInput.resolve(paths: [next]))
            let incremental: String = try await client.scalar(Self.snapshotSQL)
            #expect(incremental != afterBase, "the delta changed names or facts")
            try await client.withConnection { connection in
                try await connection.executeScript("BEGIN")
                try await connection.executeScript("TRUNCATE sam_search_entry")
                try await SAMSearchIndex(logger: TestDatabase.logger).refresh(connection: connection)
                try await connection.executeScript("COMMIT")
            }
            let rebuilt: String = try await client.scalar(Self.snapshotSQL)
            #expect(rebuilt == incremental)
            let indexes: Int64 = try await client.scalar(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'sam_search_entry'")
            #expect(indexes == 5, "a full build puts back every index it dropped")
            // A new AMPP of the delta is found by its CTI-extended code.
            let created = try #require(changes.first { $0.entityType == "ampp" && $0.kind == "created" })
            let found: Int64 = try await client.scalar(
                "SELECT count(*) FROM sam_search_entry WHERE entity_type = 'ampp' AND codes @> ARRAY[\(created.entityKey)]"
            )
            #expect(found > 0)
        }
    }
}
