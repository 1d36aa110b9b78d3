import DatabaseTestSupport
import FakeSources
import Foundation
import PostgresNIO
import RegistryStore
import Testing

/// The sync inside real `registry` processes: several servers on one database, and a process
/// killed in the middle of an import.
@Suite(.timeLimit(.minutes(5)))
struct SyncProcessTests {
    static func environment(_ base: String, interval: String) throws -> [String: String] {
        [
            "SOURCES_SAM_BASE_URL": base + FakeSourceServer.downloadPath, "SOURCES_SAM_INTERVAL": interval,
            "SOURCES_SAM_JITTER": "0", "SOURCES_SAM_RETRY_BASE_DELAY": "0.05",
            "SYNC_ARCHIVE_DIRECTORY": try TestDatabase.temporaryDirectory() + "/archive", "LOG_LEVEL": "info",
            "REGISTRY_CONFIG": "",
        ]
    }

    static func freePort() -> Int {
        (20000..<30000).shuffled().first { EmbeddedPostgres.isPortFree($0) } ?? 28080
    }

    /// Polls the database every 20 ms until `sql` answers true, for at most `seconds`.
    static func waitFor(_ postgres: PostgresClient, _ sql: PostgresQuery, seconds: Double = 90) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await postgres.scalar(sql, as: Bool.self) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test func twoServersOnOneDatabaseSyncEachVersionExactlyOnce() async throws {
        var script = FakeSourceScript(latestVersion: 101)
        script.exports = [101: SAMVersions.zips[0], 102: SAMVersions.zips[1]]
        let fake = FakeSourceServer(script)
        try await TestDatabase.with { postgres, url in
            try await fake.run { base in
                var servers: [(process: Process, log: URL)] = []
                defer { for server in servers where server.process.isRunning { server.process.terminate() } }
                for _ in 0..<2 {
                    // Each server its own archive, as on two machines.
                    servers.append(
                        try RegistryBinary.launch(
                            ["serve", "--port", String(Self.freePort()), "--no-dispatch"], databaseURL: url,
                            environment: try Self.environment(base, interval: "0.3")))
                }
                let logs = { servers.map { (try? String(contentsOf: $0.log, encoding: .utf8)) ?? "" }.joined() }
                #expect(
                    try await Self.waitFor(
                        postgres,
                        "SELECT count(*) = 1 FROM import_run WHERE upstream_version = '101' AND outcome = 'applied'"),
                    "\(logs())")
                fake.script { $0.latestVersion = 102 }
                #expect(
                    try await Self.waitFor(
                        postgres,
                        "SELECT count(*) = 1 FROM import_run WHERE upstream_version = '102' AND outcome = 'applied'"),
                    "\(logs())")
                // Both keep checking (every 0.3 s) for a while: nothing more happens.
                // (At least five more checks; under the full suite's load a check can take a second.)
                let checks = fake.requests.count
                for _ in 0..<200 where fake.requests.count <= checks + 4 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(fake.requests.count > checks + 4, "the servers stopped checking")
                #expect(
                    try await postgres.strings("SELECT upstream_version FROM import_run ORDER BY id") == ["101", "102"])
                let downloads = fake.requests.filter { $0.path.hasSuffix("/samv2-download") }.map(\.query)
                #expect(downloads.count == 2, "\(downloads)")
                #expect(try await postgres.strings("SELECT last_outcome FROM source_sync") == ["unchanged"])
                for server in servers {
                    server.process.terminate()
                    await server.process.exited()
                }
            }
        }
    }

    @Test func aProcessKilledMidImportLeavesNothingHalfDoneAndTheNextRunImportsOnce() async throws {
        var script = FakeSourceScript(latestVersion: 900)
        script.exports = [900: SAMVersions.zips[0]]
        let fake = FakeSourceServer(script)
        try await TestDatabase.with { postgres, url in
            try await fake.run { base in
                let environment = try Self.environment(base, interval: "3600")
                let (process, log) = try RegistryBinary.launch(
                    ["sync", "sam"], databaseURL: url, environment: environment)
                let caught = try await Self.waitFor(
                    postgres, "SELECT count(*) = 1 FROM import_run WHERE outcome = 'running'", seconds: 60)
                kill(process.processIdentifier, SIGKILL)
                await process.exited()
                #expect(caught, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
                #expect(try await postgres.scalar("SELECT count(*) FROM change_event", as: Int64.self) == 0)

                let rerun = try await RegistryBinary.run(
                    ["sync", "--once", "sam"], databaseURL: url, environment: environment)
                #expect(rerun.status == 0, "\(rerun.output)")
                #expect(rerun.output.contains("sam: imported (version 900)"), "\(rerun.output)")
                #expect(
                    try await postgres.strings(
                        "SELECT outcome || ' ' || coalesce(refusal_reason, '') FROM import_run ORDER BY id"
                    )
                    .map { String($0.prefix(20)) } == ["failed interrupted: ", "applied "])
                // Imported from the archived download: the export was fetched once.
                #expect(fake.requests.filter { $0.path.hasSuffix("/samv2-download") }.count == 1)
                // The feed has no gap: seq 1…n, and the counter agrees.
                let feed = try await postgres.query(
                    "SELECT count(*), min(seq), max(seq) FROM change_event", logger: TestDatabase.logger
                ).decode((Int64, Int64?, Int64?).self).first { _ in true }!
                #expect(feed.0 > 0 && feed.1 == 1 && feed.2 == feed.0, "\(feed)")
                #expect(
                    try await postgres.scalar("SELECT last_seq FROM change_event_counter WHERE id = 1", as: Int64.self)
                        == feed.0)
                // And again: the same version is not imported twice.
                let third = try await RegistryBinary.run(
                    ["sync", "--once", "sam"], databaseURL: url, environment: environment)
                #expect(third.output.contains("sam: unchanged (version 900)"), "\(third.output)")
                // `registry sources` shows it; `--json` is the body of GET /v1/sources.
                let sources = try await RegistryBinary.run(["sources", "--json"], databaseURL: url)
                // The output holds stderr too: under the full suite's load a log line (a slow
                // connection's warning) may come first; the JSON document is the line that opens it.
                let document = sources.output.split(separator: "\n").drop { !$0.hasPrefix("{") }.joined(separator: "\n")
                let json = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
                let sam = (json?["sources"] as? [[String: Any]])?.first
                #expect((sam?["current"] as? [String: Any])?["version"] as? String == "900", "\(sources.output)")
                #expect((sam?["lastCheck"] as? [String: Any])?["outcome"] as? String == "unchanged")
            }
        }
    }

    @Test func syncOnceExitsWithTheContractsCodes() async throws {
        var script = FakeSourceScript(latestVersion: 77)
        script.exports = [77: SAMVersions.corrupt]
        let fake = FakeSourceServer(script)
        try await TestDatabase.with { _, url in
            try await fake.run { base in
                let environment = try Self.environment(base, interval: "3600")
                let refused = try await RegistryBinary.run(
                    ["sync", "--once"], databaseURL: url, environment: environment)
                #expect(refused.status == 3, "\(refused.output)")
                #expect(refused.output.contains("sam: refused (version 77)"), "\(refused.output)")
                let again = try await RegistryBinary.run(
                    ["sync", "--once"], databaseURL: url, environment: environment)
                #expect(again.status == 0, "\(again.output)")
                #expect(again.output.contains("sam: refused-before (version 77)"), "\(again.output)")
                var broken = environment
                broken["SOURCES_SAM_INTERVAL"] = "often"
                let invalid = try await RegistryBinary.run(["sync", "--once"], databaseURL: url, environment: broken)
                #expect(invalid.status == 2 && invalid.output.contains("sources.sam.interval"), "\(invalid.output)")
                let unknown = try await RegistryBinary.run(["sync", "--once", "samv3"], databaseURL: url)
                #expect(unknown.status == 2 && unknown.output.contains("unknown source"), "\(unknown.output)")
                let unconfigured = try await RegistryBinary.run(
                    ["sync", "--once", "cobrha"], databaseURL: url, environment: environment)
                #expect(
                    unconfigured.status == 2 && unconfigured.output.contains("not configured"), "\(unconfigured.output)"
                )
                var unreachable = environment
                unreachable["SOURCES_SAM_BASE_URL"] = "http://127.0.0.1:9/download"
                unreachable["SOURCES_SAM_MAX_ATTEMPTS"] = "1"
                let failed = try await RegistryBinary.run(
                    ["sync", "--once"], databaseURL: url, environment: unreachable)
                #expect(failed.status == 1 && failed.output.contains("sam: failed"), "\(failed.output)")
            }
        }
    }
}
