import Logging
import PostgresNIO
import RegistryCore

/// Reads the imported SPOR data: RMS lists and terms, terms by source code, SMS substances.
package struct SPORQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package struct ListSummary: Sendable {
        package var listId: String
        package var terms: Int
        package var current: Int
        package var lastChangedRunId: Int64?
    }

    /// Every imported RMS list with its term counts.
    package func lists() async throws -> [ListSummary] {
        let rows = try await client.query(
            """
            SELECT list_id, count(*), count(*) FILTER (WHERE status = 'CURRENT'), max(changed_run_id)
            FROM spor_rms_term GROUP BY list_id ORDER BY list_id
            """, logger: logger)
        var lists: [ListSummary] = []
        for try await (list, terms, current, run) in rows.decode((String, Int64, Int64, Int64?).self) {
            lists.append(ListSummary(listId: list, terms: Int(terms), current: Int(current), lastChangedRunId: run))
        }
        return lists
    }

    /// A term in a listing: its name in the asked language when it has one, else English.
    package struct TermSummary: Sendable {
        package var termId: String
        package var listId: String
        package var status: String
        package var name: String?
        package var language: String?
        package var main: Bool?
    }

    package struct TermFilter: Sendable {
        package var listId: String
        package var query: String?
        package var language: String?
        package var status: String?
        package var after: String?
        package var limit: Int

        package init(
            listId: String, query: String? = nil, language: String? = nil, status: String? = nil,
            after: String? = nil, limit: Int
        ) {
            self.listId = listId
            self.query = query
            self.language = language
            self.status = status
            self.after = after
            self.limit = limit
        }
    }

    /// One page of a list's terms in term id order, and how many match the filter. `query` matches
    /// the folded names (in `language` when given) as a substring.
    package func terms(_ filter: TermFilter) async throws -> (terms: [TermSummary], total: Int) {
        let pattern = filter.query.map { "%" + Self.likeEscaped($0) + "%" }
        let rows = try await client.query(
            """
            WITH m AS (
                SELECT t.term_id, t.list_id, t.status, t.name_en FROM spor_rms_term t
                WHERE t.list_id = \(filter.listId) AND (\(filter.status)::text IS NULL OR t.status = \(filter.status))
                  AND (\(pattern)::text IS NULL OR EXISTS (
                        SELECT 1 FROM spor_rms_term_name n
                        WHERE n.term_id = t.term_id
                          AND (\(filter.language)::text IS NULL OR n.language = \(filter.language))
                          AND n.folded LIKE lower(public.unaccent('public.unaccent'::regdictionary, \(pattern))))))
            SELECT m.term_id, m.list_id, m.status, coalesce(l.name, m.name_en),
                   CASE WHEN l.name IS NOT NULL THEN l.language WHEN m.name_en IS NOT NULL THEN 'en' END,
                   (SELECT count(*) FROM m)
            FROM (SELECT 1) AS one
            LEFT JOIN (m LEFT JOIN spor_rms_term_name l ON l.term_id = m.term_id AND l.language = \(filter.language))
                   ON m.term_id > \(filter.after ?? "")
            ORDER BY m.term_id LIMIT \(filter.limit)
            """, logger: logger)
        var total = 0
        var terms: [TermSummary] = []
        for try await (id, list, status, name, language, count) in rows.decode(
            (String?, String?, String?, String?, String?, Int64).self)
        {
            total = Int(count)
            guard let id, let list, let status else { continue }  // the empty page's row, carrying the total
            terms.append(TermSummary(termId: id, listId: list, status: status, name: name, language: language))
        }
        return (terms, total)
    }

    /// A term's document and the run that last changed it, or nil.
    package func term(_ termId: String) async throws -> (document: JSONValue, runId: Int64?)? {
        let rows = try await client.query(
            "SELECT document::text, changed_run_id FROM spor_rms_term WHERE term_id = \(termId)", logger: logger)
        for try await (text, run) in rows.decode((String, Int64?).self) { return (try JSONValue.parse(text), run) }
        return nil
    }

    /// The terms a source code maps to (`sourceId` an RMS mapping source id), main mappings first.
    package func terms(sourceId: String, code: String) async throws -> [TermSummary] {
        let rows = try await client.query(
            """
            SELECT t.term_id, t.list_id, t.status, t.name_en, x.main
            FROM spor_rms_source_code x JOIN spor_rms_term t ON t.term_id = x.term_id
            WHERE x.source_id = \(sourceId) AND x.code = \(code)
            ORDER BY x.main DESC, t.status = 'CURRENT' DESC, t.term_id
            """, logger: logger)
        var terms: [TermSummary] = []
        for try await (id, list, status, name, main) in rows.decode((String, String, String, String?, Bool).self) {
            terms.append(
                TermSummary(
                    termId: id, listId: list, status: status, name: name, language: name == nil ? nil : "en",
                    main: main))
        }
        return terms
    }

    package struct SubstanceMatch: Sendable {
        package var substanceId: String
        package var name: String
        /// The name that matched when it is a synonym.
        package var matchedName: String?
    }

    /// Substances whose names contain `query` (folded), exact names first, then names starting
    /// with it, then by similarity; one entry per substance.
    package func substances(matching query: String, limit: Int) async throws -> (
        substances: [SubstanceMatch], total: Int
    ) {
        let rows = try await client.query(
            """
            WITH q AS (SELECT lower(public.unaccent('public.unaccent'::regdictionary, \(query))) AS folded,
                              lower(public.unaccent('public.unaccent'::regdictionary, \(Self.likeEscaped(query)))) AS pattern),
            hits AS (
                SELECT DISTINCT ON (n.substance_id) n.substance_id, n.name, n.preferred,
                       (n.folded = q.folded) AS exact, (n.folded LIKE q.pattern || '%') AS prefix,
                       similarity(n.folded, q.folded) AS score
                FROM spor_sms_substance_name n, q
                WHERE n.folded LIKE '%' || q.pattern || '%'
                ORDER BY n.substance_id, (n.folded = q.folded) DESC, n.preferred DESC, similarity(n.folded, q.folded) DESC)
            SELECT h.substance_id, s.name, CASE WHEN h.preferred THEN NULL ELSE h.name END, count(*) OVER ()
            FROM hits h JOIN spor_sms_substance s USING (substance_id)
            ORDER BY h.exact DESC, h.prefix DESC, h.score DESC, h.substance_id
            LIMIT \(limit)
            """, logger: logger)
        var found: [SubstanceMatch] = []
        var total = 0
        for try await (id, name, matched, count) in rows.decode((String, String, String?, Int64).self) {
            found.append(SubstanceMatch(substanceId: id, name: name, matchedName: matched))
            total = Int(count)
        }
        return (found, total)
    }

    /// A substance's document and the run that last changed it, or nil.
    package func substance(_ substanceId: String) async throws -> (document: JSONValue, runId: Int64?)? {
        let rows = try await client.query(
            "SELECT document::text, changed_run_id FROM spor_sms_substance WHERE substance_id = \(substanceId)",
            logger: logger)
        for try await (text, run) in rows.decode((String, Int64?).self) { return (try JSONValue.parse(text), run) }
        return nil
    }

    package struct OMSAnswer: Sendable {
        package var document: JSONValue
        package var runId: Int64?
        /// The id asked for when it was an alias (a record merged into this one).
        package var resolvedFrom: String?
        /// An organisation's locations.
        package var locationIds: [String]
    }

    /// An OMS organisation or location by its id or by an id merged into it.
    package func omsRecord(_ id: String, kind: String) async throws -> OMSAnswer? {
        let rows = try await client.query(
            """
            SELECT r.document::text, r.changed_run_id, CASE WHEN r.id = \(id) THEN NULL ELSE \(id) END,
                   ARRAY(SELECT l.id FROM spor_oms_record l WHERE l.org_id = r.id AND l.kind = 'location' ORDER BY l.id)
            FROM spor_oms_record r
            WHERE r.kind = \(kind)
              AND (r.id = \(id) OR r.id IN (SELECT a.record_id FROM spor_oms_alias a WHERE a.alias_id = \(id)))
            ORDER BY r.id = \(id) DESC, r.id LIMIT 1
            """, logger: logger)
        for try await (text, run, resolved, locations) in rows.decode((String, Int64?, String?, [String]).self) {
            return OMSAnswer(
                document: try JSONValue.parse(text), runId: run, resolvedFrom: resolved, locationIds: locations)
        }
        return nil
    }

    /// `text` with LIKE's wildcards and escape character taken literally.
    static func likeEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
