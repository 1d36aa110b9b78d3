import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// A medicine search: the text and filters a client sent, already validated.
package struct SAMSearchQuery: Sendable, Hashable {
    package var text: String
    package var language: String
    package var at: LocalDate
    package var atcPrefix: String?
    package var ingredient: String?
    package var company: String?
    package var vmpGroup: String?
    package var environment: String?
    package var limit: Int
    package var after: SAMSearchPosition?

    package init(
        text: String, language: String, at: LocalDate, atcPrefix: String? = nil, ingredient: String? = nil,
        company: String? = nil, vmpGroup: String? = nil, environment: String? = nil, limit: Int = 20,
        after: SAMSearchPosition? = nil
    ) {
        self.text = text
        self.language = language
        self.at = at
        self.atcPrefix = atcPrefix
        self.ingredient = ingredient
        self.company = company
        self.vmpGroup = vmpGroup
        self.environment = environment
        self.limit = limit
        self.after = after
    }
}

/// Where a page ended, in the total order of hits: match tier (0 code, 1 name prefix, 2 similar
/// name), sort key within the tier, then entity type and key. Stable while the data is unchanged.
package struct SAMSearchPosition: Sendable, Hashable {
    package var tier: Int
    package var sortKey: String
    package var entityType: String
    package var entityKey: String

    package init(tier: Int, sortKey: String, entityType: String, entityKey: String) {
        self.tier = tier
        self.sortKey = sortKey
        self.entityType = entityType
        self.entityKey = entityKey
    }
}

package struct SAMSearchHit: Sendable, Hashable {
    package var position: SAMSearchPosition
    package var matchedName: String
    package var matchedLanguages: [String]
    /// The entity's name in the requested language at the requested date, when it has one.
    package var displayName: String?
}

