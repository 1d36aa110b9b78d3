import Logging
import PostgresNIO
import RegistryCore

/// A professional as stored: the merged document (with its personal fields) and practices.
public struct StoredProfessional: Sendable {
    public var id: String
    public var document: JSONValue
    public var runId: Int64?
    public var practices: [(key: String, document: JSONValue)]
}

/// A practice search, already validated by the API.
public struct PracticeSearchQuery: Sendable, Hashable {
    public enum Sort: String, Sendable { case distance, relevance, name }
    public var name: String?
    public var profession: String?
    public var qualification: String?
    public var language: String?
    public var postcode: String?
    public var near: (latitude: Double, longitude: Double)?
    public var radiusMetres: Double?
    public var at: LocalDate
    public var sort: Sort
    public var limit: Int
    /// Sort value and practice key of the last hit of the previous page.
    public var after: (value: String, key: String)?

    public init(at: LocalDate, sort: Sort, limit: Int) {
        self.at = at
        self.sort = sort
        self.limit = limit
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.profession == b.profession && a.qualification == b.qualification
            && a.language == b.language && a.postcode == b.postcode && a.near?.latitude == b.near?.latitude
            && a.near?.longitude == b.near?.longitude && a.radiusMetres == b.radiusMetres && a.at == b.at
            && a.sort == b.sort && a.limit == b.limit && a.after?.value == b.after?.value
            && a.after?.key == b.after?.key
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(postcode)
        hasher.combine(after?.key)
    }
}

public struct PracticeSearchHit: Sendable {
    public var practiceKey: String
    public var practice: JSONValue
    public var professionalId: String?
    public var familyName: String?
    public var givenName: String?
    public var profession: String?
    public var qualifications: [String]
    public var distanceMetres: Double?
    public var score: Double?
    /// The value the cursor continues after (distance chord, score, or name key).
    public var sortValue: String
}

public struct PracticeSearchResult: Sendable {
    public var hits: [PracticeSearchHit]
    public var hasMore: Bool
    /// Matches counted up to ``totalCap``; `totalIsExact` is false when there are more.
    public var total: Int
    public var totalIsExact: Bool
}

/// Reads professionals and practices, and runs practice searches on `practice_search`.
public struct ProviderReader: Sendable {
    let client: PostgresClient
    let logger: Logger
    public static let totalCap = 1_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func professional(nihii: String) async throws -> StoredProfessional? {
        try await professional(
            where: "p.id = (SELECT professional_id FROM professional_nihii WHERE nihii = $1)", nihii)
    }

    public func professional(id: String) async throws -> StoredProfessional? {
        try await professional(where: "p.id = $1", id)
    }

    public func professional(ssin: String) async throws -> StoredProfessional? {
        try await professional(where: "p.ssin = $1", ssin)
    }

