import Logging
import PostgresNIO
import RegistryCore

/// The searches behind the FHIR endpoint: each returns one page of keys in a stable order and
/// the total; the routes read and render the resources of those keys.
package struct FHIRSearchQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// How a string search parameter matches: FHIR's default (starts with), `:contains`, `:exact`.
    package enum StringMatch: Sendable {
        case startsWith, contains, exact

        package init(modifier: String?) {
            switch modifier {
            case "contains": self = .contains
            case "exact": self = .exact
            default: self = .startsWith
            }
        }

        /// The LIKE pattern of a folded text (wildcards in it taken literally).
        func pattern(_ folded: String) -> String {
            let escaped = SPORQueries.likeEscaped(folded)
            switch self {
            case .startsWith: return escaped + "%"
            case .contains: return "%" + escaped + "%"
            case .exact: return escaped
            }
        }
    }

    package struct Page: Sendable {
        package var keys: [String]
        package var total: Int
    }

    /// AMPs carrying a name on `at` (any language), in code order.
    package func ampCodes(name: String, match: StringMatch, at: LocalDate, offset: Int, limit: Int) async throws
        -> Page
    {
        try await page(
            """
            SELECT DISTINCT entity_key AS key FROM sam_search_entry
            WHERE entity_type = 'amp' AND valid @> \(at.description)::date
              AND name_norm LIKE lower(public.unaccent('public.unaccent'::regdictionary, \(match.pattern(name))))
            """, offset: offset, limit: limit)
    }

    /// An AMPP with its DMPPs and the IDMP packaging of its components on the date asked.
    package struct Pack: Sendable {
        package var ampp: StoredSAMEntity
        package var dmpps: [StoredSAMEntity]
        package var packaging: JSONValue
    }

    /// The AMPPs with a DMPP of this CNK (any delivery environment), or of these CTI-extended
    /// codes, in key order: one prepared statement reads each AMPP, its DMPPs and its packaging,
    /// as the /v1 CNK lookup reads its pack in one.
    package func packs(cnk: String? = nil, ctiExtended: [String] = [], at: LocalDate) async throws -> [Pack] {
        let statement = PacksStatement(
            dmppKeys: cnk.map { cnk in ["P", "A", "H", "R"].map { "\($0)|CNK|\(cnk)" } } ?? [],
            ctiExtended: ctiExtended, at: at.description)
        var packs: [String: Pack] = [:]
        var dmpps: [StoredSAMEntity] = []
        try await PreparedStatementGeneration.recovering {
            for try await (type, key, parentType, parentKey, text, runId, packaging) in try await client.execute(
                statement, logger: logger)
            {
                let entity = StoredSAMEntity(
                    type: type, key: key, parentType: parentType, parentKey: parentKey,
                    document: try JSONValue.parse(text), changedRunId: runId)
                if type == "ampp" {
                    packs[key] = Pack(
                        ampp: entity, dmpps: [], packaging: try packaging.map(JSONValue.parse) ?? .array([]))
                } else {
                    dmpps.append(entity)
                }
            }
        }
        for dmpp in dmpps { if let parent = dmpp.parentKey { packs[parent]?.dmpps.append(dmpp) } }
        return packs.keys.sorted().compactMap { packs[$0] }
    }

    /// The hot statement of `PackagedProductDefinition?identifier=CNK`, prepared once per connection.
    struct PacksStatement: PostgresPreparedStatement {
        typealias Row = (String, String, String?, String?, String, Int64?, String?)
        var dmppKeys: [String]
        var ctiExtended: [String]
        var at: String

        static var name: String { PreparedStatementGeneration.name("PacksStatement") }

        static let sql = """
            WITH k AS (
                SELECT parent_key AS cti FROM sam_entity
                WHERE entity_type = 'dmpp' AND entity_key = ANY($1::text[]) AND parent_key IS NOT NULL
                UNION SELECT unnest($2::text[]))
            SELECT s.entity_type, s.entity_key, s.parent_type, s.parent_key, s.document::text, s.changed_run_id,
                   idmp_ampp_packaging(s.entity_key, $3::date)::text
            FROM k JOIN sam_entity s ON s.entity_type = 'ampp' AND s.entity_key = k.cti
            UNION ALL
            SELECT s.entity_type, s.entity_key, s.parent_type, s.parent_key, s.document::text, s.changed_run_id, NULL
            FROM k JOIN sam_entity s ON s.parent_type = 'ampp' AND s.parent_key = k.cti AND s.entity_type = 'dmpp'
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(dmppKeys)
            bindings.append(ctiExtended)
            bindings.append(at)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The AMPPs of an AMP, in key order.
    package func amppKeys(ampCode: String) async throws -> [String] {
        try await strings(
            "SELECT entity_key FROM sam_entity WHERE entity_type = 'ampp' AND parent_key = \(ampCode) ORDER BY 1")
    }

    /// SMS substances with a name or synonym matching, in id order.
    package func substanceIds(name: String, match: StringMatch, offset: Int, limit: Int) async throws -> Page {
        try await page(
            """
            SELECT DISTINCT substance_id AS key FROM spor_sms_substance_name
            WHERE folded LIKE lower(public.unaccent('public.unaccent'::regdictionary, \(match.pattern(name))))
            """, offset: offset, limit: limit)
    }

    /// One page of the `key` column of `matching` in `order` (SQL over its columns), and the total.
    func page(_ matching: PostgresQuery, order: String = "key", offset: Int, limit: Int) async throws -> Page {
        var query = PostgresQuery(unsafeSQL: "WITH m AS (")
        query.sql += matching.sql
        query.sql += ") SELECT key, count(*) OVER () FROM m ORDER BY \(order) OFFSET \(offset) LIMIT \(limit)"
        query.binds = matching.binds
        var keys: [String] = []
        var total: Int?
        for try await (key, count) in try await client.query(query, logger: logger).decode((String, Int64).self) {
            keys.append(key)
            total = Int(count)
        }
        if total == nil {
            // An empty page (or _count=0): count alone.
            var count = PostgresQuery(unsafeSQL: "WITH m AS (")
            count.sql += matching.sql + ") SELECT count(*) FROM m"
            count.binds = matching.binds
            total = try await client.query(count, logger: logger).decode(Int64.self).first { _ in true }.map(Int.init)
        }
        return Page(keys: keys, total: total ?? 0)
    }

    private func strings(_ query: PostgresQuery) async throws -> [String] {
        var out: [String] = []
        for try await value in try await client.query(query, logger: logger).decode(String.self) { out.append(value) }
        return out
    }
}
