import Foundation
import Logging
import PostgresNIO
import RegistryStore
import ProviderReaders
import RegistryCore
import XMLStreaming

/// Imports the AFMPS list of pharmacies into `institution`: read and checked in full first, then
/// one transaction that diffs by content hash, refuses a mass deletion, applies, and emits
/// `cobrha.institution.created|updated|deleted` events. The same list twice changes nothing.
package struct PharmacyImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func run(path: String, maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        try await ImportRunDriver(client: client, logger: logger).run(.pharmacies, source: path) { run in
            let records: [InstitutionRecord]
            do {
                // Held whole (a JSON list), so read within REGISTRY_MAX_DOCUMENT_MB.
                let data = Data(try WholeInput.read(path: path, lines: false))
                run.summary.files = [
                    .init(
                        name: URL(fileURLWithPath: path).lastPathComponent, kind: "afmps-pharmacies",
                        bytes: UInt64(data.count), sha256: "", entities: 0)
                ]
                (records, run.findings) = try AFMPSPharmacyList().read(
                    data, file: URL(fileURLWithPath: path).lastPathComponent)
            } catch {
                run.findings = [
                    QualityFinding(rule: InstitutionQualityRules.unreadable, file: path, message: "\(error)")
                ]
                throw run.refusal("the input cannot be read: \(error)")
            }
            run.summary.files[0].entities = records.count
            let rejectedKeys = Set(run.findings.filter { $0.severity >= .error }.compactMap(\.entityKey))
            var counts = ImportSummary.TypeCounts()
            counts.read = records.count + rejectedKeys.count
            counts.accepted = records.count
            counts.rejected = counts.read - counts.accepted
            let rows = JSONValue.array(
                records.map { record in
                    .object([
                        "key": .string(record.key), "kind": .string(record.kind), "document": record.document,
                        "postcode": record.postcode.map(JSONValue.string) ?? .null,
                        "latitude": record.latitude.map { .number(String($0)) } ?? .null,
                        "longitude": record.longitude.map { .number(String($0)) } ?? .null,
                        "identifiers": .array(
                            record.identifiers.map {
                                .object(["scheme": .string($0.scheme), "value": .string($0.value)])
                            }),
                    ])
                }
            ).canonicalText
            try await run.transaction {
                let change = try await stageAndDiff(run.connection, rows: rows, rejectedKeys: Array(rejectedKeys))
                counts.created = change.created
                counts.updated = change.updated
                counts.deleted = change.deleted
                run.summary.counts = ["institution": counts]
                if change.current > 0, Double(change.deleted) / Double(change.current) > maxDeleteShare {
                    throw run.refusal(
                        "the list would delete \(change.deleted) of \(change.current) pharmacies, more than \(Int(maxDeleteShare * 100))%"
                    )
                }
                try await apply(run.connection, runId: run.runId, summary: &run.summary)
            }
        }
    }

    struct Diff {
        var created = 0
        var updated = 0
        var deleted = 0
        var current = 0
    }

    func stageAndDiff(_ connection: PostgresConnection, rows: String, rejectedKeys: [String]) async throws -> Diff {
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_institution ON COMMIT DROP AS
            SELECT r.key, r.kind, r.document, encode(sha256(convert_to(r.document::text, 'UTF8')), 'hex') AS content_hash,
                   r.postcode, r.latitude, r.longitude, r.identifiers
            FROM jsonb_to_recordset(\(rows)::jsonb) AS r(key text, kind text, document jsonb, postcode text,
                                                          latitude double precision, longitude double precision,
                                                          identifiers jsonb)
            """, logger: logger)
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_institution_change ON COMMIT DROP AS
            SELECT s.key, CASE WHEN c.key IS NULL THEN 'created' ELSE 'updated' END AS kind
            FROM stage_institution s LEFT JOIN institution c ON c.key = s.key
            WHERE c.key IS NULL OR c.content_hash <> s.content_hash
            UNION ALL
            SELECT c.key, 'deleted' FROM institution c
            WHERE c.source = 'afmps' AND NOT EXISTS (SELECT 1 FROM stage_institution s WHERE s.key = c.key)
              AND c.key <> ALL (\(rejectedKeys)::text[])
            """, logger: logger)
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE kind = 'created'), count(*) FILTER (WHERE kind = 'updated'),
                   count(*) FILTER (WHERE kind = 'deleted'), (SELECT count(*) FROM institution WHERE source = 'afmps')
            FROM stage_institution_change
            """, logger: logger)
        var diff = Diff()
        for try await (created, updated, deleted, current) in rows.decode((Int64, Int64, Int64, Int64).self) {
            diff = Diff(created: Int(created), updated: Int(updated), deleted: Int(deleted), current: Int(current))
        }
        return diff
    }

    func apply(_ connection: PostgresConnection, runId: Int64, summary: inout ImportSummary) async throws {
        // Events first (they need the old documents for `changed`), numbered gap-free.
        let numbered = try await connection.query(
            """
            WITH changes AS (
                SELECT ch.key, ch.kind,
                       CASE ch.kind WHEN 'updated' THEN ARRAY(
                           SELECT k FROM jsonb_object_keys(s.document || c.document) k
                           WHERE s.document -> k IS DISTINCT FROM c.document -> k ORDER BY k)
                       WHEN 'created' THEN ARRAY(SELECT k FROM jsonb_object_keys(s.document) k ORDER BY k)
                       ELSE '{}'::text[] END AS changed,
                       row_number() OVER (ORDER BY ch.key) AS n
                FROM stage_institution_change ch
                LEFT JOIN stage_institution s ON s.key = ch.key
                LEFT JOIN institution c ON c.key = ch.key),
            counter AS (UPDATE change_event_counter SET last_seq = last_seq + (SELECT count(*) FROM changes)
                        WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM changes) AS base),
            inserted AS (
                INSERT INTO change_event (seq, id, type, run_id, entity_type, entity_key, key, changed, href)
                SELECT counter.base + c.n, 'evt_' || lpad((counter.base + c.n)::text, 12, '0'),
                       'cobrha.institution.' || c.kind, \(runId), 'institution', c.key,
                       jsonb_build_object(split_part(c.key, ':', 1), split_part(c.key, ':', 2)), c.changed,
                       '/v1/institutions/' || c.key
                FROM changes c, counter
                RETURNING seq)
            SELECT count(*), min(seq), max(seq) FROM inserted
            """, logger: logger)
        for try await (count, first, last) in numbered.decode((Int64, Int64?, Int64?).self) {
            summary.eventsEmitted = Int(count)
            summary.firstEventSeq = first
            summary.lastEventSeq = last
        }
        try await connection.execute(
            """
            DELETE FROM institution c USING stage_institution_change ch WHERE ch.kind = 'deleted' AND c.key = ch.key
            """, logger: logger)
        try await connection.execute(
            """
            INSERT INTO institution (key, kind, source, document, content_hash, postcode, latitude, longitude,
                                     changed_run_id)
            SELECT s.key, s.kind, 'afmps', s.document, s.content_hash, s.postcode, s.latitude, s.longitude, \(runId)
            FROM stage_institution s JOIN stage_institution_change ch ON ch.key = s.key
            ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, document = EXCLUDED.document,
                content_hash = EXCLUDED.content_hash, postcode = EXCLUDED.postcode, latitude = EXCLUDED.latitude,
                longitude = EXCLUDED.longitude, changed_run_id = EXCLUDED.changed_run_id, changed_at = now()
            """, logger: logger)
        try await connection.execute(
            """
            DELETE FROM institution_identifier i USING stage_institution_change ch
            WHERE ch.kind = 'updated' AND i.institution_key = ch.key
            """, logger: logger)
        try await connection.execute(
            """
            INSERT INTO institution_identifier (scheme, value, institution_key)
            SELECT DISTINCT x ->> 'scheme', x ->> 'value', s.key
            FROM stage_institution s JOIN stage_institution_change ch ON ch.key = s.key,
                 jsonb_array_elements(s.identifiers) x
            """, logger: logger)
    }
}