/// Runs medicine searches against `sam_search_entry`.
///
/// Hits come in three tiers: an exact code (CNK, CTI-extended, AMP or VMP code), names that start
/// with the text (a btree range, in name order), then names similar to the text (trigram word
/// similarity, nearest first: typos). An entity appears once, at its best-ranked name; the
/// `NOT EXISTS` below enforces that across pages too, so paging has neither duplicates nor gaps.
package struct SAMSearchQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Returns up to `limit + 1` hits; the extra one tells the caller there is a next page.
    ///
    /// Similar names (tier 2) are looked for only when codes and prefixes do not fill the page:
    /// the trigram scan is the expensive part and a prefix that matches is what people type.
    package func search(_ query: SAMSearchQuery) async throws -> [SAMSearchHit] {
        var normalised = ""
        for try await value in try await client.query("SELECT lower(unaccent(\(query.text)))", logger: logger)
            .decode(String.self)
        {
            normalised = value
        }
        // Digits are a code (CNK, VMP code): similar-looking numbers are noise, not typos.
        let fuzzy = !normalised.isEmpty && !normalised.allSatisfy(\.isNumber)
        var statement = Statement(query: query, normalised: normalised, similar: false)
        var hits = try await run(statement)
        if hits.count <= query.limit, fuzzy {
            statement.similar = true
            hits = try await run(statement)
        }
        return hits
    }

    /// Runs as an unnamed statement on purpose: PostgreSQL then plans with the actual values (an
    /// ordered prefix range scan that stops after the window); a prepared statement's generic plan
    /// sorted every name of a popular prefix instead (15-30 ms at scale 1.0).
    func run(_ statement: Statement) async throws -> [SAMSearchHit] {
        var hits: [SAMSearchHit] = []
        let query = PostgresQuery(
            unsafeSQL: Statement.sql(similar: statement.similar), binds: try statement.makeBindings())
        for try await (tier, sk, type, key, name, langs, display) in try await client.query(query, logger: logger)
            .decode(Statement.Row.self)
        {
            hits.append(
                SAMSearchHit(
                    position: SAMSearchPosition(tier: tier, sortKey: sk, entityType: type, entityKey: key),
                    matchedName: name, matchedLanguages: langs.split(separator: ",").map(String.init),
                    displayName: display))
        }
        return hits
    }

    /// The search statement. Names starting with the text are the byte range [q, q + U+10FFFF) of
    /// the `COLLATE "C"` column. Without `similar` the trigram branch is left out of the SQL
    /// altogether (a branch disabled by a parameter was still planned, as a parallel scan).
    struct Statement {
        typealias Row = (Int, String, String, String, String, String, String?)
        var query: SAMSearchQuery
        var normalised: String
        var similar: Bool

        func makeBindings() throws -> PostgresBindings {
            let after = query.after ?? SAMSearchPosition(tier: -1, sortKey: "", entityType: "", entityKey: "")
            var bindings = PostgresBindings(capacity: 16)
            bindings.append(query.at.description)  // $1
            for value in [query.atcPrefix, query.ingredient, query.company, query.vmpGroup, query.environment] {
                if let value { bindings.append(value) } else { bindings.appendNull() }  // $2...$6
            }
            bindings.append(query.text)  // $7
            bindings.append(after.tier)  // $8
            bindings.append(after.sortKey)  // $9
            bindings.append(after.entityType)  // $10
            bindings.append(after.entityKey)  // $11
            bindings.append(min((query.limit + 1) * 20, 2000))  // $12
            bindings.append(normalised)  // $13
            bindings.append(normalised + "\u{10FFFF}")  // $14
            bindings.append(query.limit + 1)  // $15
            bindings.append(query.language)  // $16
            return bindings
        }

        /// The statement, with the similar-names branch only when asked for.
        static func sql(similar: Bool) -> String {
            """
            WITH eligible AS NOT MATERIALIZED (
                SELECT e.* FROM sam_search_entry e
                WHERE e.valid @> $1::date
                  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM unnest(e.atc) x WHERE starts_with(x, $2::text)))
                  AND ($3::text IS NULL OR e.ingredients @> ARRAY[$3::text])
                  AND ($4::text IS NULL OR e.companies @> ARRAY[$4::text])
                  AND ($5::text IS NULL OR e.vmp_groups @> ARRAY[$5::text])
                  AND ($6::text IS NULL OR e.envs @> ARRAY[$6::text])),
            cand AS (
                (SELECT 0 AS tier, ''::text COLLATE "C" AS sk, e.entity_type, e.entity_key, e.name, e.langs
                 FROM eligible e
                 WHERE $7::text <> '' AND e.codes @> ARRAY[$7::text] AND $8::int < 1
                 ORDER BY e.entity_type COLLATE "C", e.entity_key COLLATE "C"
                 LIMIT $12)
                UNION ALL
                (SELECT 1, e.name_norm, e.entity_type, e.entity_key, e.name, e.langs
                 FROM eligible e
                 WHERE e.name_norm >= $13::text COLLATE "C" AND e.name_norm < $14::text COLLATE "C"
                   AND ($8::int < 1 OR ($8::int = 1
                        AND (e.name_norm, e.entity_type COLLATE "C", e.entity_key COLLATE "C")
                            > ($9::text COLLATE "C", $10::text COLLATE "C", $11::text COLLATE "C")))
                 ORDER BY e.name_norm, e.entity_type COLLATE "C", e.entity_key COLLATE "C"
                 LIMIT $12)
            \(similar ? similarBranch : "")),
            best AS (
                SELECT DISTINCT ON (entity_type, entity_key) * FROM cand
                ORDER BY entity_type, entity_key, tier, sk),
            page AS (
                SELECT b.* FROM best b
                WHERE (b.tier, b.sk, b.entity_type COLLATE "C", b.entity_key COLLATE "C")
                      > ($8::int, $9::text COLLATE "C", $10::text COLLATE "C", $11::text COLLATE "C")
                  AND NOT EXISTS (
                    SELECT 1 FROM eligible o
                    WHERE o.entity_type = b.entity_type AND o.entity_key = b.entity_key
                      AND (CASE WHEN $7::text <> '' AND o.codes @> ARRAY[$7::text] THEN 0
                                WHEN o.name_norm >= $13::text COLLATE "C" AND o.name_norm < $14::text COLLATE "C" THEN 1
                                \(similar ? "WHEN $13::text <% o.name_norm THEN 2" : "") END,
                           CASE WHEN $7::text <> '' AND o.codes @> ARRAY[$7::text] THEN ''
                                WHEN o.name_norm >= $13::text COLLATE "C" AND o.name_norm < $14::text COLLATE "C"
                                THEN o.name_norm
                                ELSE to_char($13::text <<-> o.name_norm, 'FM0.000000') END COLLATE "C")
                          < (b.tier, b.sk))
                ORDER BY b.tier, b.sk, b.entity_type COLLATE "C", b.entity_key COLLATE "C"
                LIMIT $15)
            SELECT pg.tier, pg.sk, pg.entity_type, pg.entity_key, pg.name, array_to_string(pg.langs, ','),
                   (SELECT x.name FROM sam_search_entry x
                    WHERE x.entity_type = pg.entity_type AND x.entity_key = pg.entity_key
                      AND x.langs @> ARRAY[$16::text] AND x.valid @> $1::date ORDER BY x.name LIMIT 1)
            FROM page pg
            ORDER BY pg.tier, pg.sk, pg.entity_type COLLATE "C", pg.entity_key COLLATE "C"
            """
        }

        static let similarBranch = """
                UNION ALL
                (SELECT 2, to_char($13::text <<-> e.name_norm, 'FM0.000000') COLLATE "C", e.entity_type, e.entity_key,
                        e.name, e.langs
                 FROM eligible e
                 WHERE $13::text <% e.name_norm
                   AND ($8::int < 2 OR ($8::int = 2
                        AND (to_char($13::text <<-> e.name_norm, 'FM0.000000') COLLATE "C", e.entity_type COLLATE "C",
                             e.entity_key COLLATE "C")
                            > ($9::text COLLATE "C", $10::text COLLATE "C", $11::text COLLATE "C")))
                   -- Entities that a code or a prefix already ranks higher would only fill the window.
                   AND NOT EXISTS (SELECT 1 FROM eligible o
                                   WHERE o.entity_type = e.entity_type AND o.entity_key = e.entity_key
                                     AND (($7::text <> '' AND o.codes @> ARRAY[$7::text])
                                          OR (o.name_norm >= $13::text COLLATE "C" AND o.name_norm < $14::text COLLATE "C")))
                 ORDER BY to_char($13::text <<-> e.name_norm, 'FM0.000000') COLLATE "C", e.entity_type COLLATE "C",
                          e.entity_key COLLATE "C"
                 LIMIT $12)
            """
    }
}
