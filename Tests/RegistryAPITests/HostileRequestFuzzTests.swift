import DatabaseTestSupport
import Foundation
import RegistryImport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryStore
import SAMReaders
import Testing

/// Generated hostile requests through the real router for every route family: whatever a client
/// sends, the answer is a well-formed response below 500 and the process survives (a trap in a
/// handler would end this test process).
@Suite(.timeLimit(.minutes(10)))
struct HostileRequestFuzzTests {
    /// The requests that killed the server before (issue 17, finding 1): a parameter with an empty name.
    static let knownKillers = [
        "/fhir/metadata?=x", "/fhir/Practitioner?%3A=1", "/fhir/Practitioner?:=1", "/fhir/Location?=",
        "/fhir/MedicinalProductDefinition?&=&", "/v1/medicines?=x", "/v1/practices?%3A=1",
    ]

    @Test func knownKillersGetAProblemAndTheServerLives() async throws {
        try await Self.withServer { client, _ in
            for uri in Self.knownKillers {
                let answer = try await Self.send(client, HostileRequest(method: .get, uri: uri))
                #expect(answer.status == .badRequest, "\(uri) → \(answer.status)")
                try await Self.checkWellFormed(answer, for: HostileRequest(method: .get, uri: uri))
            }
            #expect(try await Self.send(client, HostileRequest(method: .get, uri: "/health/live")).status == .ok)
        }
    }

    @Test func thousandsOfGeneratedHostileRequestsNeverAnswer5xx() async throws {
        try await Self.withServer { client, fixture in
            var generator = HostileRequestGenerator(seed: 17, fixture: fixture)
            var statuses: [Int: Int] = [:]
            for index in 0..<4000 {
                let request = generator.next()
                let answer = try await Self.send(client, request)
                statuses[Int(answer.status.code), default: 0] += 1
                #expect(answer.status.code < 500, "request \(index): \(request) → \(answer.status)")
                try await Self.checkWellFormed(answer, for: request)
            }
            // The generator reaches the handlers, not only the router's refusals.
            #expect(statuses[200, default: 0] > 100, "\(statuses)")
            #expect(statuses[400, default: 0] > 500, "\(statuses)")
            #expect(try await Self.send(client, HostileRequest(method: .get, uri: "/health/live")).status == .ok)
        }
    }

    // MARK: Support

    struct Fixture: Sendable {
        var cnk: String
        var amp: String
        var ampp: String
        var practice: String
        var nihii: String
        var token: String
    }

