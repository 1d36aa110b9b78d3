import DatabaseTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryImport
import RegistryStore
import SAMReaders
import TestDataGenerators
import Testing

/// FHIR Bulk Data `$export` through the real server (its worker running): the asynchronous
/// pattern, a manifest as the Bulk Data IG writes it, every NDJSON line valid R5 (fhir.resources),
/// `_since` after a delta import, cancel, scopes; and no SSIN or birth date in any export file.
@Suite(.timeLimit(.minutes(8)))
struct BulkExportTests {
    struct Fixture: Sendable {
        var postgres: PostgresClient
        var directory: String
        var token: String
        var otherToken: String
    }

    static func with(
        _ body: @Sendable (APIClient, Fixture) async throws -> Void,
        before: @Sendable (PostgresClient) async throws -> Void
    ) async throws {
        let folder = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let register = try ProviderFixture.folder([
            "practices.csv": ProviderFixture.practicesCSV(ProviderAPITests.practices())
        ])
        try await TestDatabase.with { postgres, _ in
            let logger = TestDatabase.logger
            try await before(postgres)
            _ = try await CoBRHAImportPipeline(client: postgres, logger: logger).run(path: folder)
            _ = try await PracticeImportPipeline(client: postgres, logger: logger).run(path: register)
            let clients = ClientRepository(client: postgres, logger: logger)
            let (_, token) = try await clients.create(name: "mirror", scopes: [.exports])
            let (_, other) = try await clients.create(name: "reader", scopes: [.metricsRead])
            let directory = try TestDatabase.temporaryDirectory()
            var settings = ServerSettings(logLevel: .warning, cacheBytes: 0)
            var exports = ExportSettings(directory: directory)
            exports.pollInterval = .milliseconds(200)
            settings.exports = exports
            let app = try RegistryApplication.make(
                client: postgres, settings: settings, logger: logger, runsClient: false)
            try await app.test(.live) { client in
                try await body(
                    APIClient(client: client),
                    Fixture(postgres: postgres, directory: directory, token: token.text, otherToken: other.text))
            }
        }
    }

