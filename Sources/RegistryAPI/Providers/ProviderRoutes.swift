import Crypto
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// Professionals and the practice register:
/// - `GET /v1/providers/{nihii|id}`: the professional behind an 11-digit NIHII (or a `hcp_` id),
///   with the professions, qualifications and practices valid `at` a date;
/// - `GET /v1/providers?ssin=`: the same with the personal fields, only with `providers:sensitive`,
///   every read audited;
/// - `GET /v1/practices/{id}` and the practice search `GET /v1/practices?…`.
struct ProviderRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let logger: Logger
    let reader: ProviderQueries
    let audit: AuditLog
    /// Public answers are cached until the next import commits (as medicine lookups are).
    let cache: ResponseCache
    /// Practice searches, from memory when loaded.
    let practiceSearch: PracticeSearchService
    /// Where "today" comes from (the default `at`).
    var clock = RegistryClock.system

    /// `auditClient`: where the audit of protected reads is written (the primary; `client` when nil).
    init(
        client: PostgresClient, cache: ResponseCache, practiceSearch: PracticeSearchService, logger: Logger,
        auditClient: PostgresClient? = nil
    ) {
        self.client = client
        self.cache = cache
        self.practiceSearch = practiceSearch
        self.logger = logger
        reader = ProviderQueries(client: client, logger: logger)
        audit = AuditLog(client: auditClient ?? client, logger: logger)
    }

    /// The same routes with `clock` as where "today" comes from.
    func with(clock: RegistryClock) -> Self {
        var routes = self
        routes.clock = clock
        return routes
    }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/providers/{ref}") { request, context in try await provider(request, context) }
        let sensitive = RouteAccess.client(.providersSensitive, action: "provider.read-sensitive")
        routes.get("/v1/providers", sensitive) { request, context in try await sensitiveProvider(request, context) }
        routes.post("/v1/providers/lookup", sensitive) { request, context in
            try await sensitiveLookup(request, context)
        }
        routes.get("/v1/practices/{id}") { request, context in try await practice(request, context) }
        routes.get("/v1/practices") { request, _ in try await search(request) }
    }

    static var privateCacheControl: String { "private, no-store" }

    func provider(_ request: Request, _ context: Context) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["at", "history"])
        let date: LocalDate? = try query.history() ? nil : try query.date(now: clock.now())
        let ref = try PathIdentifier.value(context, "ref")
        if ref.hasPrefix("hcp_") {
            guard ref.utf8.count == 20,
                ref.utf8.dropFirst(4).allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
            else {
                throw Problem.invalidParameter(
                    "ref", "A professional id is hcp_ and 16 hexadecimal digits, got '\(ref)'.")
            }
        } else {
            guard let nihii = NIHII(ref), nihii.kind == .person, nihii.digits == ref else {
                throw Problem.invalidParameter(
                    "ref",
                    "A provider is looked up by an 11-digit NIHII (e.g. 10012345678) or a hcp_ id, got '\(ref)'.")
            }
        }
        return try await cache.answer(request, key: "provider|\(ref)|\(date?.description ?? "history")") {
            let stored =
                try await ref.hasPrefix("hcp_") ? reader.professional(id: ref) : reader.professional(nihii: ref)
            guard let stored else {
                throw Problem.notFound("No professional has \(ref.hasPrefix("hcp_") ? "id" : "NIHII") \(ref).")
            }
            var body = ProviderRendering.professional(stored, at: date, sensitive: false).members
            if !ref.hasPrefix("hcp_") { body["requestedNihii"] = .string(ref) }
            return .object(body)
        }
    }

    func sensitiveProvider(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        let query = try QueryParameters(request, allowed: ["ssin", "at", "history"])
        guard let text = query["ssin"] else {
            throw Problem.invalidParameter(
                "ssin", "This route needs ssin= (a professional is otherwise looked up at /v1/providers/{nihii}).")
        }
        let date: LocalDate? = try query.history() ? nil : try query.date(now: clock.now())
        return try await sensitiveAnswer(ssin: text, at: date, caller: caller, request: request)
    }

    /// `POST /v1/providers/lookup` with `{"ssin", "at", "history"}`: the same answer as
    /// `GET /v1/providers?ssin=`, with the national number in the body, out of URLs and access logs.
    func sensitiveLookup(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        _ = try QueryParameters(request, allowed: [])
        let body = try ProviderLookupBody(try await JSONBody.object(request, context: context))
        let date: LocalDate? = body.history ? nil : body.at ?? clock.today
        return try await sensitiveAnswer(ssin: body.ssin, at: date, caller: caller, request: request)
    }

    func sensitiveAnswer(ssin text: String, at date: LocalDate?, caller: APIClientRecord, request: Request)
        async throws -> Response
    {
        guard let ssin = SSIN(text), ssin.digits == text else {
            throw Problem.invalidParameter("ssin", "ssin must be 11 digits passing the national-number or BIS check.")
        }
        let stored = try await reader.professional(ssin: ssin.digits)
        // The audit names the professional by the public id, never by the SSIN.
        try await audit.record(
            AuditEntry(
                clientId: caller.id, action: "provider.read-sensitive", target: stored?.id ?? "no-match",
                outcome: .succeeded, status: stored == nil ? 404 : 200))
        guard let stored else { throw Problem.notFound("No professional has this SSIN.") }
        return JSONResponse.make(
            ProviderRendering.professional(stored, at: date, sensitive: true), request: request,
            cacheControl: Self.privateCacheControl)
    }

    func practice(_ request: Request, _ context: Context) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let id = try PathIdentifier.value(context, "id")
        guard id.range(of: #"^[A-Za-z0-9._-]{1,64}$"#, options: .regularExpression) != nil else {
            throw Problem.invalidParameter("id", "A practice id is 1-64 of A-Za-z0-9._-, got '\(id)'.")
        }
        return try await cache.answer(request, key: "practice|\(id)") {
            guard let found = try await reader.practice(key: id) else { throw Problem.notFound("No practice \(id).") }
            return ProviderRendering.practiceAnswer(key: id, found)
        }
    }

    // MARK: Search

    static var searchParameters: Set<String> {
        [
            "name", "profession", "qualification", "language", "postcode", "near", "radius_km", "at", "sort", "limit",
            "cursor",
        ]
    }

    func search(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.searchParameters)
        var query = try PracticeSearchParameters.parse(parameters, now: clock.now())
        let cursorKey = PracticeSearchParameters.fingerprint(parameters)
        if let cursor = parameters["cursor"] {
            query.after = try PracticeSearchParameters.decodeCursor(cursor, fingerprint: cursorKey)
        }
        let key =
            "practices|"
            + parameters.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            + "|at=\(query.at)"
        return try await cache.answerRendered(request, key: key) {
            try await searchAnswer(query, parameters: parameters, cursorKey: cursorKey)
        }
    }

    func searchAnswer(_ query: PracticeSearchQuery, parameters: QueryParameters, cursorKey: String) async throws
        -> [UInt8]
    {
        let result = try await practiceSearch.search(query)
        var next: String?
        if result.hasMore, let last = result.hits.last {
            var components = URLComponents()
            components.path = "/v1/practices"
            components.queryItems =
                parameters.values.filter { $0.key != "cursor" }.sorted { $0.key < $1.key }.map {
                    URLQueryItem(name: $0.key, value: $0.value)
                } + [
                    URLQueryItem(
                        name: "cursor",
                        value: PracticeSearchParameters.encodeCursor(
                            value: last.sortValue, key: last.practiceKey, fingerprint: cursorKey))
                ]
            next = components.string ?? ""
        }
        return ProviderRendering.searchBody(
            at: query.at, sort: query.sort.rawValue, hits: result.hits, total: result.total,
            totalIsExact: result.totalIsExact, next: next)
    }
}

