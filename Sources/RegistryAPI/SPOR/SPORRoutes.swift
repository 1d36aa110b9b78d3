import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `/v1/spor/...`: the imported EMA SPOR data. RMS lists and their terms (paged in term id order,
/// filtered by name, language and status), terms by source code (`source=EDQM&code=10219000`),
/// and SMS substances by name or id.
struct SPORRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let logger: Logger

    var reader: SPORQueries { SPORQueries(client: client, logger: logger) }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/spor/rms/lists") { request, _ in try await lists(request) }
        routes.get("/v1/spor/rms/lists/{listId}/terms") { request, context in try await listTerms(request, context) }
        routes.get("/v1/spor/rms/terms") { request, _ in try await termsBySourceCode(request) }
        routes.get("/v1/spor/rms/terms/{termId}") { request, context in try await term(request, context) }
        routes.get("/v1/spor/sms/substances") { request, _ in try await substances(request) }
        routes.get("/v1/spor/sms/substances/{substanceId}") { request, context in
            try await substance(request, context)
        }
        routes.get("/v1/spor/oms/organisations/{id}") { request, context in
            try await oms(request, context, kind: "organisation")
        }
        routes.get("/v1/spor/oms/locations/{id}") { request, context in
            try await oms(request, context, kind: "location")
        }
    }

    func lists(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let lists = try await reader.lists()
        return JSONResponse.make(
            .object([
                "items": .array(
                    lists.map { list in
                        .object([
                            "listId": .string(list.listId),
                            "name": RMSListNames.name(of: list.listId).map(JSONValue.string) ?? .null,
                            "terms": .number(String(list.terms)), "currentTerms": .number(String(list.current)),
                            "lastChangedByImportRun": list.lastChangedRunId.map { .number(String($0)) } ?? .null,
                            "href": .string("/v1/spor/rms/lists/\(list.listId)/terms"),
                        ])
                    })
            ]), request: request)
    }

    func listTerms(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["q", "lang", "status", "after", "limit"])
        let listId = try Self.rmsId(context, "listId")
        let language = try parameters["lang"].map { text in
            guard text.utf8.count == 2, text.utf8.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else {
                throw Problem.invalidParameter(
                    "lang",
                    "lang is a two-letter lower-case language code of the RMS names (en, fr, nl, ...), got '\(text)'.")
            }
            return text
        }
        let status = try parameters["status"].map { text in
            guard RMSVocabulary.statuses.contains(text) else {
                throw Problem.invalidParameter(
                    "status",
                    "status is one of \(RMSVocabulary.statuses.sorted().joined(separator: ", ")), got '\(text)'.")
            }
            return text
        }
        let after = try parameters["after"].map { text in
            guard RMSVocabulary.isRMSId(text) else {
                throw Problem.invalidParameter(
                    "after", "after is the term id (12 digits) of a page's last term, got '\(text)'.")
            }
            return text
        }
        let limit = try parameters.limit(default: 100, maximum: 500)
        let query = parameters["q"]
        let filter = SPORQueries.TermFilter(
            listId: listId, query: query, language: language, status: status, after: after, limit: limit)
        let (terms, total) = try await reader.terms(filter)
        if total == 0, query == nil, status == nil, try await reader.lists().allSatisfy({ $0.listId != listId }) {
            throw Problem.notFound("RMS list \(listId) has not been imported.")
        }
        var body: [String: JSONValue] = [
            "listId": .string(listId), "name": RMSListNames.name(of: listId).map(JSONValue.string) ?? .null,
            "total": .number(String(total)), "items": .array(terms.map(Self.summary)),
        ]
        if terms.count == limit, let last = terms.last {
            var next = "/v1/spor/rms/lists/\(listId)/terms?after=\(last.termId)&limit=\(limit)"
            if let query { next += "&q=" + Self.percentEncoded(query) }
            if let language { next += "&lang=\(language)" }
            if let status { next += "&status=\(status)" }
            body["next"] = .string(next)
        }
        return JSONResponse.make(.object(body), request: request)
    }

    func term(_ request: Request, _ context: Context) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let termId = try Self.rmsId(context, "termId")
        guard let (document, runId) = try await reader.term(termId), case .object(var members) = document else {
            throw Problem.notFound("RMS term \(termId) is not in any imported list.")
        }
        members["href"] = .string("/v1/spor/rms/terms/\(termId)")
        if case .string(let list) = members["listId"] {
            members["listName"] = RMSListNames.name(of: list).map(JSONValue.string) ?? .null
        }
        if case .string(let current) = members["currentTermId"] {
            members["replacedBy"] = .object([
                "termId": .string(current), "href": .string("/v1/spor/rms/terms/\(current)"),
            ])
        }
        members["lastChangedByImportRun"] = runId.map { .number(String($0)) } ?? .null
        return JSONResponse.make(.object(members), request: request)
    }

    func termsBySourceCode(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["source", "code"])
        guard let source = parameters["source"], let code = parameters["code"] else {
            throw Problem.invalidParameter(
                parameters["source"] == nil ? "source" : "code",
                "Give both source (EDQM, UCUM, XEVMPD, VICH or a 12-digit RMS source id) and code, e.g. ?source=EDQM&code=10219000."
            )
        }
        guard let sourceId = RMSMappingSources.id(of: source) else {
            throw Problem.invalidParameter(
                "source",
                "Unknown mapping source '\(source)'; use EDQM, UCUM, XEVMPD, VICH or a 12-digit RMS source id.")
        }
        let terms = try await reader.terms(sourceId: sourceId, code: code)
        return JSONResponse.make(
            .object([
                "source": .object([
                    "id": .string(sourceId),
                    "name": RMSMappingSources.name(of: sourceId).map(JSONValue.string) ?? .null,
                ]),
                "code": .string(code), "items": .array(terms.map(Self.summary)),
            ]), request: request)
    }

    func substances(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["q", "limit"])
        guard let query = parameters["q"]?.trimmingCharacters(in: .whitespaces), query.count >= 2 else {
            throw Problem.invalidParameter("q", "q is the name (or part of it) to look for, at least 2 characters.")
        }
        let limit = try parameters.limit(default: 20, maximum: 100)
        let (found, total) = try await reader.substances(matching: query, limit: limit)
        return JSONResponse.make(
            .object([
                "query": .string(query), "total": .number(String(total)),
                "items": .array(
                    found.map { match in
                        var item: [String: JSONValue] = [
                            "substanceId": .string(match.substanceId), "name": .string(match.name),
                            "href": .string("/v1/spor/sms/substances/\(match.substanceId)"),
                        ]
                        if let synonym = match.matchedName { item["matchedName"] = .string(synonym) }
                        return .object(item)
                    }),
            ]), request: request)
    }

    func substance(_ request: Request, _ context: Context) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let id = try PathIdentifier.value(context, "substanceId")
        guard (9...15).contains(id.utf8.count), id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw Problem.invalidParameter("substanceId", "substanceId is an SMS id (9 to 15 digits), got '\(id)'.")
        }
        guard let (document, runId) = try await reader.substance(id), case .object(var members) = document else {
            throw Problem.notFound("SMS substance \(id) has not been imported.")
        }
        members["href"] = .string("/v1/spor/sms/substances/\(id)")
        members["lastChangedByImportRun"] = runId.map { .number(String($0)) } ?? .null
        return JSONResponse.make(.object(members), request: request)
    }

    /// An OMS organisation (with its locations) or location, also by an id merged into it.
    func oms(_ request: Request, _ context: Context, kind: String) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let id = try PathIdentifier.value(context, "id")
        let prefix = kind == "organisation" ? "ORG-" : "LOC-"
        guard id.hasPrefix(prefix), OMSVocabulary.isOMSId(id) else {
            throw Problem.invalidParameter("id", "id is an OMS \(kind) id: \(prefix) followed by digits, got '\(id)'.")
        }
        guard let found = try await reader.omsRecord(id, kind: kind), case .object(var members) = found.document else {
            throw Problem.notFound("OMS \(kind) \(id) has not been imported.")
        }
        let own = (members[kind == "organisation" ? "orgId" : "locId"]?.stringValue) ?? id
        members["href"] = .string("/v1/spor/oms/\(kind)s/\(own)")
        if let alias = found.resolvedFrom { members["resolvedFrom"] = .string(alias) }
        if kind == "organisation" {
            members["locations"] = .array(
                found.locationIds.map {
                    .object(["locId": .string($0), "href": .string("/v1/spor/oms/locations/\($0)")])
                })
        } else if let organisation = members["orgId"]?.stringValue {
            members["organisation"] = .object([
                "orgId": .string(organisation), "href": .string("/v1/spor/oms/organisations/\(organisation)"),
            ])
        }
        members["lastChangedByImportRun"] = found.runId.map { .number(String($0)) } ?? .null
        return JSONResponse.make(.object(members), request: request)
    }

    static func summary(_ term: SPORQueries.TermSummary) -> JSONValue {
        var item: [String: JSONValue] = [
            "termId": .string(term.termId), "listId": .string(term.listId), "status": .string(term.status),
            "name": term.name.map(JSONValue.string) ?? .null,
            "href": .string("/v1/spor/rms/terms/\(term.termId)"),
        ]
        if let language = term.language { item["nameLanguage"] = .string(language) }
        if let main = term.main { item["mainMapping"] = .bool(main) }
        return .object(item)
    }

    static func rmsId(_ context: Context, _ name: String) throws -> String {
        let text = try PathIdentifier.value(context, name)
        guard RMSVocabulary.isRMSId(text) else {
            throw Problem.invalidParameter(name, "\(name) is a 12-digit RMS identifier, got '\(text)'.")
        }
        return text
    }

    static func percentEncoded(_ text: String) -> String {
        FHIRSearch.encoded(text)
    }
}
