import Logging
import PostgresNIO
import RegistryCore

/// The actor searches behind the FHIR endpoint (IHE mCSD): practitioners, their roles at
/// practices, the practices as locations, and organisations (institutions and SAM companies).
/// Each returns one page of keys and the total; documents are read by key.
package struct FHIRActorQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Filters shared by the actor searches; nil means "not asked".
    package struct Filter: Sendable {
        package var nihii: String?
        package var professionalId: String?
        package var practiceKey: String?
        package var institutionKey: String?
        package var profession: String?
        package var postcode: String?
        package var updatedFrom: LocalDate?
        /// Exclusive.
        package var updatedBefore: LocalDate?
        package var near: (latitude: Double, longitude: Double, metres: Double)?
        package var identifier: (schemes: [String], value: String)?
        package var kind: String?
        package var at: LocalDate

        package init(at: LocalDate) { self.at = at }
    }

    package struct Page: Sendable {
        package var keys: [String]
        package var total: Int
    }

    /// A string search: the value and the LIKE wildcards around its folded, escaped form.
    package struct NameMatch: Sendable {
        package var value: String
        package var before: String
        package var after: String

        package init(_ value: String, _ match: FHIRSearchQueries.StringMatch) {
            self.value = value
            switch match {
            case .startsWith: (before, after) = ("", "%")
            case .contains: (before, after) = ("%", "%")
            case .exact: (before, after) = ("", "")
            }
        }
    }

    package func practitioners(
        _ filter: Filter, name: NameMatch?, family: NameMatch?, given: NameMatch?, offset: Int, limit: Int
    ) async throws -> Page {
        // Names are compared folded (registry_name_exact), the value's LIKE wildcards escaped.
        let query: PostgresQuery = """
            SELECT p.id AS key FROM professional p
            WHERE (\(filter.nihii)::text IS NULL
                   OR EXISTS (SELECT 1 FROM professional_nihii n WHERE n.professional_id = p.id AND n.nihii = \(filter.nihii)))
              AND (\(filter.professionalId)::text IS NULL OR p.id = \(filter.professionalId))
              AND (\(filter.updatedFrom?.description)::date IS NULL OR p.changed_at >= \(filter.updatedFrom?.description)::date)
              AND (\(filter.updatedBefore?.description)::date IS NULL OR p.changed_at < \(filter.updatedBefore?.description)::date)
              AND (\(family?.value)::text IS NULL OR registry_name_exact(p.document ->> 'lastName') LIKE
                    \(family?.before)::text || replace(replace(replace(registry_name_exact(\(family?.value)::text),
                    '\\', '\\\\'), '%', '\\%'), '_', '\\_') || \(family?.after)::text)
              AND (\(given?.value)::text IS NULL OR registry_name_exact(p.document ->> 'firstName') LIKE
                    \(given?.before)::text || replace(replace(replace(registry_name_exact(\(given?.value)::text),
                    '\\', '\\\\'), '%', '\\%'), '_', '\\_') || \(given?.after)::text)
              AND (\(name?.value)::text IS NULL OR EXISTS (
                    SELECT 1 FROM unnest(ARRAY[p.document ->> 'lastName', p.document ->> 'firstName']) AS n(part)
                    WHERE registry_name_exact(n.part) LIKE
                        \(name?.before)::text || replace(replace(replace(registry_name_exact(\(name?.value)::text),
                        '\\', '\\\\'), '%', '\\%'), '_', '\\_') || \(name?.after)::text))
            """
        return try await page(query, order: "key", offset: offset, limit: limit)
    }

    /// A page of practices (roles and locations share their keys) valid on `at`, read whole in
    /// one statement: with `near`, nearest first by the GiST index's KNN order and the total
    /// counted only when `countTotal` (a radius in a city holds tens of thousands).
    package func practices(_ filter: Filter, offset: Int, limit: Int, countTotal: Bool) async throws -> (
        practices: [Practice], total: Int?, hasMore: Bool
    ) {
        let near = filter.near
        let matching: PostgresQuery = """
            FROM practice p JOIN practice_search s ON s.practice_key = p.key
            WHERE p.valid_from <= \(filter.at.description)::date
              AND (p.valid_to IS NULL OR p.valid_to >= \(filter.at.description)::date)
              AND (\(filter.practiceKey)::text IS NULL OR p.key = \(filter.practiceKey))
              AND (\(filter.professionalId)::text IS NULL OR s.professional_id = \(filter.professionalId))
              AND (\(filter.institutionKey)::text IS NULL OR p.institution_key = \(filter.institutionKey))
              AND (\(filter.profession)::text IS NULL OR s.profession = \(filter.profession))
              AND (\(filter.postcode)::text IS NULL OR p.postcode = \(filter.postcode))
              AND (\(filter.updatedFrom?.description)::date IS NULL OR p.changed_at >= \(filter.updatedFrom?.description)::date)
              AND (\(filter.updatedBefore?.description)::date IS NULL OR p.changed_at < \(filter.updatedBefore?.description)::date)
              AND (\(near?.latitude)::float8 IS NULL OR (
                    earth_box(ll_to_earth(\(near?.latitude)::float8, \(near?.longitude)::float8), \(near?.metres)::float8) @> s.earth
                    AND earth_distance(s.earth, ll_to_earth(\(near?.latitude)::float8, \(near?.longitude)::float8))
                        <= \(near?.metres)::float8))
            """
        let columns = """
            SELECT p.key, p.document::text, s.professional_id, s.profession, p.institution_key,
                   p.valid_from::text, p.valid_to::text,
                   to_char(p.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            """
        var query = PostgresQuery(unsafeSQL: "")
        if let near {
            // Nearest first by the GiST index's KNN order (one ORDER BY expression, so PostgreSQL
            // walks the index and stops), then every practice at the same place as the last one
            // (ties in distance), so offset pages never skip or repeat a practice.
            let centre = "ll_to_earth(\(near.latitude), \(near.longitude))"
            query.sql = """
                WITH knn AS (
                    SELECT p.key, s.earth, s.earth <-> \(centre) AS chord \(matching.sql)
                    ORDER BY s.earth <-> \(centre) LIMIT \(offset + limit + 1)),
                edge AS (SELECT earth FROM knn ORDER BY chord DESC LIMIT 1),
                hits AS (
                    SELECT key, chord FROM knn
                    UNION
                    SELECT p.key, s.earth <-> \(centre) \(matching.sql)
                      AND s.earth @> (SELECT earth FROM edge) AND s.earth <@ (SELECT earth FROM edge))
                \(columns) FROM hits h JOIN practice p ON p.key = h.key JOIN practice_search s ON s.practice_key = p.key
                ORDER BY h.chord, p.key OFFSET \(offset) LIMIT \(limit + 1)
                """
            // The matching clause appears twice; its $n parameters name the same binds both times.
            query.binds = matching.binds
        } else {
            query.sql = columns + " " + matching.sql + " ORDER BY p.key OFFSET \(offset) LIMIT \(limit + 1)"
            query.binds = matching.binds
        }
        var practices: [Practice] = []
        for try await (key, text, professional, profession, institution, from, to, changed) in try await client.query(
            query, logger: logger
        ).decode((String, String, String?, String?, String?, String, String?, String).self) {
            practices.append(
                Practice(
                    key: key, document: try JSONValue.parse(text), professionalId: professional,
                    profession: profession, institutionKey: institution, validFrom: LocalDate(iso: from),
                    validTo: to.flatMap { LocalDate(iso: $0) }, changedAt: changed))
        }
        let hasMore = practices.count > limit
        if hasMore { practices.removeLast() }
        var total: Int?
        if countTotal {
            var count = PostgresQuery(unsafeSQL: "SELECT count(*) ")
            count.sql += matching.sql
            count.binds = matching.binds
            total = try await client.query(count, logger: logger).decode(Int64.self).first { _ in true }.map(Int.init)
        } else if !hasMore {
            total = offset + practices.count
        }
        return (practices, total, hasMore)
    }

    /// Organisations: institutions (key `scheme:id`) and SAM companies (key `company:actorNr`).
    package func organizations(_ filter: Filter, name: NameMatch?, offset: Int, limit: Int) async throws -> Page {
        let schemes = filter.identifier?.schemes ?? []
        let value = filter.identifier?.value
        let query: PostgresQuery = """
            WITH org AS (
                SELECT i.key, i.kind, i.changed_at,
                       CASE jsonb_typeof(i.document -> 'name') WHEN 'object' THEN i.document -> 'name'
                            ELSE jsonb_build_object('x', i.document -> 'name') END AS names
                FROM institution i
                WHERE \(value)::text IS NULL OR EXISTS (
                    SELECT 1 FROM institution_identifier x
                    WHERE x.institution_key = i.key AND x.scheme = ANY (\(schemes)) AND x.value = \(value))
                UNION ALL
                SELECT r.id, 'oms-organisation', r.changed_at, jsonb_build_object('x', r.name)
                FROM spor_oms_record r
                WHERE r.kind = 'organisation'
                  AND (\(value)::text IS NULL OR ('oms' = ANY (\(schemes)) AND (r.id = \(value) OR EXISTS (
                        SELECT 1 FROM spor_oms_alias a WHERE a.record_id = r.id AND a.alias_id = \(value)))))
                UNION ALL
                SELECT 'company:' || c.entity_key, 'company', c.changed_at,
                       jsonb_build_object('x', sam_fields_at(c.document, \(filter.at.description)::date) -> 'Denomination')
                FROM sam_entity c
                WHERE c.entity_type = 'company'
                  AND (\(value)::text IS NULL OR ('company' = ANY (\(schemes)) AND c.entity_key = \(value))))
            SELECT org.key AS key FROM org
            WHERE (\(filter.institutionKey)::text IS NULL OR org.key = \(filter.institutionKey))
              AND (\(filter.kind)::text IS NULL OR org.kind = \(filter.kind))
              AND (\(filter.updatedFrom?.description)::date IS NULL OR org.changed_at >= \(filter.updatedFrom?.description)::date)
              AND (\(filter.updatedBefore?.description)::date IS NULL OR org.changed_at < \(filter.updatedBefore?.description)::date)
              AND (\(name?.value)::text IS NULL OR EXISTS (
                    SELECT 1 FROM jsonb_each_text(org.names) n
                    WHERE registry_name_exact(n.value) LIKE
                        \(name?.before)::text || replace(replace(replace(registry_name_exact(\(name?.value)::text),
                        '\\', '\\\\'), '%', '\\%'), '_', '\\_') || \(name?.after)::text))
            """
        return try await page(query, order: "key", offset: offset, limit: limit)
    }

    package struct Practice: Sendable {
        package var key: String
        package var document: JSONValue
        package var professionalId: String?
        package var profession: String?
        package var institutionKey: String?
        package var validFrom: LocalDate?
        package var validTo: LocalDate?
        package var changedAt: String

        package init(
            key: String, document: JSONValue, professionalId: String?, profession: String?, institutionKey: String?,
            validFrom: LocalDate?, validTo: LocalDate?, changedAt: String
        ) {
            self.key = key
            self.document = document
            self.professionalId = professionalId
            self.profession = profession
            self.institutionKey = institutionKey
            self.validFrom = validFrom
            self.validTo = validTo
            self.changedAt = changedAt
        }
    }

    package func practice(_ key: String) async throws -> Practice? {
        let rows = try await client.query(
            """
            SELECT p.key, p.document::text, s.professional_id, s.profession, p.institution_key, p.valid_from::text,
                   p.valid_to::text, to_char(p.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM practice p LEFT JOIN practice_search s ON s.practice_key = p.key WHERE p.key = \(key)
            """, logger: logger)
        for try await (key, text, professional, profession, institution, from, to, changed) in rows.decode(
            (String, String, String?, String?, String?, String, String?, String).self)
        {
            return Practice(
                key: key, document: try JSONValue.parse(text), professionalId: professional, profession: profession,
                institutionKey: institution, validFrom: LocalDate(iso: from),
                validTo: to.flatMap { LocalDate(iso: $0) },
                changedAt: changed)
        }
        return nil
    }

    package func professional(_ id: String) async throws -> (
        document: JSONValue, nihii: [(String, String)], changedAt: String
    )? {
        let rows = try await client.query(
            """
            SELECT p.document::text, to_char(p.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   coalesce((SELECT jsonb_agg(jsonb_build_array(n.nihii, n.profession) ORDER BY n.nihii)
                             FROM professional_nihii n WHERE n.professional_id = p.id), '[]')::text
            FROM professional p WHERE p.id = \(id)
            """, logger: logger)
        for try await (text, changed, nihii) in rows.decode((String, String, String).self) {
            let pairs = try JSONValue.parse(nihii).items.compactMap { pair -> (String, String)? in
                guard let number = pair[0]?.stringValue, let profession = pair[1]?.stringValue else { return nil }
                return (number, profession)
            }
            return (try JSONValue.parse(text), pairs, changed)
        }
        return nil
    }

    package func institution(_ key: String) async throws -> (document: JSONValue, kind: String, changedAt: String)? {
        let rows = try await client.query(
            """
            SELECT document::text, kind, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM institution WHERE key = \(key)
            """, logger: logger)
        for try await (text, kind, changed) in rows.decode((String, String, String).self) {
            return (try JSONValue.parse(text), kind, changed)
        }
        return nil
    }

    /// An OMS record's document (by its own id).
    package func omsRecord(_ id: String) async throws -> (document: JSONValue, changedAt: String)? {
        let rows = try await client.query(
            """
            SELECT document::text, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM spor_oms_record WHERE id = \(id)
            """, logger: logger)
        for try await (text, changed) in rows.decode((String, String).self) {
            return (try JSONValue.parse(text), changed)
        }
        return nil
    }

    /// A SAM company's fields on `at`.
    package func company(_ actorNr: String, at: LocalDate) async throws -> (fields: JSONValue, changedAt: String)? {
        let rows = try await client.query(
            """
            SELECT sam_fields_at(document, \(at.description)::date)::text,
                   to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM sam_entity WHERE entity_type = 'company' AND entity_key = \(actorNr)
            """, logger: logger)
        for try await (text, changed) in rows.decode((String?, String).self) {
            guard let text else { return nil }
            return (try JSONValue.parse(text), changed)
        }
        return nil
    }

    private func page(_ matching: PostgresQuery, order: String, offset: Int, limit: Int) async throws -> Page {
        let found = try await FHIRSearchQueries(client: client, logger: logger).page(
            matching, order: order, offset: offset, limit: limit)
        return Page(keys: found.keys, total: found.total)
    }
}