    static func withServer(_ body: @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        let export = try generatedExport(seed: 5, scale: 0.004)
        let actors = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let register = try ProviderFixture.folder([
            "practices.csv": ProviderFixture.practicesCSV(ProviderAPITests.practices())
        ])
        try await TestDatabase.with { postgres, _ in
            _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                input: try SAMInput.resolve(paths: [export]))
            _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: actors)
            _ = try await PracticeImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: register)
            let (_, token) = try await ClientRepository(client: postgres, logger: TestDatabase.logger).create(
                name: "fuzz", scopes: [.admin])
            let fixture = Fixture(
                cnk: try await postgres.strings(
                    "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY 1 LIMIT 1"
                ).first!,
                amp: try await postgres.strings(
                    "SELECT entity_key FROM sam_entity WHERE entity_type = 'amp' ORDER BY 1 LIMIT 1"
                ).first!,
                ampp: try await postgres.strings(
                    "SELECT entity_key FROM sam_entity WHERE entity_type = 'ampp' ORDER BY 1 LIMIT 1"
                ).first!,
                practice: try await postgres.strings("SELECT key FROM practice ORDER BY 1 LIMIT 1").first!,
                nihii: ProviderFixture.people[0].nihii, token: token.text)
            var settings = ServerSettings(logLevel: .critical)
            settings.practiceSearchInMemory = false
            var exports = ExportSettings(directory: try TestDatabase.temporaryDirectory())
            exports.builds = false
            settings.exports = exports
            let app = try RegistryApplication.make(
                client: postgres, settings: settings, logger: TestDatabase.logger, runsClient: false)
            try await app.test(.router) { client in try await body(client, fixture) }
        }
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: [UInt8]
    }

    static func send(_ client: any TestClientProtocol, _ request: HostileRequest) async throws -> Answer {
        try await client.execute(
            uri: request.uri, method: request.method, headers: request.headers,
            body: request.body.map { ByteBuffer(bytes: $0) }
        ) { response in
            Answer(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    /// JSON answers parse (with Foundation, independent of our writer); problems name their type
    /// and detail; every answer carries its request id.
    static func checkWellFormed(_ answer: Answer, for request: HostileRequest) async throws {
        #expect(answer.headers[HTTPField.Name("X-Request-Id")!] != nil, "\(request)")
        guard request.method != .head, answer.status != .notModified else { return }
        var body = answer.body
        if answer.headers[.contentEncoding] == "gzip" { body = try await gunzip(body) }
        let type = answer.headers[.contentType] ?? ""
        guard type.contains("json") else { return }
        let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        #expect(parsed != nil, "\(request) → \(answer.status): unparsable JSON body")
        if type.contains("problem+json") {
            let problem = parsed as? [String: Any]
            #expect(problem?["type"] is String && problem?["detail"] is String, "\(request)")
            #expect((problem?["status"] as? Int) == Int(answer.status.code), "\(request)")
        }
    }

    static func gunzip(_ bytes: [UInt8]) async throws -> [UInt8] {
        let directory = try TestDatabase.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/body.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return Array(try await ChildProcess.run("/bin/gzip", ["-dc", path]).output)
    }
}

/// One generated request.
struct HostileRequest: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var uri: String
    var headers: HTTPFields = [:]
    var body: [UInt8]? = nil

    var description: String {
        let shown = uri.count > 200 ? String(uri.prefix(200)) + "…(\(uri.utf8.count) bytes)" : uri
        return
            "\(method) \(shown) headers=\(headers.map { "\($0.name)=\($0.value.prefix(40))" }) body=\(body?.count ?? -1)B"
    }
}

/// Deterministic hostile requests over every route family: templates of the real routes with
/// their ids replaced by valid and hostile segments, query strings built from hostile names,
/// values and separators, hostile headers, and hostile bodies for the routes that take one.
struct HostileRequestGenerator {
    var random: SplitMix64
    let fixture: HostileRequestFuzzTests.Fixture

    init(seed: UInt64, fixture: HostileRequestFuzzTests.Fixture) {
        random = SplitMix64(state: seed)
        self.fixture = fixture
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    var templates: [String] {
        [
            "/v1/medicines/cnk/{cnk}", "/v1/medicines/amp/{amp}", "/v1/medicines/ampp/{ampp}", "/v1/medicines/vmp/{n}",
            "/v1/medicines/vmp-groups/{n}", "/v1/companies/{n}", "/v1/medicines/chapter-iv/{n}/{n}",
            "/v1/medicines", "/v1/changes", "/v1/institutions/{ref}", "/v1/providers/{nihii}", "/v1/providers",
            "/v1/practices/{practice}", "/v1/practices", "/v1/subscriptions", "/v1/subscriptions/{n}",
            "/v1/subscriptions/{n}/deliveries", "/v1/subscriptions/{n}/replay", "/v1/subscriptions/{n}/ping",
            "/v1/subscriptions/{n}/secret/rotate", "/v1/subscriptions/{n}/deliveries/{n}/retry", "/v1/audit",
            "/v1/spor/rms/lists", "/v1/spor/rms/lists/{n}/terms", "/v1/spor/rms/terms", "/v1/spor/rms/terms/{n}",
            "/v1/spor/sms/substances", "/v1/spor/sms/substances/{n}", "/v1/spor/oms/organisations/{n}",
            "/v1/spor/oms/locations/{n}", "/v1/mappings/coverage", "/fhir/metadata",
            "/fhir/MedicinalProductDefinition", "/fhir/MedicinalProductDefinition/{amp}",
            "/fhir/PackagedProductDefinition", "/fhir/PackagedProductDefinition/{ampp}",
            "/fhir/ManufacturedItemDefinition", "/fhir/Ingredient", "/fhir/SubstanceDefinition",
            "/fhir/CodeSystem", "/fhir/CodeSystem/$lookup", "/fhir/CodeSystem/{n}", "/fhir/Practitioner",
            "/fhir/Practitioner/{n}", "/fhir/PractitionerRole", "/fhir/PractitionerRole/{practice}",
            "/fhir/Location", "/fhir/Location/{practice}", "/fhir/Organization", "/fhir/Organization/{n}",
            "/v1/exports", "/v1/exports/files/{n}", "/v1/exports/sam/delta", "/fhir/$export",
            "/fhir/bulk-status/{n}", "/fhir/bulk-files/{n}/{n}",
            "/health/live", "/health/ready", "/metrics", "/openapi.json", "/{n}", "/fhir/{n}", "/v1/{n}",
        ]
    }

    static let hostileSegments = [
        "", "%00", "..", "%2e%2e", "%2F", "%2f..%2f", "%FF", "%C0%80", "%", "%zz", "-1", "0", "00000000",
        "99999999999999999999999", "1e309", "NaN", "%E2%80%AE", "%F0%9F%92%8A", "%20", "%0D%0A", "'%20OR%201=1--",
        "cnk:1", "afmps:", ":", "cbe:0403019261", "nihii:12345678", "hcp_", "ORG-", "LOC-100000001", "$lookup",
        String(repeating: "9", count: 600), String(repeating: "%41", count: 300),
    ]
    static let hostileNames = [
        "", ":", "::", "%3A", "%3a%3a", "_count", "_offset", "_format", "_total", "_lastUpdated", "_include", "q",
        "name", "name:contains", "name:exact", "name:", ":contains", "identifier", "near", "at", "lang", "limit",
        "cursor", "after", "types", "wait", "env", "history", "ssin", "radius_km", "postcode", "sort", "before",
        "status", "system", "code", "%00", "%FF", "a%00b", "é", "%E2%80%AE", "[]", "a[b]", "%26", "%3D",
        String(repeating: "n", count: 300),
    ]
    static let hostileValues = [
        "", "=", "==", "%", "%%", "%0", "%00", "%C0%80", "%FF%FE", "%ED%A0%80", "-1", "0", "1", "100", "101",
        "10001", "99999999999999999999", "1e309", "-0", "NaN", "Infinity", "2026-13-45", "2026-02-30", "0000-00-00",
        "ge2026-01-01'", "ge2026-01-01", "lt2026-12-01T00:00:00Z", "' OR 1=1--", "%27%3B%20DROP%20TABLE%20x--",
        "|", "||", "a|b|c", "http://x|y", "50.8|4.3|10|km", "50.8|4.3|1e9|km", "-91|181|1|km", "NaN|NaN|1|km",
        "sam.*", "*", "sam.dmpp.*,,", "%2A%2A%2A", "fr", "xx", "P", "true", "maybe", "🩺", "%F0%9F%A9%BA",
        "1000", "Bruxelles", "van de", "hcp_x", "eyJhIjoxfQ", "%2B%2F%3D", "$", "${jndi:ldap://x}", "<script>",
        String(repeating: "a", count: 3000), String(repeating: "%41", count: 1000), String(repeating: "9", count: 40),
    ]
    static let separators = ["&", "&", "&", "&&", ";", "&=&", "&&&"]

    mutating func segment(_ placeholder: String) -> String {
        if chance(40) {
            switch placeholder {
            case "{cnk}": return fixture.cnk
            case "{amp}": return fixture.amp
            case "{ampp}": return fixture.ampp
            case "{practice}": return fixture.practice
            case "{nihii}": return fixture.nihii
            case "{ref}": return pick(["afmps:913007", "cbe:0403019261", "nihii:12345678", "ehp:1234567890"])
            default: return pick(["1", "42", "123456"])
            }
        }
        return pick(Self.hostileSegments)
    }

    mutating func path() -> String {
        var path = pick(templates)
        for placeholder in ["{cnk}", "{amp}", "{ampp}", "{practice}", "{nihii}", "{ref}", "{n}"] {
            while let range = path.range(of: placeholder) {
                path.replaceSubrange(range, with: segment(placeholder))
            }
        }
        if chance(5) { path += pick(["/", "//", "/extra", "?", "#frag", "/%00"]) }
        return path
    }

    mutating func query() -> String {
        guard chance(85) else { return "" }
        var items: [String] = []
        for _ in 0..<(1 + Int(random.next() % 6)) {
            let name = pick(Self.hostileNames)
            let value = pick(Self.hostileValues)
            switch random.next() % 8 {
            case 0: items.append(name)
            case 1: items.append("=" + value)
            case 2: items.append("\(name)=\(value)=\(value)")
            case 3: items.append(contentsOf: ["\(name)=\(value)", "\(name)=\(value)"])
            default: items.append("\(name)=\(value)")
            }
        }
        var query = ""
        for (index, item) in items.enumerated() {
            if index > 0 { query += pick(Self.separators) }
            query += item
        }
        return "?" + query
    }

    mutating func headers() -> HTTPFields {
        var headers = HTTPFields()
        if chance(30) {
            headers[.authorization] = pick([
                "Bearer \(fixture.token)", "bearer \(fixture.token)", "BEARER \(fixture.token)", "Bearer",
                "Bearer ", "Bearer rgt_", "Bearer rgt_" + String(repeating: "x", count: 43),
                "Bearer " + String(repeating: "A", count: 3000), "Basic dXNlcjpwYXNz", "Bearer \(fixture.token) x",
                "Bearer\t\(fixture.token)",
            ])
        }
        if chance(20) {
            headers[.acceptEncoding] = pick(["gzip", "gzip;q=abc", "*", "br, gzip, deflate", "identity;q=0", "x"])
        }
        if chance(15) {
            headers[.ifNoneMatch] = pick([
                "*", "\"abc\"", "W/\"x\"", String(repeating: "\"a\",", count: 500), "\"", ",,,",
            ])
        }
        if chance(10) {
            headers[.accept] = pick(["application/fhir+xml", "*/*", "text/html", "application/json;q=0", ""])
        }
        if chance(10) {
            headers[.contentType] = pick([
                "application/json", "application/json; charset=latin1", "text/plain", "multipart/form-data",
                "application/json" + String(repeating: ";a=b", count: 200),
            ])
        }
        if chance(10) {
            headers[.acceptLanguage] = pick(["nl-BE", "*", "xx;q=2", String(repeating: "fr,", count: 300)])
        }
        return headers
    }

    mutating func body() -> [UInt8]? {
        switch random.next() % 12 {
        case 0: return Array(String(repeating: "[", count: 10_000).utf8)
        case 1:
            return Array(String(repeating: "{\"a\":", count: 5_000).utf8)
                + Array(String(repeating: "}", count: 5_000).utf8)
        case 2: return [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]
        case 3: return Array("{\"url\":\"https://example.org/\u{0}\",\"types\":[\"sam.*\"]}".utf8)
        case 4: return Array("{\"fromSeq\":1,\"toSeq\":99999999999999999999999}".utf8)
        case 5: return Array("{\"since\":\"2026-01-01T00:00:00+99:99\"}".utf8)
        case 6: return Array(repeating: 0x20, count: 70_000)
        case 7:
            return Array(
                "{\"url\":\"https://EXAMPLE.org./\",\"types\":[\"\(String(repeating: "x", count: 5000))\"]}".utf8)
        case 8: return Array("{\"filter\":{\"code\":{\"in\":\(String(repeating: "[", count: 300))}}}".utf8)
        case 9: return Array("{\"a\":1e999999, \"b\": -0, \"c\": \"\\ud800\"}".utf8)
        case 10: return [0]
        default: return nil
        }
    }

    mutating func next() -> HostileRequest {
        let method: HTTPRequest.Method = pick([.get, .get, .get, .get, .head, .post, .patch, .delete, .put, .options])
        var request = HostileRequest(method: method, uri: path() + query(), headers: headers())
        if [.post, .patch, .put].contains(method) || chance(5) { request.body = body() }
        return request
    }
}
