import Logging
import PostgresNIO
import RegistryCore

/// A professional as stored: the merged document (with its personal fields) and practices.
package struct StoredProfessional: Sendable {
    package var id: String
    package var document: JSONValue
    package var runId: Int64?
    package var practices: [(key: String, document: JSONValue)]

    package init(id: String, document: JSONValue, runId: Int64?, practices: [(key: String, document: JSONValue)]) {
        self.id = id
        self.document = document
        self.runId = runId
        self.practices = practices
    }
}

/// A practice search, already validated by the API.
package struct PracticeSearchQuery: Sendable {
    package enum Sort: String, Sendable { case distance, relevance, name }
    package var name: String?
    package var profession: String?
    package var qualification: String?
    package var language: String?
    package var postcode: String?
    package var near: (latitude: Double, longitude: Double)?
    package var radiusMetres: Double?
    package var at: LocalDate
    package var sort: Sort
    package var limit: Int
    /// Sort value and practice key of the last hit of the previous page.
    package var after: (value: String, key: String)?
    /// The name folded by PostgreSQL (`registry_name_exact`, `registry_name_key`), bound as
    /// values so the planner sees them (an expression would hide them from its statistics).
    var folded: (exact: String, key: String) = ("", "")

    package init(at: LocalDate, sort: Sort, limit: Int) {
        self.at = at
        self.sort = sort
        self.limit = limit
    }
}

package struct PracticeSearchHit: Sendable {
    package var practiceKey: String
    /// The practice document (`.null` when `rendered` is set).
    package var practice: JSONValue
    /// What the renderer of the in-memory search made of this hit when the snapshot loaded.
    package var rendered: [UInt8]?
    package var professionalId: String?
    package var familyName: String?
    package var givenName: String?
    package var profession: String?
    package var qualifications: [String]
    package var distanceMetres: Double?
    package var score: Double?
    /// The value the cursor continues after (distance chord, score, or name key).
    package var sortValue: String
}

package struct PracticeSearchResult: Sendable {
    package var hits: [PracticeSearchHit]
    package var hasMore: Bool
    /// Matches counted up to ``totalCap``; `totalIsExact` is false when there are more.
    package var total: Int
    package var totalIsExact: Bool
}

