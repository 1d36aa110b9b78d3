import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// A medicine search: the text and filters a client sent, already validated.
public struct SAMSearchQuery: Sendable, Hashable {
    public var text: String
    public var language: String
    public var at: LocalDate
    public var atcPrefix: String?
    public var ingredient: String?
    public var company: String?
    public var vmpGroup: String?
    public var environment: String?
    public var limit: Int
    public var after: SAMSearchPosition?

    public init(
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
public struct SAMSearchPosition: Sendable, Hashable {
    public var tier: Int
    public var sortKey: String
    public var entityType: String
    public var entityKey: String

    public init(tier: Int, sortKey: String, entityType: String, entityKey: String) {
        self.tier = tier
        self.sortKey = sortKey
        self.entityType = entityType
        self.entityKey = entityKey
    }
}

public struct SAMSearchHit: Sendable, Hashable {
    public var position: SAMSearchPosition
    public var matchedName: String
    public var matchedLanguages: [String]
    /// The entity's name in the requested language at the requested date, when it has one.
    public var displayName: String?
}

/// Runs medicine searches against `sam_search_entry`.
///
/// Hits come in three tiers: an exact code (CNK, CTI-extended, AMP or VMP code), names that start
/// with the text (a btree range, in name order), then names similar to the text (trigram word
/// similarity, nearest first: typos). An entity appears once, at its best-ranked name; the
/// `NOT EXISTS` below enforces that across pages too, so paging has neither duplicates nor gaps.
public struct SAMSearchReader: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Returns up to `limit + 1` hits; the extra one tells the caller there is a next page.
    public func search(_ query: SAMSearchQuery) async throws -> [SAMSearchHit] {
        let after = query.after ?? SAMSearchPosition(tier: -1, sortKey: "", entityType: "", entityKey: "")
        let window = min((query.limit + 1) * 8, 2000)
        let at = query.at.description
        // Normalised here, in its own statement, so that the search statement sees the pattern as a
        // constant: only then does PostgreSQL turn `LIKE 'abc%'` into an index range.
        var normalised = ""
        for try await value in try await client.query("SELECT lower(unaccent(\(query.text)))", logger: logger)
            .decode(String.self)
        {
            normalised = value
        }
        let q = normalised
        let prefix =
            q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        let raw = query.text
        // Digits are a code (CNK, VMP code): similar-looking numbers are noise, not typos.
        let fuzzy = !q.isEmpty && !q.allSatisfy(\.isNumber)
        let rows = try await client.query(
            """
            WITH eligible AS NOT MATERIALIZED (
                SELECT e.* FROM sam_search_entry e
                WHERE e.valid @> \(at)::date
                  AND (\(query.atcPrefix)::text IS NULL
                       OR EXISTS (SELECT 1 FROM unnest(e.atc) x WHERE x LIKE \(query.atcPrefix ?? "") || '%'))
                  AND (\(query.ingredient)::text IS NULL OR e.ingredients @> ARRAY[\(query.ingredient ?? "")])
                  AND (\(query.company)::text IS NULL OR e.companies @> ARRAY[\(query.company ?? "")])
                  AND (\(query.vmpGroup)::text IS NULL OR e.vmp_groups @> ARRAY[\(query.vmpGroup ?? "")])
                  AND (\(query.environment)::text IS NULL OR e.envs @> ARRAY[\(query.environment ?? "")])),
            cand AS (
                (SELECT 0 AS tier, ''::text COLLATE "C" AS sk, e.entity_type, e.entity_key, e.name, e.langs
                 FROM eligible e
                 WHERE \(raw) <> '' AND e.codes @> ARRAY[\(raw)] AND \(after.tier) < 1
                 LIMIT \(window))
                UNION ALL
                (SELECT 1, e.name_norm, e.entity_type, e.entity_key, e.name, e.langs
                 FROM eligible e
                 WHERE e.name_norm LIKE \(prefix)
                   AND (\(after.tier) < 1 OR (\(after.tier) = 1
                        AND (e.name_norm, e.entity_type COLLATE "C", e.entity_key COLLATE "C")
                            > (\(after.sortKey)::text COLLATE "C", \(after.entityType)::text COLLATE "C",
                               \(after.entityKey)::text COLLATE "C")))
                 ORDER BY e.name_norm, e.entity_type, e.entity_key
                 LIMIT \(window))
                UNION ALL
                (SELECT 2, to_char(\(q) <<-> e.name_norm, 'FM0.000000') COLLATE "C", e.entity_type, e.entity_key,
                        e.name, e.langs
                 FROM eligible e
                 WHERE \(fuzzy) AND \(q) <% e.name_norm
                   AND (\(after.tier) < 2 OR (\(after.tier) = 2
                        AND (to_char(\(q) <<-> e.name_norm, 'FM0.000000') COLLATE "C", e.entity_type COLLATE "C",
                             e.entity_key COLLATE "C")
                            > (\(after.sortKey)::text COLLATE "C", \(after.entityType)::text COLLATE "C",
                               \(after.entityKey)::text COLLATE "C")))
                 ORDER BY \(q) <<-> e.name_norm, e.entity_type, e.entity_key
                 LIMIT \(window))),
            best AS (
                SELECT DISTINCT ON (entity_type, entity_key) * FROM cand
                ORDER BY entity_type, entity_key, tier, sk),
            page AS (
                SELECT b.* FROM best b
                WHERE (b.tier, b.sk, b.entity_type COLLATE "C", b.entity_key COLLATE "C")
                      > (\(after.tier), \(after.sortKey)::text COLLATE "C", \(after.entityType)::text COLLATE "C",
                         \(after.entityKey)::text COLLATE "C")
                  AND NOT EXISTS (
                    SELECT 1 FROM eligible o
                    WHERE o.entity_type = b.entity_type AND o.entity_key = b.entity_key
                      AND (CASE WHEN \(raw) <> '' AND o.codes @> ARRAY[\(raw)] THEN 0
                                WHEN o.name_norm LIKE \(prefix) THEN 1
                                WHEN \(fuzzy) AND \(q) <% o.name_norm THEN 2 END,
                           CASE WHEN \(raw) <> '' AND o.codes @> ARRAY[\(raw)] THEN ''
                                WHEN o.name_norm LIKE \(prefix) THEN o.name_norm
                                ELSE to_char(\(q) <<-> o.name_norm, 'FM0.000000') END COLLATE "C")
                          < (b.tier, b.sk))
                ORDER BY b.tier, b.sk, b.entity_type COLLATE "C", b.entity_key COLLATE "C"
                LIMIT \(query.limit + 1))
            SELECT pg.tier, pg.sk, pg.entity_type, pg.entity_key, pg.name, array_to_string(pg.langs, ','),
                   (SELECT x.name FROM sam_search_entry x
                    WHERE x.entity_type = pg.entity_type AND x.entity_key = pg.entity_key
                      AND x.langs @> ARRAY[\(query.language)] AND x.valid @> \(at)::date ORDER BY x.name LIMIT 1)
            FROM page pg
            ORDER BY pg.tier, pg.sk, pg.entity_type COLLATE "C", pg.entity_key COLLATE "C"
            """, logger: logger)
        var hits: [SAMSearchHit] = []
        for try await (tier, sk, type, key, name, langs, display) in rows.decode(
            (Int, String, String, String, String, String, String?).self)
        {
            hits.append(
                SAMSearchHit(
                    position: SAMSearchPosition(tier: tier, sortKey: sk, entityType: type, entityKey: key),
                    matchedName: name, matchedLanguages: langs.split(separator: ",").map(String.init),
                    displayName: display))
        }
        return hits
    }
}
