import Logging
import PostgresNIO
import RegistryStore

/// Keeps `practice_search` in step with `practice` and `professional`: a practice's row carries
/// its professional's names (as folded keys), profession and current qualifications, so a
/// search is one indexed table.
enum PracticeSearchIndex {
    /// Rebuilds the rows of the practices of the NIHIIs `nihiisOf` (a query returning `nihii`
    /// values), or of the practices in `practiceKeysOf` (a query returning practice keys).
    static func refresh(
        _ connection: PostgresConnection, nihiisOf: String? = nil, practiceKeysOf: String? = nil, logger: Logger
    ) async throws {
        var selections: [String] = []
        if let nihiisOf { selections.append("SELECT p.key FROM practice p WHERE p.nihii IN (\(nihiisOf))") }
        if let practiceKeysOf { selections.append(practiceKeysOf) }
        guard !selections.isEmpty else { return }
        // The selections are the callers' constant queries.
        try await connection.executeUnsafeScript(
            """
            DROP TABLE IF EXISTS stage_refresh;
            CREATE TEMP TABLE stage_refresh ON COMMIT DROP AS \(selections.joined(separator: " UNION "));
            DROP TABLE IF EXISTS stage_old_names;
            CREATE TEMP TABLE stage_old_names ON COMMIT DROP AS
            SELECT s.family_key AS name_key FROM practice_search s JOIN stage_refresh r ON r.key = s.practice_key
            UNION SELECT s.full_key FROM practice_search s JOIN stage_refresh r ON r.key = s.practice_key;
            DELETE FROM practice_search s USING stage_refresh r WHERE s.practice_key = r.key;
            INSERT INTO practice_search (practice_key, professional_id, nihii, profession, qualifications, languages,
                                         competences, postcode, latitude, longitude, earth, valid_from, valid_to,
                                         family_name, given_name, family_exact, full_exact, family_key, full_key)
            SELECT p.key, n.professional_id, p.nihii, n.profession,
                   coalesce(ARRAY(
                       SELECT DISTINCT s ->> 'code'
                       FROM jsonb_array_elements(pr.document -> 'professions') x, jsonb_array_elements(x -> 'specialities') s
                       WHERE x ->> 'code' = n.profession AND (s ->> 'to' IS NULL OR (s ->> 'to')::date >= current_date)),
                     '{}'),
                   p.languages, p.competences, p.postcode, p.latitude, p.longitude,
                   CASE WHEN p.latitude IS NOT NULL AND p.longitude IS NOT NULL THEN ll_to_earth(p.latitude, p.longitude) END,
                   p.valid_from, p.valid_to,
                   pr.document ->> 'lastName', pr.document ->> 'firstName',
                   registry_name_exact(pr.document ->> 'lastName'),
                   registry_name_exact(coalesce(pr.document ->> 'firstName', '') || ' ' || (pr.document ->> 'lastName')),
                   registry_name_key(pr.document ->> 'lastName'),
                   registry_name_key(coalesce(pr.document ->> 'firstName', '') || (pr.document ->> 'lastName'))
            FROM practice p JOIN (SELECT DISTINCT key FROM stage_refresh) r ON r.key = p.key
            LEFT JOIN professional_nihii n ON n.nihii = p.nihii
            LEFT JOIN professional pr ON pr.id = n.professional_id;
            INSERT INTO practice_name (name_key)
            SELECT s.family_key FROM practice_search s JOIN (SELECT DISTINCT key FROM stage_refresh) r ON r.key = s.practice_key
            WHERE s.family_key <> ''
            UNION SELECT s.full_key FROM practice_search s JOIN (SELECT DISTINCT key FROM stage_refresh) r ON r.key = s.practice_key
            WHERE s.full_key <> ''
            ON CONFLICT DO NOTHING;
            DELETE FROM practice_name n USING stage_old_names o
            WHERE n.name_key = o.name_key
              AND NOT EXISTS (SELECT 1 FROM practice_search s WHERE s.family_key = n.name_key)
              AND NOT EXISTS (SELECT 1 FROM practice_search s WHERE s.full_key = n.name_key);
            """, logger: logger)
    }
}