/// Reads professionals and practices, and runs practice searches on `practice_search`.
package struct ProviderQueries: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Counting stops here (relation `gte` above): counting costs a row fetch per match, and a
    /// search must stay a few milliseconds however many practices match.
    package static let totalCap = 200

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func professional(nihii: String) async throws -> StoredProfessional? {
        try await professional(
            where: "p.id = (SELECT professional_id FROM professional_nihii WHERE nihii = $1)", nihii)
    }

    package func professional(id: String) async throws -> StoredProfessional? {
        try await professional(where: "p.id = $1", id)
    }

    package func professional(ssin: String) async throws -> StoredProfessional? {
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
    package func practice(key: String) async throws -> (document: JSONValue, professional: StoredProfessional?)? {
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

    /// The statement parts every search shares: binds and the filter conditions on `s`.
    struct SearchStatement {
        var binds = PostgresBindings()
        var filters: [String] = []

        mutating func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }

        var whereClause: String { filters.joined(separator: " AND ") }
    }

    static let hitColumns = """
        s.practice_key, p.document::text, s.professional_id, s.family_name, s.given_name, s.profession, s.qualifications
        """
    /// The same columns without the documents, for counting.
    static let keyColumns = """
        s.practice_key, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, '{}'::text[]
        """

    /// Filters common to every sort (not the name, whose conditions depend on the tier).
    func baseStatement(_ query: PracticeSearchQuery) throws -> (SearchStatement, centre: String) {
        var statement = SearchStatement()
        let at = try statement.bind(query.at.description)
        statement.filters.append("s.valid_from <= \(at)::date AND (s.valid_to IS NULL OR s.valid_to >= \(at)::date)")
        if let profession = query.profession {
            statement.filters.append("s.profession = \(try statement.bind(profession))")
        }
        if let qualification = query.qualification {
            statement.filters.append("\(try statement.bind(qualification)) = ANY (s.qualifications)")
        }
        if let language = query.language {
            statement.filters.append("\(try statement.bind(language)) = ANY (s.languages)")
        }
        if let postcode = query.postcode { statement.filters.append("s.postcode = \(try statement.bind(postcode))") }
        var centre = ""
        if let near = query.near {
            centre = "ll_to_earth(\(try statement.bind(near.latitude)), \(try statement.bind(near.longitude)))"
            if let radius = query.radiusMetres {
                let r = try statement.bind(radius)
                statement.filters.append(
                    "earth_box(\(centre), \(r)) @> s.earth AND earth_distance(\(centre), s.earth) <= \(r)")
            }
        }
        return (statement, centre)
    }

    /// `registry_name_exact` and `registry_name_key` of a name, by PostgreSQL.
    package func fold(_ name: String) async throws -> (exact: String, key: String) {
        let rows = try await client.query(
            "SELECT registry_name_exact(\(name)), registry_name_key(\(name))", logger: logger)
        var folded = ("", "")
        for try await value in rows.decode((String, String).self) { folded = value }
        return folded
    }

    package func search(_ query: PracticeSearchQuery) async throws -> PracticeSearchResult {
        var query = query
        if let name = query.name { query.folded = try await fold(name) }
        var (statement, _) = try baseStatement(query)
        if query.name != nil {
            let key = try statement.bind(query.folded.key)
            statement.filters.append("(s.family_key % \(key)::text OR s.full_key % \(key)::text)")
        }
        var hits: [PracticeSearchHit]
        switch query.sort {
        case .distance: hits = try await distanceHits(query)
        case .relevance: hits = try await relevanceHits(query)
        case .name: hits = try await nameOrderHits(query)
        }
        let hasMore = hits.count > query.limit
        if hasMore { hits.removeLast(hits.count - query.limit) }
        var total = hits.count
        if (query.after != nil || hasMore) && query.sort == .relevance && query.near == nil {
            // Counted like the hits, tier by tier through the indexes, without the documents: the
            // trigram condition alone makes PostgreSQL guess thousands of matches and scan the table.
            var counting = query
            counting.after = nil
            counting.limit = Self.totalCap
            total = Set(try await relevanceHits(counting, keysOnly: true).map(\.practiceKey)).count
        } else if query.after != nil || hasMore {
            // With a radius, an index scan of the box stops at the cap; a bitmap would read every
            // practice in the box first (see `hits(_:_:withoutBitmapScans:)`).
            total = try await withConnection(withoutBitmapScans: query.near != nil && query.name == nil) { connection in
                let counted = try await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "SELECT count(*) FROM (SELECT 1 FROM practice_search s WHERE \(statement.whereClause) LIMIT \(Self.totalCap + 1)) x",
                        binds: statement.binds), logger: logger)
                var total = 0
                for try await count in counted.decode(Int64.self) { total = Int(count) }
                return total
            }
        }
        return PracticeSearchResult(
            hits: hits, hasMore: hasMore, total: min(total, Self.totalCap), totalIsExact: total <= Self.totalCap)
    }

    /// Runs a hit query. `withoutBitmapScans`: PostgreSQL cannot estimate how many rows a cube
    /// containment (`earth_box @>`) keeps and guesses a handful, so it would rather collect every
    /// practice in the box and sort them than walk the GiST index nearest-first and stop at the
    /// page; turning bitmap scans off for this one statement (SET LOCAL) leaves it the KNN walk.
    func hits(_ sql: String, _ binds: PostgresBindings, withoutBitmapScans: Bool = false) async throws
        -> [PracticeSearchHit]
    {
        func run(_ connection: PostgresConnection) async throws -> [PracticeSearchHit] {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            var hits: [PracticeSearchHit] = []
            for try await row in rows.decode(
                (String, String?, String?, String?, String?, String?, [String], Double?, Double?, PostgresSortValue)
                    .self
            ) {
                hits.append(
                    PracticeSearchHit(
                        practiceKey: row.0, practice: try row.1.map(JSONValue.parse) ?? .null, rendered: nil,
                        professionalId: row.2,
                        familyName: row.3, givenName: row.4, profession: row.5, qualifications: row.6,
                        distanceMetres: row.7, score: row.8, sortValue: row.9.text))
            }
            return hits
        }
        return try await withConnection(withoutBitmapScans: withoutBitmapScans, run)
    }

    func withConnection<T: Sendable>(
        withoutBitmapScans: Bool, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await client.withConnection { connection in
            guard withoutBitmapScans else { return try await body(connection) }
            try await connection.execute("BEGIN", logger: logger)
            do {
                try await connection.execute("SET LOCAL enable_bitmapscan = off", logger: logger)
                let result = try await body(connection)
                try await connection.execute("COMMIT", logger: logger)
                return result
            } catch {
                try? await connection.execute("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Nearest first: the GiST KNN order on `earth` (a single ORDER BY expression, which is what
    /// lets PostgreSQL walk the index and stop at the page), ties (same place) completed and
    /// ordered by key here, so pages never skip or repeat a practice.
    func distanceHits(_ query: PracticeSearchQuery) async throws -> [PracticeSearchHit] {
        var (statement, centre) = try baseStatement(query)
        if query.name != nil {
            let key = try statement.bind(query.folded.key)
            statement.filters.append("(s.family_key % \(key)::text OR s.full_key % \(key)::text)")
        }
        let chord = "(s.earth <-> \(centre))"
        var conditions = statement.filters
        if let after = query.after {
            let value = try statement.bind(Double(after.value) ?? 0)
            conditions.append(
                "(\(chord) > \(value) OR (\(chord) = \(value) AND s.practice_key > \(try statement.bind(after.key))))")
        }
        let limit = try statement.bind(query.limit + 1)
        let inner = """
            SELECT s.practice_key, s.earth, earth_distance(\(centre), s.earth) AS distance, \(chord) AS chord
            FROM practice_search s WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(chord) LIMIT \(limit)
            """
        let sql = """
            SELECT \(Self.hitColumns), x.distance, NULL::float8, x.chord
            FROM (\(inner)) x JOIN practice_search s ON s.practice_key = x.practice_key JOIN practice p ON p.key = x.practice_key
            """
        var hits = try await self.hits(
            "SELECT * FROM (\(sql)) y ORDER BY y.chord, y.practice_key", statement.binds, withoutBitmapScans: true)
        // The KNN walk orders by distance only: when the page ends inside a group of practices at
        // the same distance, fetch the whole group so the key order within it is complete.
        if hits.count > query.limit, hits[query.limit].sortValue == hits[query.limit - 1].sortValue {
            let tie = hits[query.limit].sortValue
            var tieStatement = statement
            let value = try tieStatement.bind(Double(tie) ?? 0)
            let tieSQL = """
                SELECT \(Self.hitColumns), earth_distance(\(centre), s.earth), NULL::float8, \(chord)
                FROM practice_search s JOIN practice p ON p.key = s.practice_key
                WHERE \(conditions.joined(separator: " AND ")) AND s.earth = (SELECT t.earth FROM practice_search t
                      WHERE t.practice_key = \(try tieStatement.bind(hits[query.limit].practiceKey))) AND \(chord) = \(value)
                """
            let group = try await self.hits(tieSQL, tieStatement.binds)
            var byKey: [String: PracticeSearchHit] = [:]
            for hit in hits + group { byKey[hit.practiceKey] = hit }
            hits = byKey.values.sorted {
                (Double($0.sortValue) ?? 0, $0.practiceKey) < (Double($1.sortValue) ?? 0, $1.practiceKey)
            }
        }
        return hits
    }

    /// Relevance in tiers: (0) the exact spelling, accents and case folded, of the family name or
    /// of "given family"; (1) the same letters ("De Smet" for "Desmet", "Van de Casteele" for
    /// "Vandecasteele"); (2) similar names (typos), name by name in decreasing trigram similarity.
    /// Every tier reads an index in key order and stops at the page, so a name shared by thousands
    /// of practices costs no more than a rare one; tier 2 runs only when 0 and 1 do not fill it.
    /// The sort value is `tier|score|name` and the cursor continues after (sort value, key).
    func relevanceHits(_ query: PracticeSearchQuery, keysOnly: Bool = false) async throws -> [PracticeSearchHit] {
        if query.near != nil { return try await nearbyRelevanceHits(query) }
        let columns = keysOnly ? Self.keyColumns : Self.hitColumns
        let cursor = query.after.map {
            $0.value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
        let cursorTier = cursor.flatMap { Int($0.first ?? "") } ?? 0
        var hits: [PracticeSearchHit] = []
        let wanted = query.limit + 1
        if cursorTier <= 1 {
            var (statement, centre) = try baseStatement(query)
            let distance = centre.isEmpty ? "NULL::float8" : "earth_distance(\(centre), s.earth)"
            let exact = "\(try statement.bind(query.folded.exact))::text"
            let key = "\(try statement.bind(query.folded.key))::text"
            let limit = try statement.bind(wanted)
            var branches: [String] = []
            func branch(_ tier: Int, _ condition: String) throws {
                var conditions = statement.filters + [condition]
                if let after = query.after, cursorTier == tier {
                    conditions.append("s.practice_key > \(try statement.bind(after.key))")
                }
                let score = tier == 0 ? 3 : 2
                branches.append(
                    """
                    (SELECT \(columns), \(distance), \(score)::float8, '\(tier)|\(score)|'
                     FROM practice_search s JOIN practice p ON p.key = s.practice_key
                     WHERE \(conditions.joined(separator: " AND ")) ORDER BY s.practice_key LIMIT \(limit))
                    """)
            }
            if cursorTier == 0 {
                try branch(0, "s.family_exact = \(exact)")
                try branch(0, "s.full_exact = \(exact)")
            }
            let notExact = "s.family_exact <> \(exact) AND s.full_exact <> \(exact)"
            try branch(1, "s.family_key = \(key) AND \(notExact)")
            try branch(1, "s.full_key = \(key) AND \(notExact)")
            let found = try await self.hits(branches.joined(separator: " UNION ALL "), statement.binds)
            var seen: Set<String> = []
            hits = found.filter { seen.insert($0.practiceKey).inserted }.sorted {
                ($0.sortValue, $0.practiceKey) < ($1.sortValue, $1.practiceKey)
            }
        }
        // Tier 2, a batch of similar names at a time.
        var after: (score: Double, name: String, key: String?, strict: Bool)? =
            cursorTier == 2 ? (Double(cursor?[1] ?? "") ?? 0, cursor?[2] ?? "", query.after?.key, false) : nil
        while hits.count < wanted {
            var (statement, centre) = try baseStatement(query)
            let distance = centre.isEmpty ? "NULL::float8" : "earth_distance(\(centre), s.earth)"
            let key = "\(try statement.bind(query.folded.key))::text"
            var continuation: [String] = ["true"]
            var within = ""
            if let after {
                let score = try statement.bind(after.score)
                let last = try statement.bind(after.name)
                continuation = [
                    "(c.score < \(score) OR (c.score = \(score) AND c.name_key \(after.strict ? ">" : ">=") \(last)))"
                ]
                if let lastKey = after.key {
                    within = " AND (n.name_key <> \(last) OR s.practice_key > \(try statement.bind(lastKey)))"
                }
            }
            let batch = 8
            // The closest names by the GiST trigram walk (at most 200), then in (similarity, name)
            // order; a practice is listed under the better of its family and full names.
            let names = """
                candidates AS (
                    SELECT n.name_key, similarity(n.name_key, \(key))::float8 AS score FROM practice_name n
                    WHERE n.name_key % \(key) AND n.name_key <> \(key) ORDER BY n.name_key <-> \(key) LIMIT 200),
                names AS (
                    SELECT c.name_key, c.score FROM candidates c WHERE \(continuation.joined(separator: " AND "))
                    ORDER BY c.score DESC, c.name_key LIMIT \(batch))
                """
            let best = """
                s.family_key <> \(key) AND s.full_key <> \(key)
                AND n.name_key = CASE WHEN similarity(s.family_key, \(key)) > similarity(s.full_key, \(key))
                                        OR (similarity(s.family_key, \(key)) = similarity(s.full_key, \(key))
                                            AND s.family_key <= s.full_key)
                                      THEN s.family_key ELSE s.full_key END
                AND \(statement.whereClause)\(within)
                """
            let limit = try statement.bind(wanted - hits.count)
            let sql = """
                WITH \(names)
                SELECT \(columns), \(distance), n.score, '2|' || n.score || '|' || n.name_key
                FROM names n JOIN LATERAL (
                    (SELECT s.* FROM practice_search s WHERE s.family_key = n.name_key AND \(best)
                     ORDER BY s.practice_key LIMIT \(limit))
                    UNION ALL
                    (SELECT s.* FROM practice_search s WHERE s.full_key = n.name_key AND s.family_key <> n.name_key
                       AND \(best) ORDER BY s.practice_key LIMIT \(limit))) s ON true
                JOIN practice p ON p.key = s.practice_key
                ORDER BY n.score DESC, n.name_key, s.practice_key
                LIMIT \(limit)
                """
            // Plain index scans: the name btrees in key order and the GiST trigram walk (a bitmap
            // would read every practice of a name, and PostgreSQL misjudges `%`).
            hits += try await self.hits(sql, statement.binds, withoutBitmapScans: true)
            if hits.count >= wanted { break }
            // Next batch of names: after the last name of this batch (all its practices were read).
            let lastRows = try await withConnection(withoutBitmapScans: true) { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            WITH \(names)
                            SELECT count(*), min(score), (array_agg(name_key ORDER BY score, name_key DESC))[1] FROM names
                            """, binds: statement.binds), logger: logger
                ).collect()
            }
            var lastName: (Int64, Double?, String?) = (0, nil, nil)
            for row in lastRows { lastName = try row.decode((Int64, Double?, String?).self) }
            guard lastName.0 == batch, let score = lastName.1, let last = lastName.2 else { break }
            after = (score, last, nil, true)
        }
        return hits
    }

    /// Relevance within a radius: the practices in the circle whose names are similar are few,
    /// so one statement finds them all (PostgreSQL combines the trigram and the box indexes) and
    /// orders them by tier (exact spelling, same letters, similar), similarity, key.
    func nearbyRelevanceHits(_ query: PracticeSearchQuery) async throws -> [PracticeSearchHit] {
        var (statement, centre) = try baseStatement(query)
        let exact = "\(try statement.bind(query.folded.exact))::text"
        let key = "\(try statement.bind(query.folded.key))::text"
        statement.filters.append("(s.family_key % \(key) OR s.full_key % \(key))")
        var cursor = ""
        if let after = query.after {
            let parts = after.value.split(separator: "|").map(String.init)
            let tier = try statement.bind(Int(parts.first ?? "") ?? 0)
            let score = try statement.bind(Double(parts.count > 1 ? parts[1] : "") ?? 0)
            cursor =
                " WHERE (c.tier, -c.sim, c.practice_key) > (\(tier), -\(score)::float8, \(try statement.bind(after.key)))"
        }
        let sql = """
            SELECT \(Self.hitColumns), earth_distance(\(centre), s.earth),
                   CASE c.tier WHEN 0 THEN 3 WHEN 1 THEN 2 ELSE c.sim END, c.tier || '|' || c.sim
            FROM (SELECT s.practice_key,
                         CASE WHEN s.family_exact = \(exact) OR s.full_exact = \(exact) THEN 0
                              WHEN s.family_key = \(key) OR s.full_key = \(key) THEN 1 ELSE 2 END AS tier,
                         greatest(similarity(s.family_key, \(key)), similarity(s.full_key, \(key)))::float8 AS sim
                  FROM practice_search s WHERE \(statement.whereClause)) c
            JOIN practice_search s ON s.practice_key = c.practice_key JOIN practice p ON p.key = c.practice_key\(cursor)
            ORDER BY c.tier, c.sim DESC, c.practice_key LIMIT \(try statement.bind(query.limit + 1))
            """
        return try await hits(sql, statement.binds)
    }

    /// No name and no place: by family name, then given name, then key.
    func nameOrderHits(_ query: PracticeSearchQuery) async throws -> [PracticeSearchHit] {
        var (statement, centre) = try baseStatement(query)
        let distance = centre.isEmpty ? "NULL::float8" : "earth_distance(\(centre), s.earth)"
        var conditions = statement.filters
        if let after = query.after {
            let parts = after.value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            conditions.append(
                "(s.family_key, s.full_key, s.practice_key) > (\(try statement.bind(parts.first ?? "")), \(try statement.bind(parts.count > 1 ? parts[1] : "")), \(try statement.bind(after.key)))"
            )
        }
        let sql = """
            SELECT \(Self.hitColumns), \(distance), NULL::float8, s.family_key || E'\\t' || s.full_key
            FROM practice_search s JOIN practice p ON p.key = s.practice_key
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY s.family_key, s.full_key, s.practice_key LIMIT \(try statement.bind(query.limit + 1))
            """
        return try await hits(sql, statement.binds)
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