/// The practice search's parameters, checked (400 with the parameter named on anything odd).
enum PracticeSearchParameters {
    static func parse(_ p: QueryParameters, now: Date) throws -> PracticeSearchQuery {
        let at = try p.date(now: now)
        var limit = 20
        if let text = p["limit"] {
            guard let value = Int(text), (1...100).contains(value) else {
                throw Problem.invalidParameter("limit", "limit must be an integer from 1 to 100, got '\(text)'.")
            }
            limit = value
        }
        var name: String?
        if let text = p["name"] {
            let letters = text.unicodeScalars.filter { CharacterSet.letters.contains($0) }.count
            guard text.count <= 100, letters >= 2 else {
                throw Problem.invalidParameter("name", "name needs at least two letters and at most 100 characters.")
            }
            name = text
        }
        func code(_ parameter: String, _ isValid: (String) -> Bool, example: String) throws -> String? {
            guard let text = p[parameter] else { return nil }
            guard isValid(text) else {
                throw Problem.invalidParameter(parameter, "\(parameter) must look like \(example), got '\(text)'.")
            }
            return text
        }
        let profession = try code("profession", isProfessionCode, example: "persphysician (a CD-HCPARTY code)")
        let qualification = try code(
            "qualification", isProfessionCode, example: "persgeneralphysician (a CD-HCPARTY code)")
        let language = try code(
            "language", { only($0, UInt8(ascii: "a")...UInt8(ascii: "z"), count: 2...2) }, example: "fr, nl, de or en")
        let postcode = try code("postcode", isPostcode, example: "1000")
        var near: (Double, Double)?
        if let text = p["near"] {
            near = try location(text)
        }
        var radius: Double?
        if let text = p["radius_km"] {
            guard near != nil else {
                throw Problem.invalidParameter("radius_km", "radius_km needs near= (LAT,LON or a postcode).")
            }
            guard let value = Double(text), value > 0, value <= 250 else {
                throw Problem.invalidParameter(
                    "radius_km", "radius_km must be a number above 0 and at most 250, got '\(text)'.")
            }
            radius = value * 1000
        } else if near != nil {
            radius = 10_000
        }
        let sort: PracticeSearchQuery.Sort
        if let text = p["sort"] {
            switch text {
            case "distance":
                guard near != nil else {
                    throw Problem.invalidParameter("sort", "sort=distance needs near= (LAT,LON or a postcode).")
                }
                sort = .distance
            case "relevance":
                guard name != nil else { throw Problem.invalidParameter("sort", "sort=relevance needs name=.") }
                sort = .relevance
            default:
                throw Problem.invalidParameter("sort", "sort must be distance or relevance, got '\(text)'.")
            }
        } else {
            sort = name != nil ? .relevance : near != nil ? .distance : .name
        }
        var query = PracticeSearchQuery(at: at, sort: sort, limit: limit)
        query.name = name
        query.profession = profession
        query.qualification = qualification
        query.language = language
        query.postcode = postcode
        query.near = near
        query.radiusMetres = radius
        return query
    }

