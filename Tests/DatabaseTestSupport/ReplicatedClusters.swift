import Foundation
import Logging
import PostgresNIO
import RegistryStore

/// A primary and a hot standby of it (`pg_basebackup -R`, streaming replication), each a real
/// embedded cluster of its own in a temporary folder: a test may pause, lag or stop the standby
/// without touching the suite's shared server.
package struct ReplicatedClusters: Sendable {
    package let primary: EmbeddedPostgres
    package let standby: EmbeddedPostgres
    let folder: URL

    package var primaryURL: DatabaseURL { primary.url }
    package var standbyURL: DatabaseURL { standby.url }

    /// Starts both (the primary migrated), runs `body`, then stops and removes them.
    package static func with<T: Sendable>(_ body: @Sendable (ReplicatedClusters) async throws -> T) async throws -> T {
        let folder = URL(fileURLWithPath: try TestDatabase.temporaryDirectory())
        let primaryPort = freePort()
        let clusters = ReplicatedClusters(
            primary: EmbeddedPostgres(baseDirectory: folder.appendingPathComponent("primary"), port: primaryPort),
            standby: EmbeddedPostgres(
                baseDirectory: folder.appendingPathComponent("standby"), port: freePort(except: primaryPort)),
            folder: folder)
        defer {
            clusters.stop()
            clusters.remove()
        }
        try clusters.primary.start()
        try await withPostgresClient(clusters.primaryURL, logger: TestDatabase.logger) { client in
            try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: TestDatabase.logger)
        }
        try clusters.standby.startStandby(of: clusters.primary)
        return try await body(clusters)
    }

    /// A port nothing listens on (a random one, so parallel tests rarely pick the same).
    static func freePort(except taken: Int = 0) -> Int {
        (40000..<50000).shuffled().first { $0 != taken && EmbeddedPostgres.isPortFree($0) } ?? 45432
    }

    func stop() {
        try? standby.stop()
        try? primary.stop()
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
        for cluster in [primary, standby] where cluster.clusterDirectory != cluster.baseDirectory {
            try? FileManager.default.removeItem(at: cluster.clusterDirectory)
        }
    }

    /// Runs SQL on the standby (e.g. `pg_wal_replay_pause()`).
    package func onStandby(_ sql: PostgresQuery) async throws {
        try await withPostgresClient(standbyURL, logger: TestDatabase.logger) { client in
            _ = try await client.query(sql, logger: TestDatabase.logger)
        }
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    package func waitForReplay(timeout: Duration = .seconds(30)) async throws {
        let target = try await withPostgresClient(primaryURL, logger: TestDatabase.logger) { client in
            try await client.scalar("SELECT pg_current_wal_lsn()::text", as: String.self)
        }
        try await withPostgresClient(standbyURL, logger: TestDatabase.logger) { client in
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let behind = try await client.scalar(
                    "SELECT pg_wal_lsn_diff(\(target)::pg_lsn, pg_last_wal_replay_lsn()) > 0", as: Bool.self)
                if !behind { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw ReplayTimeout()
        }
    }

    struct ReplayTimeout: Error, CustomStringConvertible {
        var description: String { "the standby did not replay the primary's WAL in time" }
    }
}
