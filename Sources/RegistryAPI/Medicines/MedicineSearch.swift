import Foundation
import Hummingbird
import RegistryCore
import RegistryStore

extension MedicineRoutes {
    static var searchParameters: Set<String> {
        ["q", "lang", "atc", "ingredient", "company", "vmpGroup", "env", "at", "limit", "cursor"]
    }

    /// `GET /v1/medicines?q=...`: AMPs, AMPPs and VMPs by name in any language, code, and filters.
    func search(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.searchParameters)
        let given = parameters["q"] ?? ""
        guard given.unicodeScalars.count <= 200 else {
            throw Problem.invalidParameter("q", "q must be at most 200 characters, got \(given.unicodeScalars.count).")
        }
        let text = given.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !given.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Problem.invalidParameter("q", "q must not contain control characters.")
        }
        let language = try parameters.language()
        var query = SAMSearchQuery(
            text: text, language: language.rawValue, at: try parameters.date(now: clock.now()),
            limit: try parameters.limit())
        if let atc = parameters["atc"] {
            guard SAMIdentifierKind.atcCode.isValid(atc) || Self.isATCPrefix(atc) else {
                throw Problem.invalidParameter(
                    "atc", "atc must be an ATC code or its prefix (e.g. N05 or N05AD01), got '\(atc)'.")
            }
            query.atcPrefix = atc
        }
        if let ingredient = parameters["ingredient"] {
            guard ingredient.utf8.count <= 12, ingredient.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw Problem.invalidParameter(
                    "ingredient", "ingredient must be a SAM substance code (digits), got '\(ingredient)'.")
            }
            query.ingredient = ingredient
        }
        if let company = parameters["company"] {
            guard SAMIdentifierKind.actorNr.isValid(company) else {
                throw Problem.invalidParameter(
                    "company", "company must be \(SAMIdentifierKind.actorNr.expectation), got '\(company)'.")
            }
            query.company = company
        }
        if let group = parameters["vmpGroup"] {
            guard (1...9).contains(group.utf8.count), group.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw Problem.invalidParameter(
                    "vmpGroup", "vmpGroup must be a VMP group code (digits), got '\(group)'.")
            }
            query.vmpGroup = group
        }
        query.environment = try parameters.environment(default: nil)
        if let cursor = parameters["cursor"] {
            guard let position = Self.decodeCursor(cursor) else {
                throw Problem.invalidParameter(
                    "cursor", "cursor is not one this API issued; use the `next` value of a previous page.")
            }
            query.after = position
        }

        var key = "search|\(query.text)|\(language.rawValue)|\(query.at)|\(query.limit)"
        for value in [
            query.atcPrefix, query.ingredient, query.company, query.vmpGroup, query.environment, parameters["cursor"],
        ] {
            key += "|" + (value ?? "")
        }
        // A page depends on the whole search index: it goes with every SAM import.
        return try await cache.answer(request, key: key, tags: [CacheTag.samSearch]) {
            try await page(query, parameters: parameters, language: language)
        }
    }

    func page(_ query: SAMSearchQuery, parameters: QueryParameters, language: DisplayLanguage) async throws -> JSONValue
    {
        let hits = try await SAMSearchQueries(client: client, logger: logger).search(query)
        let page = hits.prefix(query.limit)
        let items: [JSONValue] = page.map { hit in
            let type = hit.position.entityType
            let key = hit.position.entityKey
            let href: String
            switch type {
            case "amp": href = "/v1/medicines/amp/\(key)"
            case "ampp": href = "/v1/medicines/ampp/\(key)"
            default: href = "/v1/medicines/vmp/\(key)"
            }
            return .object([
                "type": .string(type), "code": .string(key), "href": .string(href),
                "name": .string(hit.displayName ?? hit.matchedName),
                "match": .string(["code", "prefix", "similar"][max(0, min(2, hit.position.tier))]),
                "matchedName": .string(hit.matchedName),
                "matchedLanguages": .array(hit.matchedLanguages.map(JSONValue.string)),
            ])
        }
        var body: [String: JSONValue] = [
            "items": .array(items), "at": .string(query.at.description), "language": .string(language.rawValue),
            "limit": .number(String(query.limit)),
        ]
        if hits.count > query.limit, let last = page.last {
            let cursor = Self.encodeCursor(last.position)
            body["next"] = .string(cursor)
            var components = URLComponents()
            components.path = "/v1/medicines"
            // The next page must be read at the same date (the cursor is a position in that day's data).
            var items = parameters.values.filter { $0.key != "cursor" && $0.key != "at" }
            items["at"] = query.at.description
            components.queryItems =
                items.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
                + [URLQueryItem(name: "cursor", value: cursor)]
            body["nextHref"] = .string(components.string ?? "")
        } else {
            body["next"] = .null
            body["nextHref"] = .null
        }
        return .object(body)
    }

    static func isATCPrefix(_ text: String) -> Bool {
        // Any prefix of a valid 7-character code: A, A0, A01, A01A, A01AA, A01AA0, A01AA01.
        let template = Array("A00AA00".utf8)
        let u = Array(text.utf8)
        guard (1...7).contains(u.count) else { return false }
        for (i, b) in u.enumerated() {
            let digit = b >= 0x30 && b <= 0x39
            let upper = b >= 0x41 && b <= 0x5A
            if template[i] == UInt8(ascii: "0") ? !digit : !upper { return false }
        }
        return true
    }

    /// Cursors are opaque to clients: base64url of `[tier, sortKey, type, key]`.
    static func encodeCursor(_ position: SAMSearchPosition) -> String {
        let json = JSONValue.array([
            .number(String(position.tier)), .string(position.sortKey), .string(position.entityType),
            .string(position.entityKey),
        ])
        return Data(json.canonicalBytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ text: String) -> SAMSearchPosition? {
        guard text.utf8.count <= 1024 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self)),
            case .array(let parts) = json, parts.count == 4, let tier = parts[0].stringValue.flatMap({ Int($0) }),
            (0...2).contains(tier), case .string(let sortKey) = parts[1], case .string(let type) = parts[2],
            ["amp", "ampp", "vmp"].contains(type), case .string(let key) = parts[3],
            // Text PostgreSQL cannot take (NUL) or that no page ever ends with.
            [sortKey, key].allSatisfy({ text in
                text.utf8.count <= 600 && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
            })
        else { return nil }
        return SAMSearchPosition(tier: tier, sortKey: sortKey, entityType: type, entityKey: key)
    }
}
