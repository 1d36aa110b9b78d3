import DatabaseTestSupport
import Foundation
import Logging
import PostgresNIO
import RegistryStore
import Testing

/// How the registry reaches PostgreSQL: libpq's `sslmode` semantics over real TLS, and the
/// embedded cluster's password authentication.
@Suite(.timeLimit(.minutes(5)), .serialized)
struct DatabaseTransportTests {
    @Test func urlsFollowLibpqParametersAndRefuseWhatTheyCannotHonour() throws {
        let plain = try DatabaseURL(parsing: "postgres://u:p@db.example:6432/reg")
        #expect(plain.sslMode == .prefer, "libpq's default")
        for mode in DatabaseURL.SSLMode.allCases {
            let url = try DatabaseURL(parsing: "postgres://u@h/d?sslmode=\(mode.rawValue)")
            #expect(url.sslMode == mode)
            #expect(try DatabaseURL(parsing: url.urlString).sslMode == mode, "urlString keeps the mode")
        }
        #expect(throws: DatabaseError.self) { try DatabaseURL(parsing: "postgres://u@h/d?sslmode=verify") }
        #expect(throws: DatabaseError.self) { try DatabaseURL(parsing: "postgres://u@h/d?sslcompression=1") }
        #expect(throws: DatabaseError.self) {
            try DatabaseURL(parsing: "postgres://u@h/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
        }
        let garbage = try TestDatabase.temporaryDirectory() + "/garbage.pem"
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: DatabaseError.self) {
            try DatabaseURL(parsing: "postgres://u@h/d?sslmode=verify-full&sslrootcert=\(garbage)")
        }
        let password = try DatabaseURL(parsing: "postgres://u:p%40ss@h/d")
        #expect(password.password == "p@ss")
        #expect(try DatabaseURL(parsing: password.urlString).password == "p@ss")
    }

    @Test func theEmbeddedClusterNeedsItsGeneratedPassword() async throws {
        let server = try TestDatabase.server.get()
        #expect(server.password?.utf8.count == 64)
        var anonymous = server
        anonymous.password = nil
        await #expect(throws: (any Error).self) {
            try await withPostgresConnection(anonymous, logger: TestDatabase.logger) { _ in }
        }
        var wrong = server
        wrong.password = String(repeating: "0", count: 64)
        await #expect(throws: (any Error).self) {
            try await withPostgresConnection(wrong, logger: TestDatabase.logger) { _ in }
        }
        try await withPostgresConnection(server, logger: TestDatabase.logger) { _ in }
        // The password file is the owner's alone.
        let file = TestDatabase.packageRoot.appendingPathComponent(".registry-test/db-password").path
        if ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] == nil {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    /// A cluster of its own with TLS on: a CA, and a server certificate for `localhost` only.
    @Test func sslModesConnectAndVerifyAsLibpqDoes() async throws {
        let base = URL(fileURLWithPath: try TestDatabase.temporaryDirectory()).appendingPathComponent("tls-cluster")
        let port = (54420...54480).first { EmbeddedPostgres.isPortFree($0) } ?? 54420
        let embedded = EmbeddedPostgres(baseDirectory: base, port: port)
        try embedded.start()
        defer {
            try? embedded.stop()
            try? FileManager.default.removeItem(at: embedded.clusterDirectory)
        }
        let tls = embedded.clusterDirectory.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
        /// openssl in the cluster's tls folder, awaited off the cooperative pool.
        func openssl(_ arguments: [String]) async throws {
            let finished = try await ChildProcess.run(
                "/usr/bin/env", ["-C", tls.path, "/usr/bin/openssl"] + arguments)
            #expect(finished.status == 0, "openssl \(arguments.joined(separator: " ")): \(finished.errorText)")
        }
        try await openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=registry test CA",
            "-keyout", "ca.key", "-out", "ca.pem",
        ])
        try await openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out",
            "server.csr",
        ])
        try Data("subjectAltName=DNS:localhost\n".utf8).write(to: tls.appendingPathComponent("san.ext"))
        try await openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "server.pem",
        ])
        chmod(tls.appendingPathComponent("server.key").path, 0o600)
        if geteuid() == 0 {
            _ = try await ChildProcess.run("/bin/chown", ["-R", "postgres:postgres", tls.path])
        }
        var admin = embedded.url
        admin.sslMode = .disable
        try await withPostgresConnection(admin, logger: TestDatabase.logger) { connection in
            for statement in [
                "ALTER SYSTEM SET ssl_cert_file = '\(tls.path)/server.pem'",
                "ALTER SYSTEM SET ssl_key_file = '\(tls.path)/server.key'", "ALTER SYSTEM SET ssl = on",
                "SELECT pg_reload_conf()",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let ca = tls.appendingPathComponent("ca.pem").path

        /// Whether `url` connects, and then whether the session is encrypted (pg_stat_ssl).
        func encrypted(_ host: String, _ query: String) async throws -> Bool? {
            var url = try DatabaseURL(parsing: "postgres://registry@\(host):\(port)/registry?\(query)")
            url.password = embedded.password
            do {
                return try await withPostgresConnection(url, logger: TestDatabase.logger) { connection in
                    let rows = try await connection.query(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: TestDatabase.logger)
                    for try await ssl in rows.decode(Bool.self) { return ssl }
                    return false
                }
            } catch {
                return nil
            }
        }
        #expect(try await encrypted("127.0.0.1", "sslmode=disable") == false)
        #expect(try await encrypted("127.0.0.1", "sslmode=prefer") == true)
        #expect(try await encrypted("127.0.0.1", "sslmode=require") == true, "require does not check the certificate")
        #expect(try await encrypted("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(ca)") == true)
        #expect(try await encrypted("localhost", "sslmode=verify-full&sslrootcert=\(ca)") == true)
        #expect(
            try await encrypted("127.0.0.1", "sslmode=verify-full&sslrootcert=\(ca)") == nil,
            "the certificate does not name 127.0.0.1")
        #expect(
            try await encrypted("127.0.0.1", "sslmode=verify-ca") == nil, "the test CA is not in the system's roots")
        #expect(
            try await encrypted("127.0.0.1", "sslmode=require&sslrootcert=\(ca)") == true,
            "require with a root certificate verifies the chain (libpq)")
        // The same through the pool the server uses.
        var pooled = try DatabaseURL(
            parsing: "postgres://registry@localhost:\(port)/registry?sslmode=verify-full&sslrootcert=\(ca)")
        pooled.password = embedded.password
        let ssl = try await withPostgresClient(pooled, logger: TestDatabase.logger) { client in
            try await client.strings("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        }
        #expect(ssl == ["true"])
    }
}
