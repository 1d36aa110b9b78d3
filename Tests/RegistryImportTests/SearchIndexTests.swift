import DatabaseTestSupport
import Foundation
import TestDataGenerators
import Logging
import PostgresNIO
import SAMReaders
import Testing

@testable import RegistryImport
import RegistryStore

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

    /// A first import builds its index on a second connection into a new table, swapped in at
    /// commit (its rows equal a build from the stored documents: the test above); the swapped-in
    /// table has the migration's indexes under their names, and statistics; the staging and the
    /// new table's scratch name are gone; a later import refreshes the table in place.
    @Test func firstImportSwapsInTheIndexBuiltBesideTheApply() async throws {
        let base = try generatedExport(seed: 47)
        try await TestDatabase.with { client, _ in
            let indexesSQL: PostgresQuery = """
                SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes
                WHERE schemaname = current_schema() AND tablename = 'sam_search_entry'
                """
            let tableSQL: PostgresQuery = "SELECT 'sam_search_entry'::regclass::oid::bigint"
            let leftoversSQL: PostgresQuery = """
                SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'sam_search_entry_next%')
                     + (SELECT count(*) FROM sam_stage_entity) + (SELECT count(*) FROM sam_stage_rejected)
                     + (SELECT count(*) FROM sam_stage_ref)
                """
            let indexesBefore: String = try await client.scalar(indexesSQL)
            let tableBefore: Int64 = try await client.scalar(tableSQL)
            let pipeline = SAMImportPipeline(client: client, logger: TestDatabase.logger)

            let first = try await pipeline.run(input: try SAMInput.resolve(paths: [base]))
            #expect(first.phases.map(\.0).contains("search index wait+swap"))
            let tableAfterFirst: Int64 = try await client.scalar(tableSQL)
            #expect(tableAfterFirst != tableBefore, "a new table took the index's name")
            #expect(try await client.scalar(indexesSQL) == indexesBefore)
            let statistics: Int64 = try await client.scalar(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'sam_search_entry' AND attname = 'entity_type'")
            #expect(statistics == 1)
            let rows: Int64 = try await client.scalar("SELECT count(*) FROM sam_search_entry")
            #expect(rows > 100)
            #expect(try await client.scalar(leftoversSQL) == Int64(0))

            let again = try await pipeline.run(input: try SAMInput.resolve(paths: [base]))
            #expect(!again.phases.map(\.0).contains("search index wait+swap"))
            #expect(try await client.scalar(tableSQL) == tableAfterFirst)
            #expect(try await client.scalar(leftoversSQL) == Int64(0))
        }
    }

    /// A view of the index (a reporting view of a user's, say) keeps the empty table from being
    /// dropped: the first import then builds the index in place, and the view sees it.
    @Test func firstImportBuildsTheIndexInPlaceWhenTheTableCannotBeSwapped() async throws {
        let base = try generatedExport(seed: 48)
        try await TestDatabase.with { client, _ in
            try await client.withConnection { connection in
                try await connection.executeScript("CREATE VIEW search_names AS SELECT name FROM sam_search_entry")
            }
            let pipeline = SAMImportPipeline(client: client, logger: TestDatabase.logger)
            let first = try await pipeline.run(input: try SAMInput.resolve(paths: [base]))
            #expect(first.outcome == .applied)
            #expect(first.phases.map(\.0).contains("search index"))
            let viewed: Int64 = try await client.scalar("SELECT count(*) FROM search_names")
            #expect(viewed > 100)
            let leftovers: Int64 = try await client.scalar(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'sam_search_entry_next%'")
            #expect(leftovers == 0)
        }
    }

    /// The build beside the import creates the migration's indexes under other names, on the new
    /// table, from the catalog's definitions.
    @Test func indexDefinitionsAreRenamedOntoTheNewTable() throws {
        #expect(
            try SAMSearchIndex.definition(
                "CREATE INDEX sam_search_trigram ON public.sam_search_entry USING gin (name_norm gin_trgm_ops)",
                renamed: "sam_search_trigram_next", on: "sam_search_entry_next")
                == #"CREATE INDEX "sam_search_trigram_next" ON sam_search_entry_next USING gin (name_norm gin_trgm_ops)"#
        )
        #expect(
            try SAMSearchIndex.definition(
                "CREATE UNIQUE INDEX k ON public.sam_search_entry USING btree (entity_key) WHERE (amp_code IS NULL)",
                renamed: "k_next", on: "sam_search_entry_next")
                == #"CREATE UNIQUE INDEX "k_next" ON sam_search_entry_next USING btree (entity_key) WHERE (amp_code IS NULL)"#
        )
        #expect(throws: SearchIndexDefinitionUnreadable.self) {
            try SAMSearchIndex.definition("CREATE INDEX k ON sam_search_entry", renamed: "k_next", on: "t")
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
