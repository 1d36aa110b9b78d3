import Logging
import PostgresNIO
import RegistryStore
import SAMReaders

/// Keeps `sam_search_entry` (the medicine search index) in step with `sam_entity`.
///
/// It runs inside the import transaction, after the changes are applied, so a search never sees
/// names from an export that a lookup does not. Only AMPs and VMPs touched by the run are rebuilt:
/// an AMP is touched when it, one of its AMPPs, DMPPs, components or ingredients, or its VMP
/// changed. When the index is empty (first import, or data imported before the index existed) it
/// is built for everything; a first import builds it on another connection, beside the apply,
/// and swaps it in within the import's transaction.
struct SAMSearchIndex {
    let logger: Logger

    /// Refreshes the index inside the caller's transaction. `namesStaged`: the import's
    /// `sam_stage_entity` carries the names of the AMPs, AMPPs and VMPs it read (`SAMSearchNames`, in
    /// `name_langs`, `name_texts`, `name_days`; NULL for an entity staged unchanged or whose names
    /// are not plain text); the names of the others are read from the stored documents.
    func refresh(connection: PostgresConnection, namesStaged: Bool = false) async throws {
        if try await isEmpty(connection: connection) {
            // A full build inserts every row: building the indexes afterwards is several times
            // faster than maintaining them row by row (scale 1.0: 7 s instead of ~18 s).
            let indexes = try await Self.indexes(connection: connection, logger: logger)
            for index in indexes { try await connection.executeUnsafeScript("DROP INDEX \(Self.quoted(index.name))") }
            try await buildAll(
                connection: connection, from: "sam_entity", into: "sam_search_entry", namesStaged: namesStaged)
            try await create(indexes.map(\.definition), analysing: "sam_search_entry", connection: connection)
            return
        }
        let changed =
            try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM stage_change)", logger: logger
            ).decode(Bool.self).first { _ in true } ?? true
        // An unchanged export (the common re-import) touches nothing.
        guard changed else { return }
        try await connection.executeScript(Self.touchedSQL)
        try await connection.executeScript(Self.rowSettings)
        try await connection.executeUnsafeScript(Self.rebuildSQL(namesStaged: namesStaged, incremental: true))
    }

    /// True when the index has no row (a first import, or data imported before the index existed).
    func isEmpty(connection: PostgresConnection) async throws -> Bool {
        try await connection.query(
            "SELECT NOT EXISTS (SELECT 1 FROM sam_search_entry)", logger: logger
        ).decode(Bool.self).first { _ in true } ?? true
    }

    /// Builds the whole index of a first import on a connection of its own, from the committed
    /// staging, into a new table `sam_search_entry_next` (with its indexes and statistics), while
    /// the import's connection applies the entities and their events: the two cores were otherwise
    /// taking turns (scale 1.0: 13 s of the 39 s of a first import were this build, after the
    /// apply). ``swapInBuilt(connection:)`` puts it in place inside the import's transaction.
    /// Only for a run whose staged entities are exactly the entities it creates (see
    /// `SAMImportPipeline.buildSearchIndexAlongside`). False (and logged) when the build failed:
    /// the import then builds the index itself.
    func buildFromStaging(client: PostgresClient) async -> Bool {
        do {
            try await client.withConnection { connection in
                try await connection.executeScript("BEGIN")
                do {
                    // The staging has no index and its estimates are poor (an entity type and a
                    // parent type are counted as independent): a nested loop the planner expected
                    // to join a hundred VMP components with their ingredients joined 9,000 with
                    // 9,000 by scans (minutes at scale 1.0). Hash joins read each table once. One
                    // process: the other core is the import's.
                    try await connection.executeScript(
                        """
                        SET LOCAL jit = off;
                        SET LOCAL enable_nestloop = off;
                        SET LOCAL max_parallel_workers_per_gather = 0;
                        DROP TABLE IF EXISTS sam_search_entry_next;
                        CREATE TABLE sam_search_entry_next (LIKE sam_search_entry
                            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION);
                        """)
                    try await buildAll(
                        connection: connection, from: "sam_stage_entity", into: "sam_search_entry_next",
                        namesStaged: true)
                    let definitions = try await Self.indexes(connection: connection, logger: logger).map {
                        try Self.definition($0.definition, renamed: "\($0.name)_next", on: "sam_search_entry_next")
                    }
                    try await create(definitions, analysing: "sam_search_entry_next", connection: connection)
                    try await connection.executeScript("COMMIT")
                } catch {
                    try? await connection.executeScript("ROLLBACK")
                    throw error
                }
            }
            return true
        } catch {
            logger.warning(
                "building the search index beside the import failed; the import builds it itself: \(String(reflecting: error))"
            )
            return false
        }
    }

    /// Replaces the empty index by the one ``buildFromStaging(client:)`` committed, inside the
    /// caller's transaction: the new table and its indexes take the usual names, and readers
    /// see them from the commit on, with the entities they were built for. False, with the
    /// transaction as it was, when the swap failed (an object of the database depends on the old
    /// table, say): the caller then refreshes the index in place.
    func swapInBuilt(connection: PostgresConnection) async throws -> Bool {
        var script = """
            SAVEPOINT search_swap;
            DROP TABLE sam_search_entry;
            ALTER TABLE sam_search_entry_next RENAME TO sam_search_entry;

            """
        for index in try await Self.indexes(connection: connection, logger: logger) {
            script += "ALTER INDEX \(Self.quoted(index.name + "_next")) RENAME TO \(Self.quoted(index.name));\n"
        }
        do {
            try await connection.executeUnsafeScript(script + "RELEASE SAVEPOINT search_swap;")
            return true
        } catch {
            try await connection.executeScript("ROLLBACK TO SAVEPOINT search_swap")
            logger.warning(
                "the search index built beside the import could not replace the empty one; the import builds it itself: \(String(reflecting: error))"
            )
            return false
        }
    }

    /// Derives every row from the entities of `entities` into the empty `table`.
    private func buildAll(connection: PostgresConnection, from entities: String, into table: String, namesStaged: Bool)
        async throws
    {
        try await connection.executeUnsafeScript(
            """
            CREATE TEMP TABLE search_amp ON COMMIT DROP AS
                SELECT entity_key AS code FROM \(entities) WHERE entity_type = 'amp';
            CREATE TEMP TABLE search_vmp ON COMMIT DROP AS
                SELECT entity_key AS code FROM \(entities) WHERE entity_type = 'vmp';
            """)
        try await connection.executeScript(Self.rowSettings)
        try await connection.executeUnsafeScript(
            Self.rebuildSQL(namesStaged: namesStaged, incremental: false, entities: entities, into: table))
    }

    /// Creates the indexes of a fully built table, then its statistics.
    private func create(_ definitions: [String], analysing table: String, connection: PostgresConnection)
        async throws
    {
        try await connection.executeScript("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions { try await connection.executeUnsafeScript(definition) }
        // Planned on the statistics of an empty table, the next delta's lookup of withdrawn
        // DMPPs by code scanned every AMPP row once per DMPP (1.4 s for a 1,000-change delta
        // at scale 1.0, 11 s for 150 withdrawals) instead of probing the codes index (0.07 s).
        try await connection.executeUnsafeScript("ANALYZE \(table)")
    }

    /// The name rows are grouped in sorts and hashes that spill to disk with the default 4 MB.
    /// Memoize would cache names by slice, and no two slices are alike: it only cost time
    /// (1 s of 7 s for the AMPP names at scale 1.0).
    static let rowSettings: StaticString = "SET LOCAL work_mem = '128MB'; SET LOCAL enable_memoize = off"

    /// The indexes of `sam_search_entry`, read back from the catalog so that the migration stays
    /// their only source.
    static func indexes(connection: PostgresConnection, logger: Logger) async throws
        -> [(name: String, definition: String)]
    {
        let rows = try await connection.query(
            """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename = 'sam_search_entry' ORDER BY indexname
            """, logger: logger)
        var indexes: [(name: String, definition: String)] = []
        for try await (name, definition) in rows.decode((String, String).self) { indexes.append((name, definition)) }
        return indexes
    }

    /// An index definition of the catalog (`CREATE [UNIQUE] INDEX name ON schema.table USING …`)
    /// with another name, on another table.
    static func definition(_ definition: String, renamed name: String, on table: String) throws -> String {
        guard let using = definition.range(of: " USING ") else {
            throw SearchIndexDefinitionUnreadable(definition: definition)
        }
        let unique = definition.hasPrefix("CREATE UNIQUE INDEX ") ? "UNIQUE " : ""
        return "CREATE \(unique)INDEX \"\(name)\" ON \(table)\(definition[using.lowerBound...])"
    }

    /// The AMPs and VMPs whose index rows must be rebuilt, from the run's `stage_change`.
    /// Scoped keys start with the aggregate's key ("AMP/component/ingredient").
    static let touchedSQL: StaticString = """
        CREATE TEMP TABLE search_vmp ON COMMIT DROP AS
            SELECT DISTINCT split_part(entity_key, '/', 1) AS code FROM stage_change
            WHERE entity_type IN ('vmp', 'vmp_component', 'virtual_ingredient');
        INSERT INTO search_vmp
            SELECT v.entity_key FROM sam_entity v JOIN stage_change ch
              ON ch.entity_type = 'vmp_group'
             AND v.document -> 'slices' @> jsonb_build_array(jsonb_build_object('fields',
                    jsonb_build_object('VmpGroup', jsonb_build_object('@code', ch.entity_key))))
            WHERE v.entity_type = 'vmp';
        CREATE TEMP TABLE search_amp ON COMMIT DROP AS
            SELECT DISTINCT split_part(entity_key, '/', 1) AS code FROM stage_change
            WHERE entity_type IN ('amp', 'amp_component', 'real_actual_ingredient');
        INSERT INTO search_amp
            SELECT a.parent_key FROM stage_change ch JOIN sam_entity a
              ON a.entity_type = 'ampp' AND a.entity_key = ch.entity_key
            WHERE ch.entity_type = 'ampp' AND a.parent_key IS NOT NULL;
        INSERT INTO search_amp
            SELECT a.amp_code FROM stage_change ch JOIN sam_search_entry a
              ON a.entity_type = 'ampp' AND a.entity_key = ch.entity_key
            WHERE ch.entity_type = 'ampp' AND a.amp_code IS NOT NULL;
        INSERT INTO search_amp
            SELECT ampp.parent_key FROM stage_change ch
            JOIN sam_stage_entity d ON d.entity_type = 'dmpp' AND d.entity_key = ch.entity_key
            JOIN sam_entity ampp ON ampp.entity_type = 'ampp' AND ampp.entity_key = d.parent_key
            WHERE ch.entity_type = 'dmpp' AND ampp.parent_key IS NOT NULL;
        INSERT INTO search_amp
            SELECT s.amp_code FROM stage_change ch JOIN sam_search_entry s
              ON s.entity_type = 'ampp' AND s.codes @> ARRAY[split_part(ch.entity_key, '|', 3)]
            WHERE ch.entity_type = 'dmpp' AND ch.kind = 'deleted' AND s.amp_code IS NOT NULL;
        INSERT INTO search_amp
            SELECT a.entity_key FROM sam_entity a JOIN search_vmp v
              ON a.entity_type = 'amp' AND a.document #>> '{attributes,vmpCode}' = v.code;
        """

    /// The columns of `sam_search_entry`, in its order (`search_old` has the rows' positions first).
    static let columns =
        "entity_type, entity_key, amp_code, name, name_norm, langs, valid, codes, atc, ingredients, companies, vmp_groups, envs"

    /// Re-derives the index rows of `search_amp` (AMPs and their AMPPs) and `search_vmp`.
    /// Set-based on purpose: facts are gathered by joins over all touched aggregates at once, so a
    /// full build stays linear in the number of entities. A full build inserts straight into the
    /// (empty) index; an `incremental` one derives into `search_new` and then writes only the rows
    /// that differ: a renamed company touches thousands of AMPs whose rows stay the same, and each
    /// row rewritten costs five index updates (a trigram GIN among them). `entities` is the table
    /// the entities are read from (the staging, for a first import's build beside the import) and
    /// `table` the one a full build fills.
    static func rebuildSQL(
        namesStaged: Bool, incremental: Bool, entities: String = "sam_entity", into table: String = "sam_search_entry"
    ) -> String {
        let target = incremental ? "search_new" : table
        let prepare =
            incremental ? "CREATE TEMP TABLE search_new (LIKE sam_search_entry) ON COMMIT DROP;" : ""
        let writeDifferences =
            incremental
            ? """
            CREATE TEMP TABLE search_old ON COMMIT DROP AS
                SELECT s.ctid AS row_id, s.* FROM sam_search_entry s WHERE s.amp_code IN (SELECT code FROM search_amp)
                UNION ALL
                SELECT s.ctid, s.* FROM sam_search_entry s
                WHERE s.entity_type = 'vmp' AND s.entity_key IN (SELECT code FROM search_vmp);
            CREATE TEMP TABLE search_gone ON COMMIT DROP AS
                SELECT \(columns) FROM search_old EXCEPT ALL SELECT * FROM search_new;
            -- Deleted by position (a TID scan): joined by key, the planner once probed the trigram
            -- GIN (it answers name_norm equality too) once per row, 11 s for 7,000 rows.
            DELETE FROM sam_search_entry WHERE ctid = ANY (ARRAY(
                SELECT o.row_id FROM search_old o JOIN search_gone g
                  ON g.entity_type = o.entity_type AND g.entity_key = o.entity_key AND g.name_norm = o.name_norm
                 AND g.amp_code IS NOT DISTINCT FROM o.amp_code));
            INSERT INTO sam_search_entry SELECT * FROM search_new EXCEPT ALL SELECT \(columns) FROM search_old;
            """ : ""
        return """
            ANALYZE search_amp;
            ANALYZE search_vmp;
            \(prepare)

            CREATE TEMP TABLE search_ampp_facts ON COMMIT DROP AS
            SELECT p.entity_key AS cti, p.parent_key AS amp_code,
                   coalesce(array_agg(DISTINCT split_part(d.entity_key, '|', 3)) FILTER (WHERE d.entity_key IS NOT NULL), '{}') AS codes,
                   coalesce(array_agg(DISTINCT split_part(d.entity_key, '|', 1)) FILTER (WHERE d.entity_key IS NOT NULL), '{}') AS envs
            FROM (SELECT DISTINCT code FROM search_amp) t
            JOIN \(entities) p ON p.entity_type = 'ampp' AND p.parent_type = 'amp' AND p.parent_key = t.code
            LEFT JOIN \(entities) d ON d.entity_type = 'dmpp' AND d.parent_type = 'ampp' AND d.parent_key = p.entity_key
            GROUP BY p.entity_key, p.parent_key;
            ANALYZE search_ampp_facts;

            CREATE TEMP TABLE search_amp_facts ON COMMIT DROP AS
            WITH a AS (
                SELECT e.entity_key, e.document FROM \(entities) e JOIN (SELECT DISTINCT code FROM search_amp) t
                  ON e.entity_type = 'amp' AND e.entity_key = t.code),
            comp AS (
                SELECT a.entity_key, array_agg(DISTINCT j #>> '{}') AS v
                FROM a, jsonb_path_query(a.document, '$.slices[*].fields.Company."@actorNr"') j GROUP BY 1),
            grp AS (
                SELECT a.entity_key, array_agg(DISTINCT j #>> '{}') AS v
                FROM a JOIN \(entities) m ON m.entity_type = 'vmp' AND m.entity_key = a.document #>> '{attributes,vmpCode}',
                     jsonb_path_query(m.document, '$.slices[*].fields.VmpGroup."@code"') j GROUP BY 1),
            ing AS (
                SELECT a.entity_key, array_agg(DISTINCT j #>> '{}') AS v
                FROM a JOIN \(entities) c ON c.entity_type = 'amp_component' AND c.parent_type = 'amp' AND c.parent_key = a.entity_key
                       JOIN \(entities) i ON i.entity_type = 'real_actual_ingredient' AND i.parent_type = 'amp_component'
                                        AND i.parent_key = c.entity_key,
                     jsonb_path_query(i.document, '$.slices[*].fields.Substance."@code"') j GROUP BY 1),
            atc AS (
                SELECT a.entity_key, array_agg(DISTINCT j #>> '{}') AS v
                FROM a JOIN \(entities) p ON p.entity_type = 'ampp' AND p.parent_type = 'amp' AND p.parent_key = a.entity_key,
                     jsonb_path_query(p.document, '$.slices[*].fields.Atc[*]."@code"') j GROUP BY 1),
            env AS (
                SELECT amp_code AS entity_key, array_agg(DISTINCT e) AS v FROM search_ampp_facts, unnest(envs) e GROUP BY 1)
            SELECT a.entity_key AS amp_code, coalesce(comp.v, '{}') AS companies, coalesce(grp.v, '{}') AS vmp_groups,
                   coalesce(ing.v, '{}') AS ingredients, coalesce(atc.v, '{}') AS atc, coalesce(env.v, '{}') AS envs
            FROM a LEFT JOIN comp USING (entity_key) LEFT JOIN grp USING (entity_key) LEFT JOIN ing USING (entity_key)
                   LEFT JOIN atc USING (entity_key) LEFT JOIN env USING (entity_key);
            ANALYZE search_amp_facts;

            INSERT INTO \(target) (entity_type, entity_key, amp_code, name, name_norm, langs, valid,
                                          codes, atc, ingredients, companies, vmp_groups, envs)
            SELECT 'amp', g.entity_key, g.entity_key, g.name, g.norm, g.langs, g.valid,
                   ARRAY[g.entity_key], f.atc, f.ingredients, f.companies, f.vmp_groups, f.envs
            FROM (\(grouped("amp", keys: "SELECT amp_code FROM search_amp_facts", staged: namesStaged, reuseUnchanged: incremental, entities: entities))) g
            JOIN search_amp_facts f ON f.amp_code = g.entity_key;

            INSERT INTO \(target) (entity_type, entity_key, amp_code, name, name_norm, langs, valid,
                                          codes, atc, ingredients, companies, vmp_groups, envs)
            SELECT 'ampp', g.entity_key, pf.amp_code, g.name, g.norm, g.langs, g.valid,
                   ARRAY[g.entity_key] || pf.codes, f.atc, f.ingredients, f.companies, f.vmp_groups, pf.envs
            FROM (\(grouped("ampp", keys: "SELECT cti FROM search_ampp_facts", staged: namesStaged, reuseUnchanged: incremental, entities: entities))) g
            JOIN search_ampp_facts pf ON pf.cti = g.entity_key
            JOIN search_amp_facts f ON f.amp_code = pf.amp_code;

            CREATE TEMP TABLE search_vmp_facts ON COMMIT DROP AS
            WITH v AS (
                SELECT e.entity_key, e.document FROM \(entities) e JOIN (SELECT DISTINCT code FROM search_vmp) t
                  ON e.entity_type = 'vmp' AND e.entity_key = t.code),
            grp AS (
                SELECT v.entity_key, array_agg(DISTINCT j #>> '{}') AS g
                FROM v, jsonb_path_query(v.document, '$.slices[*].fields.VmpGroup."@code"') j GROUP BY 1),
            ing AS (
                SELECT v.entity_key, array_agg(DISTINCT j #>> '{}') AS s
                FROM v JOIN \(entities) c ON c.entity_type = 'vmp_component' AND c.parent_type = 'vmp' AND c.parent_key = v.entity_key
                       JOIN \(entities) i ON i.entity_type = 'virtual_ingredient' AND i.parent_type = 'vmp_component'
                                        AND i.parent_key = c.entity_key,
                     jsonb_path_query(i.document, '$.slices[*].fields.Substance."@code"') j GROUP BY 1)
            SELECT v.entity_key AS vmp_code, coalesce(grp.g, '{}') AS vmp_groups, coalesce(ing.s, '{}') AS ingredients
            FROM v LEFT JOIN grp USING (entity_key) LEFT JOIN ing USING (entity_key);
            ANALYZE search_vmp_facts;

            INSERT INTO \(target) (entity_type, entity_key, amp_code, name, name_norm, langs, valid,
                                          codes, atc, ingredients, companies, vmp_groups, envs)
            SELECT 'vmp', g.entity_key, NULL, g.name, g.norm, g.langs, g.valid,
                   ARRAY[g.entity_key], '{}', f.ingredients, '{}', f.vmp_groups, '{}'
            FROM (\(grouped("vmp", keys: "SELECT vmp_code FROM search_vmp_facts", staged: namesStaged, reuseUnchanged: incremental, entities: entities))) g
            JOIN search_vmp_facts f ON f.vmp_code = g.entity_key;
            \(writeDifferences)
            """
    }

    /// The names of the entities of `type` listed by `keys`, one row per normalised name with its
    /// languages and days. With `staged`, the names this run read come from `sam_stage_entity`; the
    /// others (a partial import, a rebuild, a name left to the SQL) from the stored documents.
    /// With `reuseUnchanged` (an incremental refresh), an entity this run did not change keeps
    /// the name rows the index has for it: names derive from the entity's own document alone, so
    /// they are the same (a renamed company touches thousands of AMPPs whose documents did not
    /// change; deriving their names again from the documents was most of a delta's refresh).
    /// Documents are read from `entities`.
    static func grouped(
        _ type: String, keys: String, staged: Bool, reuseUnchanged: Bool = false, entities: String = "sam_entity"
    ) -> String {
        let fields = SAMSearchNames.fields[type]!.map { "'\($0)'" }.joined(separator: ", ")
        let stagedNames = """
            SELECT s.entity_key, lower(unaccent(n.name)) AS norm, n.name, n.lang, n.days::datemultirange AS days
            FROM sam_stage_entity s, unnest(s.name_langs, s.name_texts, s.name_days) n(lang, name, days)
            WHERE s.entity_type = '\(type)' AND s.entity_key IN (\(keys)) AND s.name_texts IS NOT NULL
            UNION ALL
            """
        let notStaged = """
            AND NOT EXISTS (SELECT 1 FROM sam_stage_entity s
                            WHERE s.entity_type = '\(type)' AND s.entity_key = e.entity_key AND s.name_texts IS NOT NULL)
            """
        // Unchanged by the run and already in the index (an entity without any name has no row:
        // it goes the document way, which finds none again).
        func unchanged(_ key: String) -> String {
            """
            NOT EXISTS (SELECT 1 FROM stage_change ch WHERE ch.entity_type = '\(type)' AND ch.entity_key = \(key))
            AND EXISTS (SELECT 1 FROM sam_search_entry present
                        WHERE present.entity_type = '\(type)' AND present.entity_key = \(key))
            """
        }
        let fromDocuments = reuseUnchanged ? "AND NOT (\(unchanged("e.entity_key")))" : ""
        let reused =
            reuseUnchanged
            ? """
            UNION ALL
            SELECT i.entity_key, i.name_norm, i.name, i.langs, i.valid
            FROM sam_search_entry i
            WHERE i.entity_type = '\(type)' AND i.entity_key IN (\(keys)) AND \(unchanged("i.entity_key"))
            """ : ""
        return """
            SELECT entity_key, norm, min(name) AS name,
                   coalesce(array_agg(DISTINCT lang) FILTER (WHERE lang IS NOT NULL), '{}') AS langs,
                   range_agg(days) AS valid
            FROM (\(staged ? stagedNames : "")
                  SELECT e.entity_key, n.norm, n.name, n.lang, datemultirange(sam_slice_days(sl.slice)) AS days
                  FROM \(entities) e,
                       LATERAL jsonb_array_elements(e.document -> 'slices') sl(slice),
                       LATERAL sam_slice_names(sl.slice, ARRAY[\(fields)]) n
                  WHERE e.entity_type = '\(type)' AND e.entity_key IN (\(keys)) \(staged ? notStaged : "") \(fromDocuments)
                 ) names
            GROUP BY entity_key, norm
            \(reused)
            """
    }

    /// An identifier read from the catalog (our own index names), quoted for DDL.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// An index definition of `sam_search_entry` that ``SAMSearchIndex/definition(_:renamed:on:)``
/// could not read (the catalog's form of `CREATE INDEX … USING …` was expected).
struct SearchIndexDefinitionUnreadable: Error, CustomStringConvertible {
    let definition: String
    var description: String { "cannot read the index definition \"\(definition)\" (expected CREATE INDEX … USING …)" }

}