    static func bearer(_ token: String, async: Bool = true) -> HTTPFields {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .accept: "application/fhir+json"]
        if async { headers[HTTPField.Name("Prefer")!] = "respond-async" }
        return headers
    }

    /// Kicks off an export and polls its status to the manifest; returns (status path, manifest, lines by type).
    static func export(_ api: APIClient, token: String, query: String = "") async throws -> (
        String, JSON, [String: [[String: Any]]]
    ) {
        let kickOff = try await api.get("/fhir/$export\(query)", headers: bearer(token))
        #expect(kickOff.status == .accepted, "\(String(decoding: kickOff.body, as: UTF8.self))")
        let location = try #require(kickOff.headers[.contentLocation])
        let statusPath = try #require(URL(string: location)?.path)
        #expect(location.hasSuffix(statusPath) && location.hasPrefix("http"))
        var manifest = JSON(nil)
        var sawProgress = false
        for _ in 0..<600 {
            let status = try await api.get(statusPath, headers: bearer(token, async: false))
            if status.status == .accepted {
                #expect(status.headers[.retryAfter] != nil)
                sawProgress = sawProgress || status.headers[HTTPField.Name("X-Progress")!] != nil
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            #expect(status.status == .ok)
            #expect(status.headers[.contentType] == "application/json")
            #expect(status.headers[.expires] != nil)
            manifest = status.json
            break
        }
        #expect(sawProgress || manifest.exists)
        var lines: [String: [[String: Any]]] = [:]
        for output in manifest["output"].array {
            let url = try #require(output["url"].string)
            let file = try await api.get(try #require(URL(string: url)?.path), headers: bearer(token, async: false))
            #expect(file.status == .ok)
            #expect(file.headers[.contentType] == "application/fhir+ndjson")
            let parsed = file.body.split(separator: UInt8(ascii: "\n")).compactMap {
                try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
            }
            #expect(parsed.count == Int(output["count"].number ?? -1))
            lines[output["type"].string ?? "", default: []] += parsed
        }
        return (statusPath, manifest, lines)
    }

    static func ids(_ lines: [[String: Any]]) -> Set<String> { Set(lines.compactMap { $0["id"] as? String }) }

    @Test func anExportFollowsTheAsyncPatternItsLinesValidateAndItKeepsPersonalDataOut() async throws {
        let sam = try generatedExport(seed: 71, scale: 0.003)
        try await Self.with(
            { api, fixture in
                // Who may, and what a kick-off must say.
                #expect(try await api.get("/fhir/$export").status == .unauthorized)
                let forbidden = try await api.get("/fhir/$export", headers: Self.bearer(fixture.otherToken))
                #expect(forbidden.status == .forbidden)
                #expect(forbidden.json["resourceType"].string == "OperationOutcome")
                for (query, async) in [
                    ("", false), ("?_type=Patient", true), ("?_type=Practitioner,", true),
                    ("?_since=yesterday", true), ("?_since=2026-12-01", true), ("?_outputFormat=text/csv", true),
                    ("?_elements=id", true), ("?patient=1", true), ("?_type=Practitioner&_type=Location", true),
                    ("?_since=2026-12-01T00:00:00Z\u{0}", true),
                ] {
                    let refused = try await api.get(
                        "/fhir/$export\(query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? query)",
                        headers: Self.bearer(fixture.token, async: async))
                    #expect(refused.status == .badRequest, "\(query)")
                    #expect(refused.json["resourceType"].string == "OperationOutcome", "\(query)")
                }

                let (statusPath, manifest, lines) = try await Self.export(api, token: fixture.token)
                #expect(manifest["requiresAccessToken"].bool == true)
                #expect(manifest["request"].string?.hasSuffix("/fhir/$export") == true)
                #expect(manifest["transactionTime"].string?.hasPrefix("20") == true)
                #expect(manifest["error"].array.isEmpty)
                let types = Set(manifest["output"].array.compactMap(\.["type"].string))
                #expect(
                    types == [
                        "MedicinalProductDefinition", "PackagedProductDefinition", "ManufacturedItemDefinition",
                        "Ingredient", "SubstanceDefinition", "Practitioner", "PractitionerRole", "Location",
                        "Organization",
                    ])
                for (type, resources) in lines {
                    #expect(resources.allSatisfy { $0["resourceType"] as? String == type }, "\(type)")
                }
                // Exactly what the read API serves: every AMP that answers, every professional.
                let amps = try await fixture.postgres.strings(
                    "SELECT entity_key FROM sam_entity WHERE entity_type = 'amp' ORDER BY 1")
                var readable = Set<String>()
                for amp in amps where try await api.get("/fhir/MedicinalProductDefinition/\(amp)").status == .ok {
                    readable.insert(amp)
                }
                #expect(!readable.isEmpty)
                #expect(Self.ids(lines["MedicinalProductDefinition"] ?? []) == readable)
                let professionals = try await fixture.postgres.strings(
                    "SELECT replace(id, '_', '-') FROM professional ORDER BY 1")
                #expect(Self.ids(lines["Practitioner"] ?? []) == Set(professionals))
                #expect((lines["Location"] ?? []).count == ProviderAPITests.practices().count)

                // Every line is valid FHIR R5 (fhir.resources, an independent implementation).
                let file = try TestDatabase.temporaryDirectory() + "/all.ndjson"
                let all = lines.values.flatMap { $0 }
                try all.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
                    .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
                let validated = try await ChildProcess.python(
                    """
                    import json, sys
                    from fhir.resources import get_fhir_model_class
                    bad, n = [], 0
                    for line in open(sys.argv[1], encoding="utf-8"):
                        resource = json.loads(line)
                        n += 1
                        try:
                            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                        except Exception as error:
                            bad.append(f"{resource['resourceType']}/{resource.get('id')}: {str(error)[:300]}")
                    print(n, len(bad), bad[:3])
                    """, [file])
                #expect(
                    validated.outputText.hasPrefix("\(all.count) 0 "), "\(validated.outputText) \(validated.errorText)")

                // No SSIN or birth date in the FHIR files nor in the actor NDJSON files.
                let ssins = try await fixture.postgres.strings("SELECT ssin FROM professional")
                let births = try await fixture.postgres.strings(
                    "SELECT document->>'birthDate' FROM professional WHERE document ? 'birthDate'")
                #expect(!ssins.isEmpty && !births.isEmpty)
                let exported = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
                _ = try await ExportService.buildActorsNow(
                    client: fixture.postgres, settings: ExportSettings(directory: fixture.directory),
                    logger: TestDatabase.logger)
                let actorFiles = try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter {
                    $0.hasPrefix("actors-") && $0.hasSuffix(".ndjson.gz")
                }
                #expect(actorFiles.count == 3)
                var actorText = ""
                for name in actorFiles {
                    let read = try await ChildProcess.python(
                        "import gzip, sys; sys.stdout.write(gzip.open(sys.argv[1], 'rt', encoding='utf-8').read())",
                        ["\(fixture.directory)/\(name)"])
                    actorText += read.outputText
                }
                #expect(actorText.contains("\"id\":\"hcp_"))
                #expect(
                    actorText.split(separator: "\n").count >= professionals.count + ProviderAPITests.practices().count)
                for secret in ssins + births {
                    #expect(!exported.contains(secret), "FHIR export shows \(secret)")
                    #expect(!actorText.contains(secret), "actor export shows \(secret)")
                }

                // Another client never sees the job; its owner deletes it, and then it is gone.
                let other = try await ClientRepository(client: fixture.postgres, logger: TestDatabase.logger).create(
                    name: "other mirror", scopes: [.exports])
                #expect(
                    try await api.get(statusPath, headers: Self.bearer(other.1.text, async: false)).status == .notFound)
                let deleted = try await api.request(
                    statusPath, method: .delete, headers: Self.bearer(fixture.token, async: false))
                #expect(deleted.status == .accepted)
                #expect(
                    try await api.get(statusPath, headers: Self.bearer(fixture.token, async: false)).status == .notFound
                )
            },
            before: { postgres in
                _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                    input: try SAMInput.resolve(paths: [sam]))
            })
    }

    @Test func sinceReturnsWhatADeltaChangedAndCancelStopsAJob() async throws {
        let base = try generatedExport(seed: 72, scale: 0.003)
        let first = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: base, to: first, changes: 30, seed: 401)
        let second = try TestDatabase.temporaryDirectory()
        let changes = try SAMExportGenerator.writeNextVersion(from: first, to: second, changes: 30, seed: 402)
        // The generator renames companies in its first deltas (rewriting their AMPs); this one must not.
        #expect(!changes.contains { $0.entityType == "company" })
        try await Self.with(
            { api, fixture in
                let (_, _, before) = try await Self.export(api, token: fixture.token)
                try await Task.sleep(for: .milliseconds(20))
                let instant = try await fixture.postgres.strings(
                    "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")[0]
                try await Task.sleep(for: .milliseconds(20))
                _ = try await SAMImportPipeline(client: fixture.postgres, logger: TestDatabase.logger).run(
                    input: try SAMInput.resolve(paths: [second]))
                let (_, manifest, since) = try await Self.export(
                    api, token: fixture.token,
                    query: "?_since=\(instant)&_type=MedicinalProductDefinition,PackagedProductDefinition")
                #expect(manifest["output"].array.count == 2)
                let (_, _, after) = try await Self.export(
                    api, token: fixture.token, query: "?_type=MedicinalProductDefinition,PackagedProductDefinition")
                for type in ["MedicinalProductDefinition", "PackagedProductDefinition"] {
                    // What differs between the full exports before and after must be in the `_since` one…
                    func byId(_ lines: [[String: Any]]) -> [String: String] {
                        var out: [String: String] = [:]
                        for var resource in lines {
                            resource["meta"] = nil
                            let id = resource["id"] as? String ?? ""
                            out[id] = String(
                                decoding: try! JSONSerialization.data(withJSONObject: resource, options: .sortedKeys),
                                as: UTF8.self)
                        }
                        return out
                    }
                    let old = byId(before[type] ?? [])
                    let new = byId(after[type] ?? [])
                    let differing = Set(new.keys.filter { old[$0] != new[$0] })
                    let sinceIds = Self.ids(since[type] ?? [])
                    #expect(type == "MedicinalProductDefinition" || !differing.isEmpty, "\(type)")
                    #expect(
                        differing.isSubset(of: sinceIds),
                        "\(type): \(differing.subtracting(sinceIds).sorted().prefix(1).map { "\(old[$0] ?? "-") → \(new[$0] ?? "-")" })"
                    )
                    // …and nothing the delta did not touch (by the generator's own list of changes).
                    var touched = Set<String>()
                    for change in changes {
                        if type == "MedicinalProductDefinition",
                            ["amp", "amp_component", "real_actual_ingredient"].contains(change.entityType)
                        {
                            touched.insert(String(change.entityKey.split(separator: "/")[0]))
                        }
                        if type == "PackagedProductDefinition" {
                            if change.entityType == "ampp" { touched.insert(change.entityKey) }
                            let parents = try await fixture.postgres.strings(
                                """
                                SELECT parent_key FROM sam_entity WHERE entity_type = \(change.entityType)
                                  AND entity_key = \(change.entityKey) AND parent_type = 'ampp'
                                UNION
                                SELECT parent_key FROM sam_entity_history WHERE entity_type = \(change.entityType)
                                  AND entity_key = \(change.entityKey) AND parent_type = 'ampp'
                                """)
                            touched.formUnion(parents)
                        }
                    }
                    #expect(sinceIds.isSubset(of: touched), "\(type): \(sinceIds.subtracting(touched))")
                    #expect(sinceIds.count < new.count / 2, "\(type): \(sinceIds.count) of \(new.count)")
                }

                // Cancel while it runs (or right after): the status is gone and so are its files.
                let kickOff = try await api.get("/fhir/$export", headers: Self.bearer(fixture.token))
                let statusPath = try #require(URL(string: kickOff.headers[.contentLocation] ?? "")?.path)
                let cancelled = try await api.request(
                    statusPath, method: .delete, headers: Self.bearer(fixture.token, async: false))
                #expect(cancelled.status == .accepted)
                #expect(
                    try await api.get(statusPath, headers: Self.bearer(fixture.token, async: false)).status == .notFound
                )
                let id = String(statusPath.split(separator: "/").last ?? "")
                let gone = await eventuallyTrue(timeout: .seconds(30)) {
                    !FileManager.default.fileExists(atPath: "\(fixture.directory)/fhir-bulk/\(id)")
                }
                #expect(gone)
                // A client's open jobs are bounded (429 with Retry-After beyond).
                var statuses: [HTTPResponse.Status] = []
                for _ in 0..<4 {
                    statuses.append(try await api.get("/fhir/$export", headers: Self.bearer(fixture.token)).status)
                }
                #expect(statuses.contains(.tooManyRequests))
            },
            before: { postgres in
                for export in [base, first] {
                    _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                        input: try SAMInput.resolve(paths: [export]))
                }
            })
    }
}
