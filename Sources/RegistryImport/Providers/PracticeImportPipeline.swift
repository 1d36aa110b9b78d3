import Foundation
import Logging
import PostgresNIO
import RegistryStore
import ProviderReaders
import RegistryCore

/// Imports the practice register (the whole register each time) in one transaction: rows are
/// checked and COPYed into a staging table while the file streams, then diffed by content hash,
/// gated against a mass deletion, applied with `practice.created|updated|deleted` events, and the
/// search rows of the changed practices rebuilt. The same register twice changes nothing.
package struct PracticeImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func run(path: String, maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        let file = PracticeRegisterReader.resolve(path)
        guard FileManager.default.fileExists(atPath: file) else {
            throw ImportError.input(
                "\(path) is not a practice register (no such file, or no practices.csv/.json in it)")
        }
        return try await ImportRunDriver(client: client, logger: logger).run(.practices, source: path) { run in
            try await run.transaction {
                let connection = run.connection
                try await connection.executeScript(
                    """
                    CREATE TEMP TABLE stage_practice (key text, nihii text, postcode text, latitude double precision,
                        longitude double precision, institution_key text, valid_from date, valid_to date,
                        languages text[], competences text[], document jsonb) ON COMMIT DROP;
                    CREATE TEMP TABLE stage_practice_rejected (key text) ON COMMIT DROP;
                    """)
                try await connection.createEventStage(logger: logger)
                let reader = try PracticeRegisterReader(path: file)
                defer { reader.close() }
                try await connection.copyFrom(
                    table: "stage_practice",
                    columns: [
                        "key", "nihii", "postcode", "latitude", "longitude", "institution_key", "valid_from",
                        "valid_to", "languages", "competences", "document",
                    ], logger: logger
                ) { writer in
                    var buffer = CopyTextBuffer()
                    while let batch = reader.nextBatch() {
                        for r in batch {
                            buffer.appendRow(
                                [
                                    r.key, r.nihii, r.postcode, r.latitude.map { String($0) },
                                    r.longitude.map { String($0) }, r.institutionKey, r.validFrom.description,
                                    r.validTo?.description, PostgresText.array(r.languages),
                                    PostgresText.array(r.competences),
                                ], lastColumnBytes: r.document.canonicalBytes)
                        }
                        if buffer.byteCount >= 1 << 20 { try await writer.write(buffer.take()) }
                    }
                    if buffer.byteCount > 0 { try await writer.write(buffer.take()) }
                }
                run.findings = reader.findings
                run.summary.files = [
                    .init(
                        name: reader.file, kind: "practices", bytes: reader.bytesRead, sha256: "",
                        entities: reader.rowsRead)
                ]
                if reader.isRefused {
                    throw run.refusal("\(reader.file) is not a usable practice register (see the fatal findings)")
                }
                try await connection.copyRows(
                    table: "stage_practice_rejected", columns: ["key"], rows: reader.rejectedKeys.map { [$0] },
                    logger: logger)
                var counts = ImportSummary.TypeCounts()
                counts.read = reader.rowsRead
                counts.rejected = Set(reader.rejectedKeys).count
                counts.accepted = counts.read - counts.rejected
                run.summary.counts = ["practice": counts]
                if let refusal = try await diffAndGate(
                    connection, maxDeleteShare: maxDeleteShare, summary: &run.summary)
                {
                    run.findings.append(
                        QualityFinding(
                            rule: CoBRHAQualityRules.practiceMassDeletion, file: reader.file, message: refusal))
                    throw run.refusal(refusal)
                }
                run.findings += try await crossChecks(connection, file: reader.file)
                try await apply(connection, summary: &run.summary)
            }
        }
    }

    func diffAndGate(_ connection: PostgresConnection, maxDeleteShare: Double, summary: inout ImportSummary)
        async throws -> String?
    {
        try await connection.executeScript(
            """
            CREATE INDEX ON stage_practice (key);
            ANALYZE stage_practice;
            CREATE TEMP TABLE stage_practice_change ON COMMIT DROP AS
            SELECT s.key, CASE WHEN p.key IS NULL THEN 'created' ELSE 'updated' END AS kind,
                   encode(sha256(convert_to(s.document::text, 'UTF8')), 'hex') AS content_hash
            FROM stage_practice s LEFT JOIN practice p ON p.key = s.key
            WHERE p.key IS NULL OR p.content_hash <> encode(sha256(convert_to(s.document::text, 'UTF8')), 'hex')
            UNION ALL
            SELECT p.key, 'deleted', NULL FROM practice p
            WHERE NOT EXISTS (SELECT 1 FROM stage_practice s WHERE s.key = p.key)
              AND NOT EXISTS (SELECT 1 FROM stage_practice_rejected r WHERE r.key = p.key);
            """)
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE kind = 'created'), count(*) FILTER (WHERE kind = 'updated'),
                   count(*) FILTER (WHERE kind = 'deleted'), (SELECT count(*) FROM practice)
            FROM stage_practice_change
            """, logger: logger)
        for try await (created, updated, deleted, current) in rows.decode((Int64, Int64, Int64, Int64).self) {
            summary.counts["practice", default: .init()].created = Int(created)
            summary.counts["practice", default: .init()].updated = Int(updated)
            summary.counts["practice", default: .init()].deleted = Int(deleted)
            if current > 0, Double(deleted) / Double(current) > maxDeleteShare {
                return
                    "the register would delete \(deleted) of \(current) practices, more than \(Int(maxDeleteShare * 100))%"
            }
        }
        return nil
    }

    /// Warnings that need the stored professionals and institutions.
    func crossChecks(_ connection: PostgresConnection, file: String) async throws -> [QualityFinding] {
        var findings: [QualityFinding] = []
        let rows = try await connection.query(
            """
            SELECT s.key, 'unknown-nihii', s.nihii FROM stage_practice s
            WHERE NOT EXISTS (SELECT 1 FROM professional_nihii n WHERE n.nihii = s.nihii)
            UNION ALL
            SELECT s.key, 'unknown-institution', s.institution_key FROM stage_practice s
            WHERE s.institution_key IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM institution i WHERE i.key = s.institution_key)
              AND NOT EXISTS (SELECT 1 FROM institution_identifier x
                              WHERE x.scheme || ':' || x.value = s.institution_key)
            UNION ALL
            SELECT s.key, 'deceased', pr.document ->> 'deathDate' FROM stage_practice s
            JOIN professional_nihii n ON n.nihii = s.nihii JOIN professional pr ON pr.id = n.professional_id
            WHERE pr.document ? 'deathDate'
              AND (s.valid_to IS NULL OR s.valid_to > (pr.document ->> 'deathDate')::date)
            ORDER BY 1 LIMIT 10000
            """, logger: logger)
        for try await (key, kind, value) in rows.decode((String, String, String).self) {
            switch kind {
            case "unknown-nihii":
                findings.append(
                    QualityFinding(
                        rule: CoBRHAQualityRules.practiceUnknownNIHII, entityType: "practice", entityKey: key,
                        file: file, message: "no professional holds NIHII \(value)"))
            case "unknown-institution":
                findings.append(
                    QualityFinding(
                        rule: CoBRHAQualityRules.practiceInstitution, entityType: "practice", entityKey: key,
                        file: file, message: "institution \(value) is not known to the registry"))
            default:
                findings.append(
                    QualityFinding(
                        rule: CoBRHAQualityRules.deceasedActive, entityType: "practice", entityKey: key, file: file,
                        message: "the professional died on \(value) but the practice is valid after that date"))
            }
        }
        return findings
    }

    func apply(_ connection: PostgresConnection, summary: inout ImportSummary) async throws {
        let runId = summary.runId
        try await connection.executeScript(
            """
            INSERT INTO stage_event (entity_type, entity_key, type, key, changed, href)
            SELECT 'practice', c.key, 'practice.' || c.kind,
                   jsonb_build_object('id', c.key, 'nihii', coalesce(s.nihii, p.nihii),
                                      'postcode', coalesce(s.postcode, p.postcode),
                                      'profession', (SELECT n.profession FROM professional_nihii n
                                                     WHERE n.nihii = coalesce(s.nihii, p.nihii))),
                   CASE c.kind WHEN 'updated' THEN ARRAY(
                           SELECT k FROM jsonb_object_keys(s.document || p.document) k
                           WHERE s.document -> k IS DISTINCT FROM p.document -> k ORDER BY k)
                       WHEN 'created' THEN ARRAY(SELECT k FROM jsonb_object_keys(s.document) k ORDER BY k)
                       ELSE '{}'::text[] END,
                   '/v1/practices/' || c.key
            FROM stage_practice_change c
            LEFT JOIN stage_practice s ON s.key = c.key
            LEFT JOIN practice p ON p.key = c.key;
            CREATE TEMP TABLE stage_deleted_names ON COMMIT DROP AS
            SELECT s.family_key AS name_key FROM practice_search s JOIN stage_practice_change c ON c.key = s.practice_key
            WHERE c.kind = 'deleted'
            UNION SELECT s.full_key FROM practice_search s JOIN stage_practice_change c ON c.key = s.practice_key
            WHERE c.kind = 'deleted';
            DELETE FROM practice p USING stage_practice_change c WHERE c.kind = 'deleted' AND p.key = c.key;
            DELETE FROM practice_name n USING stage_deleted_names d
            WHERE n.name_key = d.name_key
              AND NOT EXISTS (SELECT 1 FROM practice_search s WHERE s.family_key = n.name_key)
              AND NOT EXISTS (SELECT 1 FROM practice_search s WHERE s.full_key = n.name_key);
            INSERT INTO practice (key, nihii, document, content_hash, postcode, latitude, longitude, institution_key,
                                  valid_from, valid_to, languages, competences, changed_run_id)
            SELECT s.key, s.nihii, s.document, c.content_hash, s.postcode, s.latitude, s.longitude, s.institution_key,
                   s.valid_from, s.valid_to, s.languages, s.competences, current_setting('registry.run_id')::bigint
            FROM stage_practice s JOIN stage_practice_change c ON c.key = s.key
            ON CONFLICT (key) DO UPDATE SET nihii = EXCLUDED.nihii, document = EXCLUDED.document,
                content_hash = EXCLUDED.content_hash, postcode = EXCLUDED.postcode, latitude = EXCLUDED.latitude,
                longitude = EXCLUDED.longitude, institution_key = EXCLUDED.institution_key,
                valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, languages = EXCLUDED.languages,
                competences = EXCLUDED.competences, changed_run_id = EXCLUDED.changed_run_id, changed_at = now();
            """)
        let events = try await connection.appendStagedEvents(runId: runId, logger: logger)
        summary.eventsEmitted = events.count
        summary.firstEventSeq = events.first
        summary.lastEventSeq = events.last
        try await PracticeSearchIndex.refresh(
            connection, practiceKeysOf: "SELECT key FROM stage_practice_change WHERE kind <> 'deleted'",
            logger: logger)
    }
}
