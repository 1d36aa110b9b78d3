import Crypto
import DatabaseTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryExport
import RegistryImport
import RegistryStore
import SAMReaders
import SharedSamples
import TestDataGenerators
import Testing

/// Offline mirrors: the SQLite snapshot read by an independent reader (Python's sqlite3) answers as
/// the API does; deltas applied by `ops/apply-sam-delta.py` give the later snapshot row for row;
/// the listing and downloads (Range, ETag) through the real router; NDJSON files; retention.
@Suite(.timeLimit(.minutes(8)))
struct ExportTests {
    static let checker = TestDatabase.packageRoot.appendingPathComponent("ops/exports/sam_sqlite_check.py").path
    static let applier = TestDatabase.packageRoot.appendingPathComponent("ops/apply-sam-delta.py").path

    static func build(_ postgres: PostgresClient, into directory: String, keep: Int = 3) async throws
        -> [ExportArtifact]
    {
        var settings = ExportSettings(directory: directory)
        settings.keepVersions = keep
        return try await ExportService.buildNow(client: postgres, settings: settings, logger: TestDatabase.logger) ?? []
    }

    static func importSAM(_ postgres: PostgresClient, _ path: String) async throws {
        let summary = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
            input: try SAMInput.resolve(paths: [path]))
        #expect(summary.outcome == .applied)
    }

    /// The API on `postgres` serving `directory` as its export directory (building nothing itself).
    static func withAPI(
        _ postgres: PostgresClient, directory: String, _ body: @Sendable (APIClient) async throws -> Void
    ) async throws {
        var settings = ServerSettings(logLevel: .warning)
        var exports = ExportSettings(directory: directory)
        exports.builds = false
        settings.exports = exports
        let app = try RegistryApplication.make(
            client: postgres, settings: settings, logger: TestDatabase.logger, runsClient: false)
        try await app.test(.router) { client in try await body(APIClient(client: client)) }
    }

    /// Asks the API `/v1/medicines/cnk/{cnk}?env=&at=` for each question and keeps what a mirror
    /// needs to answer the same (price, reimbursement, pack, product, contexts with copayments).
    static func questions(_ api: APIClient, _ asked: [(cnk: String, env: String, date: String)]) async throws -> [Any] {
        var result: [Any] = []
        for (cnk, env, date) in asked {
            let response = try await api.get("/v1/medicines/cnk/\(cnk)?env=\(env)&at=\(date)")
            var question: [String: Any] = ["cnk": cnk, "env": env, "date": date]
            if response.status == .notFound {
                question["expected"] = NSNull()
            } else {
                #expect(response.status == .ok, "\(cnk) \(env) \(date): \(response.status)")
                let body = response.json
                func value(_ json: JSON) -> Any { json.string ?? NSNull() }
                var contexts: [Any] = []
                for context in body["reimbursementContexts"].array where !context["validity"].isNull {
                    let copayments = context["copayments"].array.filter { !$0["validity"].isNull }.map {
                        [$0["key"]["regimeType"].string ?? "", $0["fields"]["feeAmount"].string ?? ""]
                    }.sorted { $0.lexicographicallyPrecedes($1) }
                    contexts.append([
                        value(context["key"]["legalReferencePath"]),
                        value(context["fields"]["reimbursementCriterion"]["category"]),
                        value(context["fields"]["reimbursementCriterion"]["code"]), copayments,
                    ])
                }
                question["expected"] = [
                    "price": value(body["dmpp"]["fields"]["price"]),
                    "reimbursable": body["reimbursable"].bool.map { $0 as Any } ?? NSNull(),
                    "ctiExtended": value(body["ampp"]["key"]["ctiExtended"]),
                    "amppStatus": value(body["ampp"]["fields"]["status"]),
                    "ampNameFr": value(body["amp"]["fields"]["name"]["fr"]), "contexts": contexts,
                ]
            }
            result.append(question)
        }
        return result
    }

    /// Runs the independent reader on `sqlite`; returns how many questions it compared.
    static func checkAnswers(_ sqlite: String, _ questions: [Any]) async throws -> Int {
        let file = try TestDatabase.temporaryDirectory() + "/questions.json"
        try JSONSerialization.data(withJSONObject: questions).write(to: URL(fileURLWithPath: file))
        let checked = try await ChildProcess.run("/usr/bin/env", ["python3", checker, "answers", sqlite, file])
        #expect(checked.status == 0, "\(checked.outputText) \(checked.errorText)")
        return JSON(bytes: Array(checked.output))["questions"].number.map { Int($0) } ?? 0
    }

    /// Questions over `dmpps` (`ENV|CNK|code` keys): each slice's first and last day, the day
    /// before the first, and today.
    static func questionDays(_ postgres: PostgresClient, dmpps: [String]) async throws -> [(String, String, String)] {
        var asked: [(String, String, String)] = []
        for key in dmpps {
            let parts = key.split(separator: "|").map(String.init)
            let document = try await postgres.strings(
                "SELECT document::text FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = \(key)")
            var days = Set([RegistryClock.system.today.description])
            for slice in try JSONValue.parse(document[0])["slices"]?.items ?? [] {
                if let from = slice["from"]?.stringValue.flatMap({ LocalDate(iso: $0) }) {
                    days.insert(from.description)
                    days.insert(from.adding(days: -1).description)
                }
                if let to = slice["to"]?.stringValue { days.insert(to) }
            }
            for day in days.sorted() { asked.append((parts[2], parts[0], day)) }
        }
        return asked
    }

    @Test func theSnapshotAnswersCNKQuestionsAsTheAPIDoes() async throws {
        let export = try generatedExport(seed: 61, scale: 0.004)
        try await TestDatabase.with { postgres, _ in
            try await Self.importSAM(postgres, export)
            let directory = try TestDatabase.temporaryDirectory()
            let built = try await Self.build(postgres, into: directory)
            let sqlite = try #require(built.first { $0.kind == "sam-sqlite" })
            let dmpps = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'dmpp' ORDER BY md5(entity_key) LIMIT 120")
            let asked = try await Self.questionDays(postgres, dmpps: dmpps)
            try await Self.withAPI(postgres, directory: directory) { api in
                let questions = try await Self.questions(api, asked)
                let compared = try await Self.checkAnswers("\(directory)/\(sqlite.name)", questions)
                #expect(compared == asked.count && compared >= 300, "\(compared) questions")
                // Questions that the API answers with a price, and ones it answers "not valid then".
                #expect(questions.filter { ($0 as? [String: Any])?["expected"] is NSNull }.count >= 20)
                #expect(questions.filter { !(($0 as? [String: Any])?["expected"] is NSNull) }.count >= 200)
            }
            // Name search with accents removed, and the meta table naming the import run.
            let run = try await postgres.strings("SELECT max(id)::text FROM import_run WHERE domain = 'sam'")[0]
            let probe = try await ChildProcess.python(
                """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                meta = dict(db.execute("SELECT key, value FROM meta"))
                name = db.execute("SELECT name FROM medicine_name WHERE entity_type = 'amp' LIMIT 1").fetchone()[0]
                word = name.split()[0]
                hits = db.execute("SELECT count(*) FROM medicine_name_fts WHERE medicine_name_fts MATCH ?", ('"' + word.upper() + '"',)).fetchone()[0]
                print(meta["sam_version"], meta["schema_version"], hits > 0)
                """, ["\(directory)/\(sqlite.name)"])
            #expect(
                probe.outputText.trimmingCharacters(in: .whitespacesAndNewlines) == "\(run) 1 True",
                "\(probe.errorText)")
            // docs/EXPORTS.md documents exactly the tables and columns the snapshot has.
            let documented = try await ChildProcess.python(
                #"""
                import re, sqlite3, sys
                doc = open(sys.argv[2], encoding="utf-8").read()
                rows = {m.group(1): [c.strip(" `") for c in m.group(2).split(",")]
                        for m in re.finditer(r"^\| `(\w+)` \| (`.*`) \|$", doc, re.M)}
                db = sqlite3.connect(sys.argv[1])
                actual = {n: [r[1] for r in db.execute(f'PRAGMA table_info("{n}")')]
                          for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'medicine_name_fts%' AND name NOT LIKE 'sqlite_%'")}
                print("same" if rows == actual else f"differs: {sorted(n for n in set(rows) | set(actual) if rows.get(n) != actual.get(n))}")
                """#,
                [
                    "\(directory)/\(sqlite.name)",
                    TestDatabase.packageRoot.appendingPathComponent("docs/EXPORTS.md").path,
                ])
            #expect(
                documented.outputText.trimmingCharacters(in: .whitespacesAndNewlines) == "same",
                "\(documented.outputText) \(documented.errorText)")
        }
    }

    @Test(.enabled(if: SharedSamples.available, "../shared/reference/samv2-samples is not present"))
    func theSnapshotOfTheRealHaldolFragmentAnswersAsTheAPIDoes() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        let path = "\(dir)/AMP-real.xml"
        try SharedSamples.haldolExport().write(toFile: path, atomically: true, encoding: .utf8)
        try await TestDatabase.with { postgres, _ in
            try await Self.importSAM(postgres, path)
            let directory = try TestDatabase.temporaryDirectory()
            let built = try await Self.build(postgres, into: directory)
            let sqlite = try #require(built.first { $0.kind == "sam-sqlite" })
            let dmpps = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'dmpp' ORDER BY entity_key")
            #expect(dmpps.count >= 2)
            let asked = try await Self.questionDays(postgres, dmpps: dmpps)
            try await Self.withAPI(postgres, directory: directory) { api in
                let questions = try await Self.questions(api, asked)
                let compared = try await Self.checkAnswers("\(directory)/\(sqlite.name)", questions)
                #expect(compared == asked.count && compared >= 10)
            }
        }
    }

    @Test func aDeltaAppliedToTheOlderSnapshotGivesTheNewerOneRowForRow() async throws {
        let base = try generatedExport(seed: 62, scale: 0.004)
        let second = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: base, to: second, changes: 40, seed: 301)
        let third = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: second, to: third, changes: 40, seed: 302)
        try await TestDatabase.with { postgres, _ in
            let directory = try TestDatabase.temporaryDirectory()
            var versions: [Int64] = []
            for export in [base, second, third] {
                try await Self.importSAM(postgres, export)
                let built = try await Self.build(postgres, into: directory)
                versions.append(try #require(built.first { $0.kind == "sam-sqlite" }).version)
            }
            #expect(Set(versions).count == 3)
            let imported = versions
            try await Self.withAPI(postgres, directory: directory) { api in
                // Deltas read after the third import: the one from the first to the second version
                // rebuilds documents as they were then, from the history.
                for (from, to) in [(0, 1), (1, 2), (0, 2)] {
                    let response = try await api.get(
                        "/v1/exports/sam/delta?from=\(imported[from])&to=\(imported[to])")
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/x-ndjson")
                    let lines = response.body.split(separator: UInt8(ascii: "\n"))
                    #expect(lines.count > 10, "\(lines.count) lines")
                    let work = try TestDatabase.temporaryDirectory()
                    let delta = "\(work)/delta.ndjson"
                    try Data(response.body).write(to: URL(fileURLWithPath: delta))
                    let mirror = "\(work)/mirror.sqlite"
                    try FileManager.default.copyItem(
                        atPath: "\(directory)/\(SAMExportBuilder.sqliteName(version: imported[from]))", toPath: mirror)
                    let applied = try await ChildProcess.run("/usr/bin/env", ["python3", Self.applier, mirror, delta])
                    #expect(applied.status == 0, "\(applied.errorText)")
                    let target = "\(directory)/\(SAMExportBuilder.sqliteName(version: imported[to]))"
                    let compared = try await ChildProcess.run(
                        "/usr/bin/env", ["python3", Self.checker, "same", mirror, target])
                    #expect(compared.status == 0, "\(from)→\(to): \(compared.outputText)")
                    #expect((JSON(bytes: Array(compared.output))["rowsCompared"].number ?? 0) > 2_000)
                    // The mirror without the delta differs (the comparison would notice).
                    let unchanged = try await ChildProcess.run(
                        "/usr/bin/env",
                        [
                            "python3", Self.checker, "same",
                            "\(directory)/\(SAMExportBuilder.sqliteName(version: imported[from]))", target,
                        ])
                    #expect(unchanged.status == 1)
                    // A delta starting elsewhere is refused and leaves the file as it was.
                    let again = try await ChildProcess.run("/usr/bin/env", ["python3", Self.applier, mirror, delta])
                    #expect(again.status != 0 && again.errorText.contains("delta starts at"))
                }
                // Clients' mistakes are problems.
                for (uri, status) in [
                    ("/v1/exports/sam/delta", HTTPResponse.Status.badRequest),
                    ("/v1/exports/sam/delta?from=abc", .badRequest),
                    ("/v1/exports/sam/delta?from=-1", .badRequest),
                    ("/v1/exports/sam/delta?from=99999999999999999999", .badRequest),
                    ("/v1/exports/sam/delta?from=\(imported[2])&to=\(imported[0])", .badRequest),
                    ("/v1/exports/sam/delta?from=987654", .notFound),
                    ("/v1/exports/sam/delta?from=\(imported[0])&to=987654", .notFound),
                    ("/v1/exports/sam/delta?from=\(imported[0])&since=1", .badRequest),
                ] {
                    let response = try await api.get(uri)
                    #expect(response.status == status, "\(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
                }
                // Without `to`: up to the newest version.
                let latest = try await api.get("/v1/exports/sam/delta?from=\(imported[1])")
                let header = JSON(bytes: Array(latest.body.split(separator: UInt8(ascii: "\n"))[0]))
                #expect(header["op"].string == "meta" && header["to"].number == Double(imported[2]))
            }
        }
    }

    @Test func theListingAndDownloadsHonourRangeAndETagAndOldVersionsGo() async throws {
        let base = try generatedExport(seed: 63, scale: 0.003)
        let second = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: base, to: second, changes: 10, seed: 303)
        try await TestDatabase.with { postgres, _ in
            let directory = try TestDatabase.temporaryDirectory()
            try await Self.importSAM(postgres, base)
            let first = try await Self.build(postgres, into: directory, keep: 1)
            try await Self.importSAM(postgres, second)
            let built = try await Self.build(postgres, into: directory, keep: 1)
            // Retention: only the newest version stays, records and files.
            let firstVersion = try #require(first.first).version
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(first[0].name)"))
            let counts = try await postgres.strings(
                "SELECT entity_type || ':' || count(*) FROM sam_entity GROUP BY entity_type ORDER BY 1")
            try await Self.withAPI(postgres, directory: directory) { api in
                let listing = try await api.get("/v1/exports")
                #expect(listing.status == .ok)
                let exports = listing.json["exports"].array
                #expect(exports.count == built.count && exports.count == counts.count + 1)
                #expect(!exports.contains { $0["version"].number == Double(firstVersion) })
                let sqlite = try #require(exports.first { $0["kind"].string == "sam-sqlite" })
                let name = try #require(sqlite["name"].string)
                let file = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
                #expect(sqlite["sizeBytes"].number == Double(file.count))
                let sha = SHA256.hash(data: file).map { String(format: "%02x", $0) }.joined()
                #expect(sqlite["sha256"].string == sha)
                #expect(sqlite["url"].string == "/v1/exports/files/\(name)")
                let onlyNDJSON = try await api.get("/v1/exports?kind=sam-ndjson")
                #expect(onlyNDJSON.json["exports"].array.allSatisfy { $0["kind"].string == "sam-ndjson" })
                #expect(try await api.get("/v1/exports?kind=other").status == .badRequest)

                let whole = try await api.get("/v1/exports/files/\(name)")
                #expect(whole.status == .ok && Data(whole.body) == file)
                #expect(whole.headers[.eTag] == "\"\(sha)\"")
                #expect(whole.headers[.acceptRanges] == "bytes")
                let etag = try #require(whole.headers[.eTag])
                #expect(
                    try await api.get("/v1/exports/files/\(name)", headers: [.ifNoneMatch: etag]).status == .notModified
                )
                let part = try await api.get("/v1/exports/files/\(name)", headers: [.range: "bytes=100-1123"])
                #expect(part.status == .partialContent && Data(part.body) == file[100...1123])
                #expect(part.headers[.contentRange] == "bytes 100-1123/\(file.count)")
                let tail = try await api.get("/v1/exports/files/\(name)", headers: [.range: "bytes=-10"])
                #expect(tail.status == .partialContent && Data(tail.body) == file.suffix(10))
                let rest = try await api.get("/v1/exports/files/\(name)", headers: [.range: "bytes=\(file.count - 5)-"])
                #expect(Data(rest.body) == file.suffix(5))
                let past = try await api.get("/v1/exports/files/\(name)", headers: [.range: "bytes=\(file.count)-"])
                #expect(past.status == .rangeNotSatisfiable && past.headers[.contentRange] == "bytes */\(file.count)")
                let stale = try await api.get(
                    "/v1/exports/files/\(name)", headers: [.range: "bytes=0-9", .ifRange: "\"other\""])
                #expect(stale.status == .ok && stale.body.count == file.count)
                let fresh = try await api.get(
                    "/v1/exports/files/\(name)", headers: [.range: "bytes=0-9", .ifRange: etag])
                #expect(fresh.status == .partialContent && fresh.body.count == 10)
                for hostile in [
                    "bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=abc",
                    "bytes=\(String(repeating: "9", count: 300))-",
                ] {
                    let response = try await api.get("/v1/exports/files/\(name)", headers: [.range: hostile])
                    #expect(response.status == .ok && response.body.count == file.count, "\(hostile)")
                }
                for (uri, status) in [
                    ("/v1/exports/files/..%2F..%2Fetc%2Fpasswd", HTTPResponse.Status.badRequest),
                    ("/v1/exports/files/sam-1.sqlite%00", .badRequest),
                    ("/v1/exports/files/SAM.sqlite", .badRequest),
                    ("/v1/exports/files/\(String(repeating: "a", count: 500)).sqlite", .badRequest),
                    ("/v1/exports/files/\(first[0].name)", .notFound),
                    ("/v1/exports/files/\(name)?x=1", .badRequest),
                ] {
                    #expect(try await api.get(uri).status == status, "\(uri)")
                }

                // NDJSON: one file per type, one line per stored entity, keys in order.
                for entry in exports where entry["kind"].string == "sam-ndjson" {
                    let type = try #require(entry["entityType"].string)
                    let path = "\(directory)/\(entry["name"].string ?? "")"
                    let read = try await ChildProcess.run("/usr/bin/env", ["python3", Self.checker, "ndjson", path])
                    let summary = JSON(bytes: Array(read.output))
                    let keys = try await postgres.strings(
                        "SELECT entity_key FROM sam_entity WHERE entity_type = \(type) ORDER BY entity_key")
                    #expect(summary["types"].array.map(\.string) == [type])
                    #expect(summary["keys"].array.compactMap(\.string) == keys, "\(type)")
                }
            }
        }
    }

    @Test func theServerBuildsTheFilesOfANewImportInTheBackground() async throws {
        let export = try generatedExport(seed: 64, scale: 0.002)
        try await TestDatabase.with { postgres, _ in
            let directory = try TestDatabase.temporaryDirectory()
            var settings = ServerSettings(logLevel: .warning, cacheBytes: 0)
            var exports = ExportSettings(directory: directory)
            exports.pollInterval = .milliseconds(200)
            settings.exports = exports
            let app = try RegistryApplication.make(
                client: postgres, settings: settings, logger: TestDatabase.logger, runsClient: false)
            try await app.test(.live) { client in
                let api = APIClient(client: client)
                #expect(try await api.get("/v1/exports").json["exports"].array.isEmpty)
                try await Self.importSAM(postgres, export)
                let run = try await postgres.strings("SELECT max(id)::text FROM import_run WHERE domain = 'sam'")[0]
                let listed = await eventuallyTrue(timeout: .seconds(120)) {
                    let listing = try? await api.get("/v1/exports")
                    return listing?.json["exports"].array.contains {
                        $0["kind"].string == "sam-sqlite" && $0["version"].number.map { String(Int($0)) } == run
                    } ?? false
                }
                #expect(listed)
                // The snapshot is recorded last: once it is listed, every file of the version is.
                let types = try await postgres.strings("SELECT DISTINCT entity_type FROM sam_entity")
                #expect(try await api.get("/v1/exports").json["exports"].array.count == types.count + 1)
                #expect(FileManager.default.fileExists(atPath: "\(directory)/sam-\(run).sqlite"))
                // Nothing half-built is left behind.
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                    $0.hasSuffix(".partial")
                }
                #expect(leftovers.isEmpty)
            }
        }
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventuallyTrue(timeout: Duration, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return await condition()
}

/// Pure: how long the export service waits after failed builds.
@Suite struct ExportRetryDelayTests {
    @Test func aFailingBuildIsRetriedLessAndLessOftenUpToTenMinutes() {
        #expect(ExportService.delay(after: 0, poll: .seconds(10)) == .seconds(10))
        #expect(ExportService.delay(after: 1, poll: .seconds(10)) == .seconds(20))
        #expect(ExportService.delay(after: 3, poll: .seconds(10)) == .seconds(80))
        #expect(ExportService.delay(after: 7, poll: .seconds(10)) == .seconds(600))
        #expect(ExportService.delay(after: 1_000, poll: .seconds(10)) == .seconds(600))
    }
}