    /// Whether `text` is `count` characters, each in `range` (checked per request: no regex).
    static func only(_ text: String, _ range: ClosedRange<UInt8>, count: ClosedRange<Int>) -> Bool {
        count.contains(text.utf8.count) && text.utf8.allSatisfy { range.contains($0) }
    }

    /// `pers` and 2-60 lowercase letters.
    static func isProfessionCode(_ text: String) -> Bool {
        text.hasPrefix("pers") && only(String(text.dropFirst(4)), UInt8(ascii: "a")...UInt8(ascii: "z"), count: 2...60)
    }

    /// Four digits.
    static func isPostcode(_ text: String) -> Bool { only(text, UInt8(ascii: "0")...UInt8(ascii: "9"), count: 4...4) }

    /// `LAT,LON` in WGS84 degrees, or a Belgian postcode (its centroid).
    static func location(_ text: String) throws -> (Double, Double) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let lat = Double(parts[0].trimmingCharacters(in: .whitespaces)),
                let lon = Double(parts[1].trimmingCharacters(in: .whitespaces)), (-90...90).contains(lat),
                (-180...180).contains(lon)
            else {
                throw Problem.invalidParameter(
                    "near", "near must be LAT,LON in degrees (e.g. 50.8466,4.3528) or a postcode, got '\(text)'.")
            }
            return (lat, lon)
        }
        guard isPostcode(text) else {
            throw Problem.invalidParameter(
                "near", "near must be LAT,LON in degrees (e.g. 50.8466,4.3528) or a postcode, got '\(text)'.")
        }
        guard let centre = PostcodeDirectory.bundled.entries[text]?.centroid else {
            throw Problem.invalidParameter("near", "Postcode \(text) is not a geographic Belgian postcode.")
        }
        return (centre.latitude, centre.longitude)
    }

    /// What a cursor is bound to: the parameters other than the cursor itself.
    static func fingerprint(_ p: QueryParameters) -> String {
        let text = p.values.filter { $0.key != "cursor" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
        return String(hexString(SHA256.hash(data: Data(text.utf8))).prefix(16))
    }

    static func encodeCursor(value: String, key: String, fingerprint: String) -> String {
        let json = JSONValue.object(["v": .string(value), "k": .string(key), "f": .string(fingerprint)]).canonicalText
        return Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ text: String, fingerprint: String) throws -> (value: String, key: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard text.count <= 512, let data = Data(base64Encoded: base64),
            let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self)),
            let value = json["v"]?.stringValue, let key = json["k"]?.stringValue, let f = json["f"]?.stringValue
        else {
            throw Problem.invalidParameter(
                "cursor", "cursor is not one this search returned (use the next link as is).")
        }
        guard f == fingerprint else {
            throw Problem.invalidParameter(
                "cursor", "cursor belongs to a search with other parameters; follow the next link of this search.")
        }
        return (value, key)
    }
}

/// The body of `POST /v1/providers/lookup`: `{"ssin", "at", "history"}`, decoded and checked
/// (a 422 problem whose `pointer` names the member at fault).
struct ProviderLookupBody: Equatable {
    var ssin: String
    /// The date asked for; nil: today.
    var at: LocalDate?
    var history = false

    init(_ body: [String: JSONValue]) throws {
        for name in body.keys.sorted() where !["ssin", "at", "history"].contains(name) {
            throw Problem.invalidBody(
                "Unknown member '\(name)'; the body takes ssin, at, history.", pointer: "/\(name)")
        }
        guard case .string(let text)? = body["ssin"] else {
            throw Problem.invalidBody("ssin (a string of 11 digits) is required.", pointer: "/ssin")
        }
        ssin = text
        switch body["history"] {
        case nil, .null?: break
        case .bool(let value)?: history = value
        default: throw Problem.invalidBody("history must be true or false.", pointer: "/history")
        }
        switch body["at"] {
        case nil, .null?: break
        case .string(let text)? where text.utf8.count == 10 && LocalDate(iso: text).map { $0.year >= 1 } == true:
            at = LocalDate(iso: text)
        default: throw Problem.invalidBody("at must be a calendar date YYYY-MM-DD.", pointer: "/at")
        }
    }
}
