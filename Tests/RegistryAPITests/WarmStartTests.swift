import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryImport
import RegistryStore
import SAMReaders
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A server that starts does not start cold: it preloads the answers servers were asked for
/// most (recorded in the database) before it reports ready.
@Suite(.timeLimit(.minutes(5)))
struct WarmStartTests {
    static func get(_ url: String) async throws -> (status: Int, cache: String?) {
        let (_, response) = try await URLSession.shared.data(from: URL(string: url)!)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.value(forHTTPHeaderField: "X-Cache"))
    }

    @Test func aStartingServerPreloadsTheAnswersServersWereAskedForMostBeforeItIsReady() async throws {
        let export = try generatedExport(seed: 52)
        try await TestDatabase.with { postgres, url in
            _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [export]))
            let cnks = try await postgres.strings(
                "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY entity_key LIMIT 40"
            )
            let hot = cnks.prefix(20).map { "/v1/medicines/cnk/\($0)" }
            let cold = cnks.suffix(20).map { "/v1/medicines/cnk/\($0)?history=true" }
            let environment = ["HOT_REQUESTS_FLUSH_SECONDS": "0.3", "WARM_START_PATHS": "100"]

            let firstPort = ServeProcessTests.freePort()
            let first = try ServeProcessTests.start(port: firstPort, databaseURL: url, environment: environment)
            #expect(try await ServeProcessTests.waitUntilReady(port: firstPort) == 200, "\(first.output)")
            for _ in 0..<3 {
                for path in hot { #expect(try await Self.get("http://127.0.0.1:\(firstPort)\(path)").status == 200) }
            }
            // Flushed every 0.3 s: each hot path with its three requests (flushes add up).
            var recorded: [String] = []
            for _ in 0..<100 where recorded.count < hot.count {
                recorded = try await postgres.strings("SELECT path FROM hot_request WHERE hits = 3 ORDER BY path")
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(recorded.sorted() == hot.sorted(), "\(first.output)")
            #expect(try await postgres.scalar("SELECT count(*) FROM hot_request", as: Int64.self) == Int64(hot.count))
            await first.stop()

            let secondPort = ServeProcessTests.freePort()
            let second = try ServeProcessTests.start(port: secondPort, databaseURL: url, environment: environment)
            #expect(try await ServeProcessTests.waitUntilReady(port: secondPort) == 200, "\(second.output)")
            // Ready means warmed: the first request for a hot answer is served from the cache.
            for path in hot {
                let answer = try await Self.get("http://127.0.0.1:\(secondPort)\(path)")
                #expect(answer.status == 200 && answer.cache == "hit", "\(path): \(answer)")
            }
            for path in cold.prefix(3) {
                #expect(try await Self.get("http://127.0.0.1:\(secondPort)\(path)").cache == "miss")
            }
            await second.stop()
        }
    }
}
