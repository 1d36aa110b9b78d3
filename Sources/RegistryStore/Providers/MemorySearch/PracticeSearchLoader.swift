import Logging
import PostgresNIO
import RegistryCore

extension PracticeSearchSnapshot {
    /// The newest applied import that can change `practice_search`.
    static let markerSQL =
        "SELECT coalesce(max(id), 0) FROM import_run WHERE outcome = 'applied' AND domain IN ('cobrha', 'practices')"

    /// The newest applied import that can change `practice_search` (CoBRHA or practices): a
    /// snapshot built at another marker is stale.
    package static func currentMarker(client: PostgresClient, logger: Logger) async throws -> Int64 {
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: markerSQL),
            logger: logger)
        var marker: Int64 = 0
        for try await value in rows.decode(Int64.self) { marker = value }
        return marker
    }

    /// Reads `practice_search` with the practice documents and the marker in one read-only
    /// REPEATABLE READ transaction (so rows and marker are the same import's), and PostgreSQL's
    /// own name folding for the Basic Multilingual Plane. `render` makes the bytes a hit shows
    /// (from a hit without distance or score), once per practice.
    package static func load(
        client: PostgresClient, logger: Logger, render: @Sendable (PracticeSearchHit) -> [UInt8],
        renderResource: (@Sendable (FHIRActorQueries.Practice) -> [UInt8])? = nil
    ) async throws -> PracticeSearchSnapshot {
        try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var marker: Int64 = 0
                for try await value in try await connection.query(
                    PostgresQuery(unsafeSQL: markerSQL),
                    logger: logger
                ).decode(Int64.self) { marker = value }
                var table: [UInt32: String] = [:]
                for try await (scalar, folded) in try await connection.query(
                    """
                    SELECT i, f FROM (
                        SELECT i, lower(public.unaccent('public.unaccent'::regdictionary, chr(i))) AS f
                        FROM generate_series(1, 65533) i WHERE i < 55296 OR i > 57343) x
                    WHERE f IS DISTINCT FROM chr(i)
                    """, logger: logger
                ).decode((Int32, String).self) { table[UInt32(scalar)] = folded }
                var rows: [PracticeSearchRow] = []
                let result = try await connection.query(
                    """
                    SELECT s.practice_key, s.professional_id, s.profession, s.qualifications, s.languages, s.postcode,
                           s.latitude, s.longitude, cube_ll_coord(s.earth, 1), cube_ll_coord(s.earth, 2),
                           cube_ll_coord(s.earth, 3), s.valid_from - date '1970-01-01', s.valid_to - date '1970-01-01',
                           s.family_name, s.given_name, s.family_exact, s.full_exact, s.family_key, s.full_key,
                           p.document::text, p.institution_key, floor(extract(epoch FROM p.changed_at))::int8
                    FROM practice_search s JOIN practice p ON p.key = s.practice_key
                    ORDER BY s.practice_key
                    """, logger: logger)
                for try await row in result {
                    let r = row.makeRandomAccess()
                    let x = try r[8].decode(Double?.self)
                    let y = try r[9].decode(Double?.self)
                    let z = try r[10].decode(Double?.self)
                    let key = try r[0].decode(String.self)
                    let professionalId = try r[1].decode(String?.self)
                    let profession = try r[2].decode(String?.self)
                    let qualifications = try r[3].decode([String].self)
                    let familyName = try r[13].decode(String?.self)
                    let givenName = try r[14].decode(String?.self)
                    let document = try JSONValue.parse(try r[19].decode(String.self))
                    let rendered = render(
                        PracticeSearchHit(
                            practiceKey: key, practice: document,
                            rendered: nil, professionalId: professionalId, familyName: familyName,
                            givenName: givenName, profession: profession, qualifications: qualifications,
                            distanceMetres: nil, score: nil, sortValue: ""))
                    let validFrom = Int(try r[11].decode(Int32.self))
                    let validTo = try r[12].decode(Int32?.self).map(Int.init)
                    var row = PracticeSearchRow(
                        key: key, professionalId: professionalId,
                        profession: profession, qualifications: qualifications,
                        languages: try r[4].decode([String].self), postcode: try r[5].decode(String.self),
                        latitude: try r[6].decode(Double?.self), longitude: try r[7].decode(Double?.self),
                        earth: x.flatMap { x in y.flatMap { y in z.map { (x, y, $0) } } },
                        validFrom: validFrom, validTo: validTo,
                        familyName: familyName, givenName: givenName,
                        familyExact: try r[15].decode(String.self), fullExact: try r[16].decode(String.self),
                        familyKey: try r[17].decode(String.self), fullKey: try r[18].decode(String.self),
                        rendered: rendered)
                    if let renderResource {
                        row.resource = renderResource(
                            FHIRActorQueries.Practice(
                                key: key, document: document, professionalId: professionalId, profession: profession,
                                institutionKey: try r[20].decode(String?.self),
                                validFrom: LocalDate(dayNumber: validFrom),
                                validTo: validTo.map { LocalDate(dayNumber: $0) },
                                changedAt: PracticeSearchSnapshot.timestamp(try r[21].decode(Int64.self))))
                    }
                    rows.append(row)
                }
                try await connection.query("COMMIT", logger: logger)
                return PracticeSearchSnapshot(rows: rows, marker: marker, folding: NameFolding(table: table))
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
