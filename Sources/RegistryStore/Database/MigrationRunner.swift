import Crypto
import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// One plain SQL migration file, `NNNN_name.sql`, shipped as a resource of this module.
package struct Migration: Sendable, Hashable {
    package let version: Int
    package let name: String
    package let sql: String

    package var checksum: String {
        hexString(SHA256.hash(data: Data(sql.utf8)))
    }
}

/// Applies SQL migrations in order and records what ran in `schema_migration`.
///
/// History and code must agree: an applied migration whose name or checksum differs from the
/// file of the same version, or an applied version the code does not know, stops everything.
package struct MigrationRunner: Sendable {
    package let migrations: [Migration]

    package init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations bundled with this build.
    package static func bundled() throws -> MigrationRunner {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw DatabaseError.migrationsDiverged("the Migrations resource folder is missing from the build")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
        let migrations = try files.map { file -> Migration in
            let stem = String(file.dropLast(4))
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw DatabaseError.migrationsDiverged("migration file '\(file)' is not named NNNN_name.sql")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
        }
        return MigrationRunner(migrations: migrations)
    }

    static let historyTable: StaticString = """
        CREATE TABLE IF NOT EXISTS schema_migration (
            version    integer PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    /// The migrations not applied yet; throws when history and code disagree.
    /// Only reads, so a server on a hot standby can check the schema it reads from.
    package func pending(on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        let exists = try await connection.query(
            "SELECT to_regclass('schema_migration') IS NOT NULL", logger: logger)
        var hasHistory = false
        for try await value in exists.decode(Bool.self) { hasHistory = value }
        guard hasHistory else { return migrations }
        var applied: [(Int, String, String)] = []
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM schema_migration ORDER BY version", logger: logger)
        for try await row in rows.decode((Int, String, String).self) { applied.append(row) }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, name, checksum) in applied {
            guard let migration = known[version] else {
                throw DatabaseError.migrationsDiverged(
                    "the database has migration \(version) (\(name)) that this build does not know; is the build older than the database?"
                )
            }
            guard migration.name == name, migration.checksum == checksum else {
                throw DatabaseError.migrationsDiverged(
                    "migration \(version) was applied as '\(name)' (\(checksum.prefix(12))) but the code has '\(migration.name)' (\(migration.checksum.prefix(12))); migrations must never be edited once applied"
                )
            }
        }
        let appliedVersions = Set(applied.map(\.0))
        let pending = migrations.filter { !appliedVersions.contains($0.version) }
        if let firstPending = pending.first, let lastApplied = appliedVersions.max(), firstPending.version < lastApplied
        {
            throw DatabaseError.migrationsDiverged(
                "migration \(firstPending.version) (\(firstPending.name)) is older than the applied \(lastApplied) but was never applied"
            )
        }
        return pending
    }

    /// Applies every pending migration, each in its own transaction, under an advisory lock.
    @discardableResult
    package func apply(client: PostgresClient, dryRun: Bool, logger: Logger) async throws -> [Migration] {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(7220001)", logger: logger)
            do {
                try await connection.executeScript(MigrationRunner.historyTable)
                let pending = try await self.pending(on: connection, logger: logger)
                if !dryRun {
                    for migration in pending {
                        try await connection.executeScript("BEGIN")
                        do {
                            try await connection.executeUnsafeScript(migration.sql, logger: logger)
                            try await connection.query(
                                "INSERT INTO schema_migration (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                                logger: logger)
                            try await connection.executeScript("COMMIT")
                        } catch {
                            try? await connection.executeScript("ROLLBACK")
                            throw error
                        }
                        logger.info(
                            "applied migration", metadata: ["migration": "\(migration.version)_\(migration.name)"])
                    }
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(7220001)", logger: logger)
                return pending
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(7220001)", logger: logger)
                throw error
            }
        }
    }
}
