import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryStore
import Testing

@Suite(.timeLimit(.minutes(5)))
struct MigrationTests {
    let logger = TestDatabase.logger

    func divergence(_ client: PostgresClient) async -> String? {
        do {
            _ = try await client.withConnection { connection in
                try await MigrationRunner.bundled().pending(on: connection, logger: logger)
            }
            return nil
        } catch let error as DatabaseError {
            guard case .migrationsDiverged(let why) = error else { return "unexpected \(error)" }
            return why
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func appliedMigrationsAreRecordedAndNothingIsPendingAfterwards() async throws {
        try await TestDatabase.with { client, _ in
            let runner = try MigrationRunner.bundled()
            let recorded: Int64 = try await client.scalar("SELECT count(*) FROM schema_migration")
            #expect(recorded == Int64(runner.migrations.count))
            #expect(try await runner.apply(client: client, dryRun: false, logger: logger).isEmpty)
            let extensions: Int64 = try await client.scalar(
                "SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'unaccent', 'cube', 'earthdistance')")
            #expect(extensions == 4)
        }
    }

    @Test func editedMigrationStopsEverything() async throws {
        try await TestDatabase.with { client, _ in
            try await client.query("UPDATE schema_migration SET checksum = 'edited' WHERE version = 2", logger: logger)
            let why = try #require(await divergence(client))
            #expect(why.contains("migration 2") && why.contains("never be edited"))
        }
    }

    @Test func unknownAppliedMigrationStopsEverything() async throws {
        try await TestDatabase.with { client, _ in
            try await client.query(
                "INSERT INTO schema_migration (version, name, checksum) VALUES (9999, 'from_the_future', 'x')",
                logger: logger)
            let why = try #require(await divergence(client))
            #expect(why.contains("9999") && why.contains("does not know"))
        }
    }

    @Test func dryRunListsWithoutApplying() async throws {
        try await TestDatabase.with { client, _ in
            let latest = try #require(try MigrationRunner.bundled().migrations.last).version
            try await client.query("DELETE FROM schema_migration WHERE version = \(latest)", logger: logger)
            let pending = try await MigrationRunner.bundled().apply(client: client, dryRun: true, logger: logger)
            #expect(pending.map(\.version) == [latest])
            let recorded: Int64 = try await client.scalar(
                "SELECT count(*) FROM schema_migration WHERE version = \(latest)")
            #expect(recorded == 0)
        }
    }
}
