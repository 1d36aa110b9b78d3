import DatabaseTestSupport
import FakeSources
import HTTPTypes
import Foundation
import PostgresNIO
import RegistryStore
import RegistrySync
import Testing

/// The SAM download service's version protocol against a fake on loopback and a real PostgreSQL.
@Suite(.timeLimit(.minutes(5)))
struct SAMSyncTests {
    @Test func theFirstSyncImportsTheLatestVersionAndANewVersionAddsItsEventsToTheFeed() async throws {
        let zips = SAMVersions.zips
        var script = FakeSourceScript(latestVersion: 12_001)
        script.exports = [12_001: zips[0], 12_002: zips[1]]
        try await SyncFixture.with(script) { f in
            let first = try await f.check(f.sam())
            #expect(first.outcome == .imported, "\(first.line)")
            #expect(first.upstreamVersion == "12001")
            let runId = try #require(first.runId)
            // The run records where its data came from.
            let recorded: (String?, String?, String?, Int64?, String?) = try await f.postgres.query(
                """
                SELECT sync_source, upstream_version, upstream_url, download_bytes, download_sha256
                FROM import_run WHERE id = \(runId)
                """, logger: f.logger
            ).decode((String?, String?, String?, Int64?, String?).self).first { _ in true }!
            #expect(recorded.0 == "sam" && recorded.1 == "12001")
            #expect(
                recorded.2 == f.base + FakeSourceServer.downloadPath + "/samv2-download?type=FULL&version=12001&xsd=6")
            let size = try FileManager.default.attributesOfItem(atPath: zips[0])[.size] as! Int
            #expect(recorded.3 == Int64(size))
            #expect(recorded.4 == (try await sha256sum(zips[0])))
            // Kept in the archive under its version.
            let archived = f.archive + "/sam/12001/samv2-full-12001.zip"
            #expect(try await sha256sum(archived) == recorded.4)
            let lastSeqBefore = try await f.count("SELECT last_seq FROM change_event_counter WHERE id = 1")

            // The same version again downloads nothing.
            let downloadsBefore = f.downloads.count
            let again = try await f.check(f.sam())
            #expect(again.outcome == .unchanged, "\(again.line)")
            #expect(f.downloads.count == downloadsBefore)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)

            // A new version is imported and its events appear in /v1/changes.
            f.fake.script { $0.latestVersion = 12_002 }
            let second = try await f.check(f.sam())
            #expect(second.outcome == .imported, "\(second.line)")
            let changes = try await f.api("/v1/changes?after=\(lastSeqBefore)&limit=1000")
            #expect(changes.status == .ok)
            let events = ((changes.json as? [String: Any])?["items"] as? [[String: Any]]) ?? []
            #expect(!events.isEmpty, "\(changes.text.prefix(400))")
            let range = try await f.postgres.query(
                "SELECT first_event_seq, last_event_seq FROM import_run WHERE id = \(second.runId ?? 0)",
                logger: f.logger
            ).decode((Int64?, Int64?).self).first { _ in true }
            let seqs = events.compactMap { ($0["seq"] as? Int).map(Int64.init) }
            #expect(seqs.count == events.count && seqs.first == range?.0 && seqs.first == lastSeqBefore + 1)
            #expect(seqs.allSatisfy { $0 <= (range?.1 ?? 0) }, "\(seqs.suffix(3)) \(String(describing: range))")

            // Freshness is visible: /v1/sources, the gauges, and the source of every SAM answer.
            let sources = try await f.api("/v1/sources")
            #expect(sources.status == .ok)
            let sam = try #require(((sources.json as? [String: Any])?["sources"] as? [[String: Any]])?.first)
            #expect(sam["source"] as? String == "sam")
            #expect(sam[path: "current", "version"] as? String == "12002")
            #expect(sam[path: "lastCheck", "outcome"] as? String == "imported")
            #expect(
                (sam["archive"] as? [[String: Any]])?.compactMap { $0["version"] as? String } == ["12002", "12001"])
            #expect(sam["nextCheckAt"] is String)
            let (_, token) = try await ClientRepository(client: f.postgres, logger: f.logger).create(
                name: "prometheus", scopes: [.metricsRead])
            let metrics = try await f.api("/metrics", headers: [.authorization: "Bearer \(token.text)"])
            #expect(metrics.text.contains("registry_source_seconds_since_import{source=\"sam\"} "), "\(metrics.status)")
            #expect(metrics.text.contains("registry_source_seconds_since_successful_check{source=\"sam\"} "))
            let cnk = try await f.postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'dmpp' AND document->>'codeType' = 'CNK' LIMIT 1"
            )
            if let key = cnk.first, let code = key.split(separator: "|").last {
                let lookup = try await f.api("/v1/medicines/cnk/\(code)")
                #expect(
                    (lookup.json as? [String: Any])?[path: "source", "upstreamVersion"] as? String == "12002",
                    "\(lookup.text.prefix(300))")
            }
        }
    }

    @Test func anInterruptedDownloadResumesWithRangeAndItsHashMatchesTheFile() async throws {
        let zip = SAMVersions.zips[0]
        var script = FakeSourceScript(latestVersion: 500)
        script.exports = [500: zip]
        script.breakOffAt = 0.4
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam())
            #expect(report.outcome == .imported, "\(report.line)")
            let downloads = f.downloads
            #expect(downloads.count == 2)
            #expect(downloads.first?.range == nil)
            let size = try FileManager.default.attributesOfItem(atPath: zip)[.size] as! Int
            let resumedFrom = downloads.last?.range.flatMap { Int($0.dropFirst(6).dropLast()) }
            // The first answer stopped at (at most) 40 %; the second asked only for the rest.
            let from = try #require(resumedFrom, "\(downloads.last?.range ?? "-")")
            #expect(from > 0 && from <= Int(Double(size) * 0.4), "\(from) of \(size)")
            #expect(downloads.last?.status == 206)
            let sha = try await f.postgres.strings(
                "SELECT download_sha256 FROM import_run WHERE id = \(report.runId ?? 0)")
            #expect(sha == [try await sha256sum(zip)])
        }
    }

    @Test func serverErrorsAreRetriedWithGrowingBackoffAndBoundedAttempts() async throws {
        var script = FakeSourceScript(latestVersion: 7)
        script.exports = [7: SAMVersions.zips[0]]
        script.downloadFailures = [500, 503, 502]
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam(maxAttempts: 4, retryBaseDelay: 0.2))
            #expect(report.outcome == .imported, "\(report.line)")
            let times = f.downloads.map(\.at)
            #expect(f.downloads.map(\.status) == [500, 503, 502, 200])
            // Equal jitter: waits of 0.1–0.2 s, 0.2–0.4 s, 0.4–0.8 s.
            let gaps = zip(times, times.dropFirst()).map { ($1 - $0) / .milliseconds(1) }
            #expect(gaps[0] >= 100 && gaps[1] >= 200 && gaps[2] >= 400, "\(gaps)")
            #expect(gaps[2] > gaps[0], "\(gaps)")
        }
        // More failures than attempts: the check fails after exactly maxAttempts requests.
        script.downloadFailures = Array(repeating: 500, count: 10)
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam(maxAttempts: 3, retryBaseDelay: 0.01))
            #expect(report.outcome == .failed)
            #expect(report.message.contains("gave up after 3 attempts"), "\(report.message)")
            #expect(f.downloads.count == 3)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 0)
            let recorded = try await f.postgres.strings(
                "SELECT last_outcome || ': ' || last_error FROM source_sync WHERE source = 'sam'")
            #expect(recorded.first?.hasPrefix("failed: ") == true, "\(recorded)")
        }
    }

    @Test func aClientErrorIsNotRetriedAndRetryAfterIsHonoured() async throws {
        var script = FakeSourceScript(latestVersion: 8)
        script.exports = [8: SAMVersions.zips[0]]
        script.downloadFailures = [404]
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam(maxAttempts: 5))
            #expect(report.outcome == .failed)
            #expect(report.message.contains("HTTP 404"), "\(report.message)")
            #expect(f.downloads.count == 1)
        }
        script.downloadFailures = [503]
        script.retryAfter = "1"
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam(maxAttempts: 3, retryBaseDelay: 0))
            #expect(report.outcome == .imported, "\(report.line)")
            let times = f.downloads.map(\.at)
            #expect(times.count == 2)
            #expect(times[1] - times[0] >= .milliseconds(950))
        }
    }

    @Test func aCorruptExportIsRefusedOnceKeptAndNotDownloadedAgain() async throws {
        var script = FakeSourceScript(latestVersion: 300)
        script.exports = [300: SAMVersions.corrupt, 301: SAMVersions.zips[0]]
        try await SyncFixture.with(script) { f in
            let refused = try await f.check(f.sam())
            #expect(refused.outcome == .refused, "\(refused.line)")
            let runId = try #require(refused.runId)
            #expect(try await f.strings("SELECT outcome FROM import_run WHERE id = \(runId)") == ["refused"])
            #expect(try await f.count("SELECT count(*) FROM import_finding WHERE run_id = \(runId)") >= 1)
            #expect(FileManager.default.fileExists(atPath: f.archive + "/sam/300/samv2-full-300.zip"))
            let downloads = f.downloads.count

            let again = try await f.check(f.sam())
            #expect(again.outcome == .refusedBefore, "\(again.line)")
            #expect(again.runId == runId)
            #expect(f.downloads.count == downloads)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)

            // An operator may force it (from the archive: still no download); a newer version is taken.
            let forced = try await f.check(f.sam(), force: true)
            #expect(forced.outcome == .refused)
            #expect(f.downloads.count == downloads)
            f.fake.script { $0.latestVersion = 301 }
            #expect(try await f.check(f.sam()).outcome == .imported)
        }
    }

    @Test func aLowerVersionIsIgnoredWithAWarning() async throws {
        var script = FakeSourceScript(latestVersion: 12_342)
        script.exports = [12_342: SAMVersions.zips[0], 11_839: SAMVersions.zips[1]]
        try await SyncFixture.with(script) { f in
            #expect(try await f.check(f.sam()).outcome == .imported)
            f.fake.script { $0.latestVersion = 11_839 }
            let downloads = f.downloads.count
            let older = try await f.check(f.sam())
            #expect(older.outcome == .olderIgnored)
            #expect(older.message.contains("lower than the imported 12342"), "\(older.message)")
            #expect(f.downloads.count == downloads)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)
            #expect(
                try await f.strings("SELECT upstream_version FROM source_sync WHERE source = 'sam'") == ["11839"])
        }
    }

    @Test(arguments: [
        ("12a42", "expected a version number"), ("-3", "expected a version number"),
        (String(repeating: "9", count: 70_000), "65536 bytes for a short answer"),
        ("\u{0}12", "expected a version number"),
        ("99999999999999999999999", "expected a version number"), ("", "expected a version number"),
    ])
    func aHostileOrBrokenVersionAnswerFailsTheCheckClearly(answer: String, says: String) async throws {
        var script = FakeSourceScript(latestVersion: 5)
        script.versionAnswer = answer
        try await SyncFixture.with(script) { f in
            let report = try await f.check(f.sam(maxAttempts: 1))
            #expect(report.outcome == .failed)
            #expect(report.message.contains("samv2-full-getLastVersion"), "\(report.message)")
            #expect(report.message.contains(says), "\(report.message)")
            #expect(report.message.utf8.count < 1000)
            #expect(f.downloads.isEmpty)
        }
    }

    @Test func anExportBeyondTheSizeLimitIsNotDownloadedAndLeavesNothingBehind() async throws {
        var script = FakeSourceScript(latestVersion: 40)
        script.exports = [40: SAMVersions.zips[0]]
        try await SyncFixture.with(script) { f in
            var settings = f.sam()
            settings.limits.maxBytes = 10_000
            let report = try await f.check(settings)
            #expect(report.outcome == .failed)
            #expect(report.message.contains("more than the limit of 10000 bytes"), "\(report.message)")
            #expect(f.downloads.count == 1)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 0)
            let incoming = (try? FileManager.default.contentsOfDirectory(atPath: f.archive + "/sam/.incoming")) ?? []
            #expect(incoming.isEmpty, "\(incoming)")
        }
    }

    @Test func downloadsGoThroughTheProxyTheEnvironmentNames() async throws {
        var script = FakeSourceScript(latestVersion: 61)
        script.exports = [61: SAMVersions.zips[0]]
        try await SyncFixture.with(script) { f in
            // A host that does not resolve: only the proxy (the fake, on loopback) can answer.
            var settings = f.sam(maxAttempts: 1)
            settings.transport = .samVersions(
                baseURL: "http://sam.registry-test.invalid" + FakeSourceServer.downloadPath, xsd: 6)
            let direct = try await f.check(settings)
            #expect(direct.outcome == .failed)
            #expect(f.fake.requests.isEmpty)
            let proxy = try await TestProxy.start(forwardingTo: URL(string: f.base)!)
            let proxyURL = "http://127.0.0.1:\(proxy.port)"
            do {
                let proxied = try await f.check(settings, environment: ["http_proxy": proxyURL])
                #expect(proxied.outcome == .imported, "\(proxied.line)")
                #expect(f.downloads.count == 1)
                #expect(Set(proxy.requestedHosts) == ["sam.registry-test.invalid:80"], "\(proxy.requestedHosts)")
                let bypassed = try await f.check(
                    settings, environment: ["http_proxy": proxyURL, "no_proxy": ".registry-test.invalid"])
                #expect(bypassed.outcome == .failed)
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }
}

extension SyncFixture {
    func strings(_ sql: PostgresQuery) async throws -> [String] { try await postgres.strings(sql) }
}
