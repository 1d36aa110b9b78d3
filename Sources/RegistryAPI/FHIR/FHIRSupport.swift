import Foundation
import Hummingbird
import RegistryCore

/// Identifier systems and code systems the FHIR resources use.
enum FHIRSystem {
    /// Belgian NamingSystem URIs: the preferred `uniqueId` of eHealth Platform's NamingSystems
    /// (hl7-be/terminology: be-ssin, be-nihdi, be-ns-nihdi-professional, be-ns-nihdi-organization,
    /// be-cbe, be-ehp, be-ns-cnk-codes, be-ns-cti-extended-code).
    static let ssin = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
    static let nihii = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi"
    static let nihiiProfessional = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-professional"
    static let nihiiOrganization = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization"
    static let cbe = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/cbe"
    static let ehp = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ehp"
    static let cnk = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cnk-codes"
    static let ctiExtended = "https://www.ehealth.fgov.be/standards/fhir/medication/NamingSystem/cti-extended-code"
    /// HL7 Belgium's draft (hl7-be/referral be-ns-amp-codes); eHealth Platform publishes none for AMPs.
    static let samAmp = "https://www.ehealth.fgov.be/standards/fhir/NamingSystem/amp-codes"
    /// Not Belgian standards: the registry's own, for what has no public NamingSystem.
    static let afmps = "https://registry.example.be/fhir/NamingSystem/afmps-pharmacy"
    static let samCompany = "https://registry.example.be/fhir/NamingSystem/sam-company-actor-nr"
    /// The virtual forms of SAM's VMP file (a VMP component's `VirtualForm` code).
    static let samVirtualForm = "https://registry.example.be/fhir/CodeSystem/sam-virtual-form"
    static let practice = "https://registry.example.be/fhir/NamingSystem/practice"
    static let samProfession = "https://registry.example.be/fhir/CodeSystem/cd-hcparty"
    /// EMA SPOR: RMS terms are coded in the system of their list; SMS substances by their id.
    static func rmsList(_ listId: String) -> String { "https://spor.ema.europa.eu/v1/lists/\(listId)" }
    static let rmsPrefix = "https://spor.ema.europa.eu/v1/lists/"
    static let sms = "https://spor.ema.europa.eu/v2/SubstanceDefinition"
    /// OMS ids as the UNICOM and ePI FHIR examples cite them.
    static let omsOrganisations = "https://spor.ema.europa.eu/v1/organisations"
    static let omsLocations = "https://spor.ema.europa.eu/v1/locations"
    static let edqm = "http://standardterms.edqm.eu"
    static let ucum = "http://unitsofmeasure.org"
    static let atc = "http://www.whocc.no/atc"
    static let publicationStatus = "http://hl7.org/fhir/publication-status"
}

