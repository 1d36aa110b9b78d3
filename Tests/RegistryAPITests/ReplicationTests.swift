import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryImport
import RegistryStore
import SAMReaders
import TestDataGenerators
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `registry serve` nodes on a hot standby (real streaming replication: a primary and a
/// `pg_basebackup -R` standby): they start and answer, follow imports on the primary exactly
/// when the standby replays them, drain when it lags or stops, and read a gap-free feed.
@Suite(.timeLimit(.minutes(5)))
struct ReplicationTests {
    struct Answer {
        var status: Int
        var cache: String?
        var json: [String: Any]
    }

    static func get(_ url: String) async throws -> Answer {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        let http = response as! HTTPURLResponse
        return Answer(
            status: http.statusCode, cache: http.value(forHTTPHeaderField: "X-Cache"),
            json: ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:])
    }

    /// A node reading from the standby (`DATABASE_READ_URL`), writing to the primary.
    static func node(_ clusters: ReplicatedClusters, environment: [String: String] = [:]) throws -> (
        ServeProcessTests.Server, Int
    ) {
        let port = ServeProcessTests.freePort()
        var settings = ["DATABASE_READ_URL": clusters.standbyURL.urlString, "WARM_START_PATHS": "0"]
        settings.merge(environment) { _, new in new }
        return (try ServeProcessTests.start(port: port, databaseURL: clusters.primaryURL, environment: settings), port)
    }

    static func importSAM(_ export: String, on url: DatabaseURL) async throws -> ImportSummary {
        try await withPostgresClient(url, logger: TestDatabase.logger) { client in
            try await SAMImportPipeline(client: client, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [export]), options: SAMImportOptions(maxDeleteShare: 1))
        }
    }

    /// The import run and price a node answers for a CNK.
    static func cnk(_ port: Int, _ code: String, query: String = "") async throws -> (
        run: Int?, price: String, cache: String?
    ) {
        let answer = try await get("http://127.0.0.1:\(port)/v1/medicines/cnk/\(code)\(query)")
        #expect(answer.status == 200, "\(answer.json)")
        let run = (answer.json["source"] as? [String: Any])?["importRunId"] as? Int
        return (run, "\(answer.json["price"] ?? "null")", answer.cache)
    }

    @Test func nodesOnAStandbyServeAndFollowThePrimaryExactlyWhenTheStandbyReplays() async throws {
        let first = try generatedExport(seed: 71)
        // The next version: a delta of 40 changes, as an import of the day brings.
        let second = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: first, to: second, changes: 40, seed: 72)
        try await ReplicatedClusters.with { clusters in
            let one = try await Self.importSAM(first, on: clusters.primaryURL)
            try await clusters.waitForReplay()
            let (a, portA) = try Self.node(clusters)
            let (b, portB) = try Self.node(clusters)
            defer {
                Task {
                    await a.stop()
                    await b.stop()
                }
            }
            #expect(try await ServeProcessTests.waitUntilReady(port: portA) == 200, "\(a.output)")
            #expect(try await ServeProcessTests.waitUntilReady(port: portB) == 200, "\(b.output)")
            // Readiness names each connection's role; the primary is reachable once first sampled.
            var reachable: Bool?
            var role: String?
            let deadline = ContinuousClock.now + .seconds(10)
            while reachable != true, ContinuousClock.now < deadline {
                let ready = try await Self.get("http://127.0.0.1:\(portA)/health/ready")
                let connections = ready.json["connections"] as? [String: [String: Any]]
                role = connections?["read"]?["role"] as? String
                reachable = connections?["primary"]?["reachable"] as? Bool
                if reachable != true { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(role == "standby")
            #expect(reachable == true)

            // An import committed on the primary while the standby holds its replay: no node may
            // show it (their caches are told by the primary's NOTIFY, their data is the standby's).
            try await clusters.onStandby("SELECT pg_wal_replay_pause()")
            let two = try await Self.importSAM(second, on: clusters.primaryURL)
            #expect(two.outcome == .applied)
            // CNKs in both versions (the delta may withdraw some), cached from the standby's version.
            let query: PostgresQuery =
                "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY entity_key LIMIT 20"
            let before = try await withPostgresClient(clusters.standbyURL, logger: TestDatabase.logger) {
                try await $0.strings(query)
            }
            let current = try await withPostgresClient(clusters.primaryURL, logger: TestDatabase.logger) {
                try await $0.strings(query)
            }
            let codes = Array(before.filter(current.contains).prefix(5))
            let code = try #require(codes.first)
            for port in [portA, portB] {
                #expect(try await Self.cnk(port, code).run == Int(one.runId))
                #expect(try await Self.cnk(port, code).cache == "hit")
            }
            let until = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < until {
                for port in [portA, portB] {
                    #expect(try await Self.cnk(port, code).run == Int(one.runId), "a node served the import early")
                }
                try await Task.sleep(for: .milliseconds(100))
            }

            // Replayed: both nodes soon answer from the new run, cached answers included, and each
            // cached answer equals one computed afresh (another cache key). The issue's bound is
            // 2 s (ops/bench/replica.sh measures it on a release build: BENCHMARKS.md); a debug
            // build beside the rest of the suite gets 5 s here.
            try await clusters.onStandby("SELECT pg_wal_replay_resume()")
            try await clusters.waitForReplay()
            let replayed = ContinuousClock.now
            let delays = try await withThrowingTaskGroup(of: (Int, Duration).self) { group in
                for port in [portA, portB] {
                    group.addTask {
                        while try await Self.cnk(port, code).run != Int(two.runId),
                            ContinuousClock.now - replayed < .seconds(10)
                        {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        return (port, ContinuousClock.now - replayed)
                    }
                }
                return try await group.reduce(into: [Int: Duration]()) { $0[$1.0] = $1.1 }
            }
            for port in [portA, portB] {
                #expect(try #require(delays[port]) < .seconds(5), "node on port \(port): \(delays)")
                for other in codes {
                    let cached = try await Self.cnk(port, other)
                    let fresh = try await Self.cnk(port, other, query: "?lang=nl")
                    #expect(cached.run == Int(two.runId) && cached.price == fresh.price, "CNK \(other)")
                }
            }

            // The feed read through a node is the primary's, gap-free, in order.
            let last = try await withPostgresClient(clusters.primaryURL, logger: TestDatabase.logger) { client in
                try await client.scalar("SELECT last_seq FROM change_event_counter WHERE id = 1", as: Int64.self)
            }
            var seqs: [Int64] = []
            var after: Int64 = 0
            while true {
                let page = try await Self.get("http://127.0.0.1:\(portB)/v1/changes?after=\(after)&limit=1000")
                let items = page.json["items"] as? [[String: Any]] ?? []
                seqs += items.compactMap { ($0["seq"] as? Int).map(Int64.init) }
                guard let next = (page.json["next"] as? Int).map(Int64.init), !items.isEmpty else { break }
                after = next
            }
            #expect(seqs == Array(1...last))
        }
    }

    @Test func aNodeWhoseStandbyLagsOrStopsTurnsNotReadyAndRecovers() async throws {
        try await ReplicatedClusters.with { clusters in
            let (node, port) = try Self.node(clusters, environment: ["MAX_REPLICA_LAG_SECONDS": "1"])
            defer { Task { await node.stop() } }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(node.output)")

            // Lag: the standby holds its replay while the primary keeps writing.
            try await clusters.onStandby("SELECT pg_wal_replay_pause()")
            let (status, detail) = try await withPostgresClient(clusters.primaryURL, logger: TestDatabase.logger) {
                client -> (Int, String) in
                try await client.query("CREATE TABLE lag_probe (at timestamptz)", logger: TestDatabase.logger)
                var answer = try await Self.get("http://127.0.0.1:\(port)/health/ready")
                let deadline = ContinuousClock.now + .seconds(15)
                while answer.status == 200, ContinuousClock.now < deadline {
                    try await client.query("INSERT INTO lag_probe VALUES (now())", logger: TestDatabase.logger)
                    try await Task.sleep(for: .milliseconds(200))
                    answer = try await Self.get("http://127.0.0.1:\(port)/health/ready")
                }
                return (answer.status, answer.json["detail"] as? String ?? "")
            }
            #expect(status == 503)
            #expect(detail.contains("behind the primary"), "\(detail)")
            try await clusters.onStandby("SELECT pg_wal_replay_resume()")
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(node.output)")

            // Stopped: not ready while it is down, ready again once it is back.
            try clusters.standby.stop()
            var down = try await Self.get("http://127.0.0.1:\(port)/health/ready")
            let deadline = ContinuousClock.now + .seconds(15)
            while down.status == 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                down = try await Self.get("http://127.0.0.1:\(port)/health/ready")
            }
            #expect(down.status == 503, "\(down.json)")
            try clusters.standby.start()
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(node.output)")
        }
    }

    @Test func thePracticeSnapshotOfANodeOnAStandbyReloadsAfterAProviderImportOnThePrimary() async throws {
        let actors = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let register = try ProviderFixture.folder([
            "practices.csv": ProviderFixture.practicesCSV(ProviderAPITests.practices())
        ])
        try await ReplicatedClusters.with { clusters in
            let (node, port) = try Self.node(clusters)
            defer { Task { await node.stop() } }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(node.output)")
            let search = "http://127.0.0.1:\(port)/v1/practices?name=Vandecasteele&limit=5"
            #expect((try await Self.get(search).json["items"] as? [Any])?.isEmpty == true)

            let run = try await withPostgresClient(clusters.primaryURL, logger: TestDatabase.logger) { client in
                _ = try await CoBRHAImportPipeline(client: client, logger: TestDatabase.logger).run(path: actors)
                return try await PracticeImportPipeline(client: client, logger: TestDatabase.logger).run(
                    path: register
                ).runId
            }
            // The node rebuilds its snapshot from the standby once the standby has the import.
            let loaded = "importRun=\(run) practices=19"
            let deadline = ContinuousClock.now + .seconds(30)
            while !node.output.contains(loaded), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(node.output.contains(loaded), "\(node.output)")
            let found = try await Self.get(search)
            #expect((found.json["items"] as? [Any])?.isEmpty == false, "\(found.json)")
        }
    }

    @Test func serveRefusesAStandbyAsItsPrimary() async throws {
        try await ReplicatedClusters.with { clusters in
            let (status, output) = try await RegistryBinary.run(
                ["serve", "--port", String(ServeProcessTests.freePort())], databaseURL: clusters.standbyURL)
            #expect(status == 1)
            #expect(output.contains("is a hot standby"), "\(output)")
        }
    }
}