    func professional(where condition: String, _ value: String) async throws -> StoredProfessional? {
        var binds = PostgresBindings()
        binds.append(value)
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: "SELECT p.id, p.document::text, p.changed_run_id FROM professional p WHERE \(condition)",
                binds: binds), logger: logger)
        var found: StoredProfessional?
        for try await (id, text, runId) in rows.decode((String, String, Int64?).self) {
            found = StoredProfessional(id: id, document: try JSONValue.parse(text), runId: runId, practices: [])
        }
        guard var professional = found else { return nil }
        let practices = try await client.query(
            """
            SELECT pr.key, pr.document::text FROM practice pr
            JOIN professional_nihii n ON n.nihii = pr.nihii
            WHERE n.professional_id = \(professional.id) ORDER BY pr.valid_from DESC, pr.key
            """, logger: logger)
        for try await (key, text) in practices.decode((String, String).self) {
            professional.practices.append((key, try JSONValue.parse(text)))
        }
        return professional
    }

    /// A practice with the professional behind its NIHII (if known).
    public func practice(key: String) async throws -> (document: JSONValue, professional: StoredProfessional?)? {
        let rows = try await client.query(
            """
            SELECT pr.document::text, n.professional_id FROM practice pr
            LEFT JOIN professional_nihii n ON n.nihii = pr.nihii WHERE pr.key = \(key)
            """, logger: logger)
        for try await (text, professionalId) in rows.decode((String, String?).self) {
            let document = try JSONValue.parse(text)
            var professional: StoredProfessional?
            if let professionalId {
                professional = try await self.professional(id: professionalId)
                professional?.practices = []
            }
            return (document, professional)
        }
        return nil
    }

    // MARK: Search

    public func search(_ query: PracticeSearchQuery) async throws -> PracticeSearchResult {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        var filters: [String] = []
        let at = try bind(query.at.description)
        filters.append("s.valid_from <= \(at)::date AND (s.valid_to IS NULL OR s.valid_to >= \(at)::date)")
        var nameKey = "", nameExact = ""
        if let name = query.name {
            nameKey = try bind(name)
            nameExact = nameKey
            filters.append(
                "(s.family_key % registry_name_key(\(nameKey)) OR s.full_key % registry_name_key(\(nameKey)))")
        }
        if let profession = query.profession { filters.append("s.profession = \(try bind(profession))") }
        if let qualification = query.qualification {
            filters.append("\(try bind(qualification)) = ANY (s.qualifications)")
        }
        if let language = query.language { filters.append("\(try bind(language)) = ANY (s.languages)") }
        if let postcode = query.postcode { filters.append("s.postcode = \(try bind(postcode))") }
        var centre = ""
        if let near = query.near {
            centre = "ll_to_earth(\(try bind(near.latitude)), \(try bind(near.longitude)))"
            if let radius = query.radiusMetres {
                let r = try bind(radius)
                filters.append("earth_box(\(centre), \(r)) @> s.earth AND earth_distance(\(centre), s.earth) <= \(r)")
            }
        }
        let filtered = filters.joined(separator: " AND ")
        let countBinds = binds

        let sortExpression: String
        let order: String
        var cursorCondition = ""
        switch query.sort {
        case .distance:
            sortExpression = "(s.earth <-> \(centre))"
            order = "s.earth <-> \(centre), s.practice_key"
            if let after = query.after {
                cursorCondition =
                    " AND (s.earth <-> \(centre), s.practice_key) > (\(try bind(Double(after.value) ?? 0)), \(try bind(after.key)))"
            }
        case .relevance:
            // Exact spelling (accents and case folded) first, then the same letters ("De Smet"
            // for "Desmet"), then trigram similarity; the key breaks ties so paging is stable.
            sortExpression = """
                (CASE WHEN s.family_exact = registry_name_exact(\(nameExact))
                           OR registry_name_exact(coalesce(s.given_name, '') || ' ' || coalesce(s.family_name, '')) = registry_name_exact(\(nameExact)) THEN 2
                      WHEN s.family_key = registry_name_key(\(nameKey)) OR s.full_key = registry_name_key(\(nameKey)) THEN 1
                      ELSE 0 END
                 + greatest(similarity(s.family_key, registry_name_key(\(nameKey))), similarity(s.full_key, registry_name_key(\(nameKey)))))::float8
                """
            order = "score DESC, practice_key"
            if let after = query.after {
                cursorCondition =
                    " WHERE (score < \(try bind(Double(after.value) ?? 0)) OR (score = $\(binds.count) AND practice_key > \(try bind(after.key))))"
            }
        case .name:
            sortExpression = "coalesce(s.full_key, '')"
            order = "coalesce(s.full_key, ''), s.practice_key"
            if let after = query.after {
                cursorCondition =
                    " AND (coalesce(s.full_key, ''), s.practice_key) > (\(try bind(after.value)), \(try bind(after.key)))"
            }
        }
        let distance = centre.isEmpty ? "NULL::float8" : "earth_distance(\(centre), s.earth)"
        let limit = try bind(query.limit + 1)
        let select = """
            s.practice_key, p.document::text, s.professional_id, s.family_name, s.given_name, s.profession,
            s.qualifications, \(distance) AS distance, \(sortExpression) AS score
            """
        let sql: String
        if query.sort == .relevance {
            sql = """
                SELECT * FROM (SELECT \(select) FROM practice_search s JOIN practice p ON p.key = s.practice_key
                               WHERE \(filtered)) x\(cursorCondition)
                ORDER BY \(order) LIMIT \(limit)
                """
        } else {
            sql = """
                SELECT \(select) FROM practice_search s JOIN practice p ON p.key = s.practice_key
                WHERE \(filtered)\(cursorCondition)
                ORDER BY \(order) LIMIT \(limit)
                """
        }
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        var hits: [PracticeSearchHit] = []
        for try await row in rows.decode(
            (String, String, String?, String?, String?, String?, [String], Double?, PostgresSortValue).self)
        {
            hits.append(
                PracticeSearchHit(
                    practiceKey: row.0, practice: try JSONValue.parse(row.1), professionalId: row.2, familyName: row.3,
                    givenName: row.4, profession: row.5, qualifications: row.6, distanceMetres: row.7,
                    score: query.sort == .relevance ? Double(row.8.text) : nil, sortValue: row.8.text))
        }
        let hasMore = hits.count > query.limit
        if hasMore { hits.removeLast() }
        var total = hits.count
        if query.after != nil || hasMore {
            let counted = try await client.query(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT count(*) FROM (SELECT 1 FROM practice_search s WHERE \(filtered) LIMIT \(Self.totalCap + 1)) x",
                    binds: countBinds), logger: logger)
            for try await count in counted.decode(Int64.self) { total = Int(count) }
        }
        return PracticeSearchResult(
            hits: hits, hasMore: hasMore, total: min(total, Self.totalCap), totalIsExact: total <= Self.totalCap)
    }
}

/// A sort value of either type, kept as text so the cursor carries it exactly.
struct PostgresSortValue: PostgresDecodable {
    var text: String

    init(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<some PostgresJSONDecoder>
    ) throws {
        switch type {
        case .float8:
            let value = try Double(from: &buffer, type: type, format: format, context: context)
            text = "\(value)"
        default:
            text = try String(from: &buffer, type: type, format: format, context: context)
        }
    }
}
