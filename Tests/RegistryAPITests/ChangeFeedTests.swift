import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import PostgresNIO
import RegistryStore
import SAMReaders
import Testing

/// `GET /v1/changes`: every event once, in order, by following `next`; filters; long-poll; pruning.
@Suite(.timeLimit(.minutes(5)))
struct ChangeFeedTests {
    @Test func followingTheCursorYieldsEveryEventOnceInOrder() async throws {
        let base = try generatedExport(seed: 51, scale: 0.002)
        try await APITest.with(importing: [base]) { api, postgres in
            let total: Int64 = try await postgres.scalar("SELECT count(*) FROM change_event")
            #expect(total > 100)
            var seqs: [Int64] = []
            var uri = "/v1/changes?limit=37"
            for _ in 0..<1000 {
                let page = try await api.get(uri)
                #expect(page.status == .ok)
                let items = page.json["items"].array
                seqs += items.compactMap { $0["seq"].number.map { Int64($0) } }
                if items.isEmpty { break }
                uri = try #require(page.json["nextHref"].string)
            }
            #expect(seqs == Array(1...total))
            let first = try await api.get("/v1/changes?limit=1").json["items"][0]
            #expect(first["id"].string == "evt_000000000001")
            #expect(first["type"].string?.hasPrefix("sam.") == true)
            #expect(first["data"]["key"].exists)
            #expect(first["timestamp"].string?.hasSuffix("Z") == true)
        }
    }

    @Test func typeFiltersAndTheCursorSkipOtherTypes() async throws {
        let base = try generatedExport(seed: 52, scale: 0.002)
        try await APITest.with(importing: [base]) { api, postgres in
            let companies: Int64 = try await postgres.scalar(
                "SELECT count(*) FROM change_event WHERE type = 'sam.company.created'")
            let last: Int64 = try await postgres.scalar("SELECT max(seq) FROM change_event")
            let page = try await api.get("/v1/changes?types=sam.company.*&limit=1000").json
            #expect(Int64(page["items"].array.count) == companies)
            #expect(page["items"].array.allSatisfy { $0["type"].string == "sam.company.created" })
            // Nothing else matches: the cursor moves to the newest event scanned, not back to 0.
            #expect(page["next"].number == Double(last))
            let deletions = try await api.get("/v1/changes?types=sam.*.deleted").json
            #expect(deletions["items"].array.isEmpty)
            #expect(deletions["next"].number == Double(last))
        }
    }

    @Test func longPollReturnsWhenAnImportCommits() async throws {
        let base = try generatedExport(seed: 53, scale: 0.002)
        let next = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: base, to: next, changes: 5, seed: 3)
        try await APITest.with(importing: [base]) { api, postgres in
            let last: Int64 = try await postgres.scalar("SELECT max(seq) FROM change_event")
            let clock = ContinuousClock()
            let started = clock.now
            async let waited = api.get("/v1/changes?after=\(last)&wait=30")
            try await Task.sleep(for: .milliseconds(500))
            _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [next]))
            let response = try await waited
            #expect(response.status == .ok)
            #expect(response.json["items"][0]["seq"].number == Double(last + 1))
            #expect(clock.now - started < .seconds(25), "answered when the events arrived, not at the end of the wait")
            let empty = try await api.get(
                "/v1/changes?after=\(try await postgres.scalar("SELECT max(seq) FROM change_event", as: Int64.self))&wait=1"
            )
            #expect(empty.json["items"].array.isEmpty)
        }
    }

    @Test func prunedPositionsAre410AndBadParametersAre400() async throws {
        let base = try generatedExport(seed: 54, scale: 0.002)
        try await APITest.with(importing: [base]) { api, postgres in
            try await postgres.execute(
                "UPDATE change_event SET occurred_at = now() - interval '100 days' WHERE seq <= 10",
                logger: TestDatabase.logger)
            // The application's own hourly pruning (a service the test router also runs) may get
            // there first; what counts is that exactly the ten old events are gone (the count
            // prune returns is checked in FeedOrderingTests, on a database without the server).
            try await ChangeFeed(client: postgres, logger: TestDatabase.logger).prune(olderThanDays: 90)
            let old: Int64 = try await postgres.scalar("SELECT count(*) FROM change_event WHERE seq <= 10")
            #expect(old == 0)
            let kept: Int64 = try await postgres.scalar("SELECT min(seq) FROM change_event")
            #expect(kept == 11)
            let gone = try await api.get("/v1/changes?after=3")
            #expect(gone.status == .gone)
            #expect(gone.json["feedStart"].number == 11)
            #expect(gone.json["detail"].string?.contains("starts at seq 11") == true)
            #expect(try await api.get("/v1/changes?after=10").status == .ok)
            #expect(try await api.get("/v1/changes?after=-1").status == .badRequest)
            #expect(try await api.get("/v1/changes?after=99999999").status == .badRequest)
            #expect(try await api.get("/v1/changes?after=9223372036854775807").status == .badRequest)
            #expect(try await api.get("/v1/changes?wait=31").status == .badRequest)
            #expect(try await api.get("/v1/changes?types=sam.dmpp.%25").status == .badRequest)
            #expect(try await api.get("/v1/changes?limit=1001").status == .badRequest)
        }
    }
}
