import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `registry serve` as a process: it refuses pending migrations, answers over real HTTP, and stops
/// cleanly on SIGTERM.
@Suite(.timeLimit(.minutes(5)))
struct ServeProcessTests {
    struct Server {
        let process: Process
        let log: URL
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// SIGTERM, and wait until the process is gone (before its database is dropped: a server
        /// left running would keep reconnecting to it).
        func stop() async {
            if process.isRunning { process.terminate() }
            await process.exited()
        }
    }

    static func start(port: Int, databaseURL: DatabaseURL, environment: [String: String] = [:]) throws -> Server {
        let (process, log) = try RegistryBinary.launch(
            ["serve", "--port", String(port)], databaseURL: databaseURL, environment: environment)
        return Server(process: process, log: log)
    }

    static func freePort() -> Int {
        (20000..<30000).shuffled().first { EmbeddedPostgres.isPortFree($0) } ?? 28080
    }

    static func get(_ url: String) async throws -> (Int, Data)? {
        do {
            let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            return nil
        }
    }

    /// Polls `/health/ready` for up to 10 s; the last status seen (nil: no answer at all).
    static func waitUntilReady(port: Int) async throws -> Int? {
        var ready: (Int, Data)?
        for _ in 0..<100 {
            ready = try await get("http://127.0.0.1:\(port)/health/ready")
            if ready?.0 == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return ready?.0
    }

    @Test func refusesToStartWhileMigrationsArePending() async throws {
        try await TestDatabase.with { postgres, url in
            try await postgres.execute(
                "DELETE FROM schema_migration WHERE version = (SELECT max(version) FROM schema_migration)",
                logger: TestDatabase.logger)
            let server = try Self.start(port: Self.freePort(), databaseURL: url)
            await server.process.exited()
            #expect(server.process.terminationStatus == 1)
            #expect(server.output.contains("pending"), "\(server.output)")
            #expect(server.output.contains("registry migrate"), "\(server.output)")
        }
    }

    /// With the in-memory practice search on (the default) and off.
    @Test(arguments: ["on", "off"]) func answersOverHTTPAndStopsGracefullyOnSIGTERM(practiceSearchMemory: String)
        async throws
    {
        try await TestDatabase.with { _, url in
            let port = Self.freePort()
            let server = try Self.start(
                port: port, databaseURL: url, environment: ["PRACTICE_SEARCH_MEMORY": practiceSearchMemory])
            #expect(try await Self.waitUntilReady(port: port) == 200, "\(server.output)")
            let missing = try await Self.get("http://127.0.0.1:\(port)/v1/medicines/cnk/0046128")
            #expect(missing?.0 == 404)
            let search = try await Self.get("http://127.0.0.1:\(port)/v1/practices?name=Peeters")
            #expect(search?.0 == 200)
            try await Task.sleep(for: .milliseconds(500))
            #expect(server.process.isRunning, "every service keeps running: \(server.output)")
            server.process.terminate()  // SIGTERM
            await server.process.exited()
            #expect(server.process.terminationReason == .exit)
            #expect(server.process.terminationStatus == 0, "\(server.output)")
            #expect(try await Self.get("http://127.0.0.1:\(port)/health/live") == nil)
        }
    }

    @Test func whenTheDatabaseVanishesReadinessFailsFastAndSIGTERMStillStopsTheServer() async throws {
        try await TestDatabase.with { _, url in
            let port = Self.freePort()
            let (process, log) = try RegistryBinary.launch(
                ["serve", "--port", String(port)], databaseURL: url, environment: ["SHUTDOWN_GRACE_SECONDS": "2"])
            let server = Server(process: process, log: log)
            // Whatever fails below, no server is left running.
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            #expect(try await Self.waitUntilReady(port: port) == 200, "\(server.output)")
            // The database goes away: no new connections, every existing one cut.
            try await withPostgresClient(try TestDatabase.server.get(), logger: TestDatabase.logger) { admin in
                try await admin.execute(
                    "ALTER DATABASE \(unescaped: url.database) ALLOW_CONNECTIONS false", logger: TestDatabase.logger)
                try await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(url.database)",
                    logger: TestDatabase.logger)
            }
            let clock = ContinuousClock()
            let asked = clock.now
            let probe = try await Self.get("http://127.0.0.1:\(port)/health/ready")
            #expect(probe?.0 == 503, "\(server.output)")
            #expect(clock.now - asked < .seconds(10), "the probe must answer, not wait for the database")
            let stopping = clock.now
            server.process.terminate()  // SIGTERM
            while server.process.isRunning && clock.now - stopping < .seconds(45) {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(!server.process.isRunning, "still running 45 s after SIGTERM: \(server.output.suffix(2000))")
        }
    }
}