/// Small builders for FHIR JSON.
enum FHIR {
    static let contentType = "application/fhir+json"

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["system": .string(system), "code": .string(code)]
        if let display { members["display"] = .string(display) }
        return .object(members)
    }

    static func concept(_ codings: [JSONValue], text: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if !codings.isEmpty { members["coding"] = .array(codings) }
        if let text { members["text"] = .string(text) }
        return .object(members)
    }

    static func identifier(_ system: String, _ value: String) -> JSONValue {
        .object(["system": .string(system), "value": .string(value)])
    }

    static func reference(_ type: String, _ id: String, display: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["reference": .string("\(type)/\(id)")]
        if let display { members["display"] = .string(display) }
        return .object(members)
    }

    /// A FHIR id: letters, digits, '-' and '.', at most 64 (our keys' '_' and ':' become '-').
    static func id(_ key: String) -> String {
        String(
            key.map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." ? $0 : "-" }.prefix(64))
    }

    /// The answer to send (the routes return it; ``serve(_:cache:_:)`` sends it).
    static func response(_ resource: JSONValue, request: Request) -> JSONValue {
        pruned(resource) ?? .object([:])
    }

    /// Sends a FHIR answer from the response cache, or computes and caches it. The key holds the
    /// base URL (links and fullUrls carry it) and today's date (resources show what is valid today).
    static func serve(
        _ request: Request, cache: ResponseCache, today: LocalDate, _ compute: () async throws -> JSONValue
    ) async throws -> Response {
        try await serveRendered(request, cache: cache, today: today) { try await compute().canonicalBytes }
    }

    /// The same for an answer already rendered as canonical JSON.
    static func serveRendered(
        _ request: Request, cache: ResponseCache, today: LocalDate, _ compute: () async throws -> [UInt8]
    ) async throws -> Response {
        let key = "fhir|\(today)|\(base(request))\(request.uri.description)"
        return try await cache.answerRendered(request, key: key, contentType: contentType, compute)
    }

    /// FHIR JSON has no empty arrays or objects and no nulls: they are left out.
    static func pruned(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null: return nil
        case .array(let items):
            let kept = items.compactMap(pruned)
            return kept.isEmpty ? nil : .array(kept)
        case .object(let members):
            let kept = members.compactMapValues(pruned)
            return kept.isEmpty ? nil : .object(kept)
        default: return value
        }
    }

    /// A `searchset` Bundle: `total`, `self` and `next` links, matches then includes.
    static func searchset(
        request: Request, base: String, total: Int?, matches: [JSONValue], includes: [JSONValue] = [],
        next: String?
    ) -> JSONValue {
        var links: [JSONValue] = [
            .object(["relation": .string("self"), "url": .string(base + request.uri.description)])
        ]
        if let next { links.append(.object(["relation": .string("next"), "url": .string(base + next)])) }
        func entry(_ resource: JSONValue, mode: String) -> JSONValue {
            let type = resource["resourceType"]?.stringValue ?? ""
            let id = resource["id"]?.stringValue ?? ""
            return .object([
                "fullUrl": .string("\(base)/fhir/\(type)/\(id)"), "resource": resource,
                "search": .object(["mode": .string(mode)]),
            ])
        }
        var members: [String: JSONValue] = [
            "resourceType": .string("Bundle"), "type": .string("searchset"), "link": .array(links),
            "entry": .array(matches.map { entry($0, mode: "match") } + includes.map { entry($0, mode: "include") }),
        ]
        if let total { members["total"] = .number(String(total)) }
        return .object(members)
    }

    /// `searchset(…)` pruned and in canonical JSON, written from resources already rendered in
    /// canonical JSON (`matches`: type, id, bytes), so a page costs no JSON tree. The two must give
    /// the same bytes: ProviderAPITests compares Location searches answered both ways.
    static func searchsetBytes(
        request: Request, base: String, total: Int?, matches: [(type: String, id: String, resource: [UInt8])],
        next: String?
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + matches.reduce(0) { $0 + $1.resource.count + 128 })
        func string(_ text: String) { out.append(contentsOf: JSONValue.string(text).canonicalBytes) }
        out.append(UInt8(ascii: "{"))
        if !matches.isEmpty {
            out.append(contentsOf: #""entry":["#.utf8)
            for (index, match) in matches.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"fullUrl":"#.utf8)
                string("\(base)/fhir/\(match.type)/\(match.id)")
                out.append(contentsOf: #","resource":"#.utf8)
                out.append(contentsOf: match.resource)
                out.append(contentsOf: #","search":{"mode":"match"}}"#.utf8)
            }
            out.append(contentsOf: "],".utf8)
        }
        out.append(contentsOf: #""link":[{"relation":"self","url":"#.utf8)
        string(base + request.uri.description)
        if let next {
            out.append(contentsOf: #"},{"relation":"next","url":"#.utf8)
            string(base + next)
        }
        out.append(contentsOf: #"}],"resourceType":"Bundle","#.utf8)
        if let total { out.append(contentsOf: #""total":\#(total),"#.utf8) }
        out.append(contentsOf: #""type":"searchset"}"#.utf8)
        return out
    }

    /// The server's base URL as the client addressed it (for `fullUrl` and links).
    static func base(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        let scheme = request.head.scheme ?? "http"
        return "\(scheme)://\(host)"
    }

    /// An OperationOutcome for a problem (every error under /fhir).
    static func outcome(_ problem: Problem) -> JSONValue {
        let code: String
        switch problem.status.code {
        case 400: code = problem.type.hasSuffix("unknown-parameter") ? "not-supported" : "invalid"
        case 401, 403: code = "security"
        case 404: code = "not-found"
        case 405: code = "not-supported"
        case 414: code = "too-long"
        case 422: code = "processing"
        default: code = "exception"
        }
        var issue: [String: JSONValue] = [
            "severity": .string(problem.status.code >= 500 ? "fatal" : "error"), "code": .string(code),
            "diagnostics": .string(problem.detail), "details": .object(["text": .string(problem.title)]),
        ]
        if case .string(let parameter)? = problem.extensions["parameter"] {
            issue["expression"] = .array([.string(parameter)])
        }
        return .object(["resourceType": .string("OperationOutcome"), "issue": .array([.object(issue)])])
    }
}

/// The query of a FHIR search: parameters may repeat and carry a modifier (`name:contains`).
/// Parameters a resource does not support are refused (400 OperationOutcome), never ignored.
struct FHIRSearch {
    struct Parameter {
        var name: String
        var modifier: String?
        var value: String
    }

    var parameters: [Parameter]
    var count: Int
    var offset: Int

    /// Result parameters every search takes.
    static let common: Set<String> = ["_count", "_offset", "_format", "_total"]

    init(_ request: Request, supported: [String: Set<String>], defaultCount: Int = 20) throws {
        var parameters: [Parameter] = []
        for (rawName, rawValue) in request.uri.queryParameters {
            // Clients may percent-encode names too (`name%3Acontains`).
            let full = String(rawName).removingPercentEncoding ?? String(rawName)
            let value = String(rawValue)
            // An empty name (`?=x`, `?:=1`) is refused like any unknown one; splitting keeps empty
            // parts so that `parts` always has a first element.
            let parts = full.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts.first ?? ""
            let modifier = parts.count > 1 ? parts[1] : nil
            guard !name.isEmpty else {
                throw Problem(
                    .badRequest, type: Problem.typeBase + "unknown-parameter", title: "Unknown search parameter",
                    detail: "A search parameter has an empty name ('\(full)=…'); give name=value.",
                    extensions: ["parameter": .string(full)])
            }
            guard Self.common.contains(name) || supported[name] != nil else {
                throw Problem(
                    .badRequest, type: Problem.typeBase + "unknown-parameter", title: "Unknown search parameter",
                    detail:
                        "This server does not support the search parameter '\(name)' here; supported: \((Array(supported.keys) + Self.common.sorted()).sorted().joined(separator: ", ")).",
                    extensions: ["parameter": .string(full)])
            }
            if let modifier, !(supported[name]?.contains(modifier) ?? false) {
                throw Problem.invalidParameter(
                    full,
                    "The modifier ':\(modifier)' is not supported on '\(name)'"
                        + ((supported[name] ?? []).isEmpty
                            ? "."
                            : "; use \((supported[name] ?? []).sorted().map { ":" + $0 }.joined(separator: ", ")).")
                )
            }
            guard !value.isEmpty else {
                throw Problem.invalidParameter(full, "Search parameter '\(full)' has an empty value.")
            }
            guard !value.unicodeScalars.contains("\u{0}") else {
                throw Problem.invalidParameter(full, "Search parameter '\(full)' contains a NUL character.")
            }
            parameters.append(Parameter(name: name, modifier: modifier, value: value))
        }
        self.parameters = parameters
        func integer(_ name: String, _ range: ClosedRange<Int>, default value: Int) throws -> Int {
            let values = parameters.filter { $0.name == name }
            guard let text = values.first?.value else { return value }
            guard values.count == 1, let number = Int(text), range.contains(number) else {
                throw Problem.invalidParameter(
                    name, "\(name) must be one integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'.")
            }
            return number
        }
        count = try integer("_count", 0...100, default: defaultCount)
        offset = try integer("_offset", 0...10_000, default: 0)
        if let format = parameters.first(where: { $0.name == "_format" })?.value,
            !["json", "application/fhir+json", "application/json"].contains(format)
        {
            throw Problem.invalidParameter("_format", "Only JSON is served (_format=json), got '\(format)'.")
        }
    }

    func values(_ name: String) -> [Parameter] { parameters.filter { $0.name == name } }

    /// The single value of a parameter that may be given at most once.
    func single(_ name: String) throws -> Parameter? {
        let found = values(name)
        guard found.count <= 1 else {
            throw Problem.invalidParameter(name, "Search parameter '\(name)' may be given once here.")
        }
        return found.first
    }

    /// A token `[system|]code`; the system, when given, must be one of `systems`.
    func token(_ name: String, systems: [String]) throws -> (system: String?, code: String)? {
        guard let parameter = try single(name) else { return nil }
        let parts = parameter.value.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(
            String.init)
        if parts.count == 2 {
            guard parts[0].isEmpty || systems.contains(parts[0]) else {
                throw Problem.invalidParameter(
                    name,
                    "Unknown identifier system '\(parts[0])' for \(name); use one of \(systems.joined(separator: ", "))."
                )
            }
            guard !parts[1].isEmpty else { throw Problem.invalidParameter(name, "\(name) needs a code after '|'.") }
            return (parts[0].isEmpty ? nil : parts[0], parts[1])
        }
        return (nil, parameter.value)
    }

    /// The `next` page link of this search, or nil when the page is the last.
    func next(_ request: Request, total: Int) -> String? {
        guard count > 0, offset + count < total, offset + count <= 10_000 else { return nil }
        var items = parameters.filter { $0.name != "_offset" }.map { parameter -> String in
            let name = parameter.modifier.map { "\(parameter.name):\($0)" } ?? parameter.name
            return "\(Self.encoded(name))=\(Self.encoded(parameter.value))"
        }
        items.append("_offset=\(offset + count)")
        if !parameters.contains(where: { $0.name == "_count" }) { items.append("_count=\(count)") }
        return request.uri.path + "?" + items.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters (ASCII only) and ':'.
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:")

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
