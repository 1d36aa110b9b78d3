import Foundation
import TestDataGenerators
import Logging
import PostgresNIO
import RegistryStore
import SAMReaders

/// Gives each test its own fresh, migrated database on a real PostgreSQL server.
///
/// The server is `TEST_DATABASE_URL` when set (ops/test.sh sets it); otherwise an embedded
/// cluster under `.registry-test/` of the package is started once for the test process.
package enum TestDatabase {
    package static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    package static let server: Result<DatabaseURL, any Error> = {
        if let text = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !text.isEmpty {
            return Result { try DatabaseURL(parsing: text) }
        }
        let base = packageRoot.appendingPathComponent(".registry-test")
        return Result {
            // Reuse the cluster when it is up (its port is line 4 of postmaster.pid), else take a free port.
            var port = (54339...54400).first { EmbeddedPostgres.isPortFree($0) } ?? 54339
            let pidFile = EmbeddedPostgres(baseDirectory: base).dataDirectory.appendingPathComponent("postmaster.pid")
            if let pid = try? String(contentsOf: pidFile, encoding: .utf8) {
                let lines = pid.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count > 3, let running = Int(lines[3]) { port = running }
            }
            let embedded = EmbeddedPostgres(baseDirectory: base, port: port)
            try embedded.start()
            return embedded.url.with(database: "postgres")
        }
    }()

    package static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    /// Creates a database, migrates it, runs `body` with a running client, and drops the database.
    package static func with<T: Sendable>(_ body: @Sendable (PostgresClient, DatabaseURL) async throws -> T)
        async throws
        -> T
    {
        let server = try server.get()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await withPostgresClient(server, logger: logger) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: String(name))", logger: logger)
        }
        let url = server.with(database: String(name))
        do {
            let result = try await withPostgresClient(url, logger: logger) { client in
                try await MigrationRunner.bundled().apply(client: client, dryRun: false, logger: logger)
                return try await reportingStall("the test body of database \(name)", after: .seconds(150)) {
                    try await body(client, url)
                }
            }
            try await drop(String(name), on: server)
            return result
        } catch {
            try? await drop(String(name), on: server)
            throw error
        }
    }

    package static func drop(_ name: String, on server: DatabaseURL) async throws {
        try await withPostgresClient(server, logger: logger) { admin in
            try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
        }
    }

    package static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }
}

extension PostgresClient {
    /// A text dump of the data tables an import may change, to prove a refused run changed nothing.
    package func dataFingerprint() async throws -> String {
        var parts: [String] = []
        for sql: PostgresQuery in [
            "SELECT coalesce(string_agg(entity_type || ' ' || entity_key || ' ' || content_hash || ' ' || md5(document::text) || ' ' || coalesce(changed_run_id, 0), E'\\n' ORDER BY entity_type, entity_key), '') FROM sam_entity",
            "SELECT coalesce(string_agg(seq || ' ' || type || ' ' || entity_key, E'\\n' ORDER BY seq), '') FROM change_event",
            "SELECT last_seq::text FROM change_event_counter",
            "SELECT count(*)::text FROM sam_entity_history",
        ] {
            let rows = try await query(sql, logger: TestDatabase.logger)
            for try await value in rows.decode(String.self) { parts.append(value) }
        }
        return parts.joined(separator: "\n--\n")
    }

    package func scalar<T: PostgresDecodable & Sendable>(_ sql: PostgresQuery, as: T.Type = T.self) async throws -> T {
        let rows = try await query(sql, logger: TestDatabase.logger)
        for try await value in rows.decode(T.self) { return value }
        throw PostgresScalarMissing()
    }
}

package struct PostgresScalarMissing: Error {
    package init() {}
}

/// Writes a generated export (base, or with change sets) into a fresh folder.
package func generatedExport(seed: UInt64 = 11, scale: Double = 0.004, zip: Bool = false) throws -> String {
    let dir = try TestDatabase.temporaryDirectory()
    try SAMExportGenerator(config: SAMGeneratorConfig(seed: seed, scale: scale)).write(to: dir, zip: zip)
    return dir
}

extension PostgresClient {
    /// Text values of one column, in the order the query returns them.
    package func strings(_ sql: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await value in try await query(sql, logger: TestDatabase.logger).decode(String.self) {
            values.append(value)
        }
        return values
    }
}
