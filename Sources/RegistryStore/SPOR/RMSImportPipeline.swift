import Crypto
import Foundation
import Logging
import PostgresNIO
import RegistryCore
import SPORImporter

/// Imports RMS list exports (`registry import spor-rms PATH...`): every file read and checked
/// first (a file that is not an export, or two files of one list, refuse the run), then one
/// transaction that diffs each list's terms by content hash, refuses a list losing more than
/// `maxDeleteShare` of its terms, applies, and emits `spor.rms.term.created|updated|deleted`.
/// Lists not in the run are left as they are; the same files twice change nothing.
public struct RMSImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger
    static let advisoryLockKey: Int64 = 7_020_310
    static let domain = "spor-rms"

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func run(paths: [String], maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        let started = ContinuousClock.now
        var summary = ImportSummary(runId: 0, outcome: .applied, source: paths.joined(separator: " "))
        summary.label = "SPOR RMS"
        var findings: [QualityFinding] = []
        var terms: [RMSTerm] = []
        var lists: [String: String] = [:]  // list id → file
        var fatal: String?
        do {
            let files = try SPORInput.files(paths, extensions: ["csv"])
            if files.isEmpty {
                fatal = "no RMS export (.csv, or a .zip holding one) in \(paths.joined(separator: ", "))"
            }
            for file in files {
                let result = try RMSListExport().read(file.bytes, file: file.name)
                findings += result.findings
                summary.files.append(
                    .init(
                        name: file.name, kind: "rms-list \(result.listId ?? "?")", bytes: UInt64(file.bytes.count),
                        sha256: hexString(SHA256.hash(data: file.bytes)), entities: result.terms.count))
                guard let listId = result.listId else { continue }
                if let other = lists[listId] {
                    fatal = "\(file.name) and \(other) are both exports of list \(listId)"
                }
                lists[listId] = file.name
                terms += result.terms
            }
        } catch {
            fatal = "\(error)"
        }
        if let fatal {
            findings.append(QualityFinding(rule: RMSQualityRules.unreadable, message: fatal))
            try await client.refuse(
                &summary, because: fatal, findings: findings, domain: Self.domain, startedAt: started, logger: logger)
        }
        let rejectedKeys = Array(
            Set(findings.filter { $0.severity >= .error }.compactMap(\.entityKey)).subtracting(terms.map(\.termId)))
        var counts = ImportSummary.TypeCounts()
        counts.accepted = terms.count
        counts.rejected = rejectedKeys.count
        counts.read = counts.accepted + counts.rejected
        let rows = JSONValue.array(
            terms.map { term in
                .object([
                    "term_id": .string(term.termId), "list_id": .string(term.listId), "status": .string(term.status),
                    "name_en": term.names.first { $0.language == "en" }.map { .string($0.name) } ?? .null,
                    "document": term.document,
                    "names": .array(
                        term.names.map { .object(["language": .string($0.language), "name": .string($0.name)]) }),
                    "codes": .array(
                        term.sourceCodes.map {
                            .object(["source": .string($0.source), "code": .string($0.code), "main": .bool($0.main)])
                        }),
                ])
            }
        ).canonicalText

        return try await client.withConnection { connection in
            summary.runId = try await connection.beginImportRun(
                domain: Self.domain, source: summary.source, lockKey: Self.advisoryLockKey, label: "SPOR RMS",
                logger: logger)
            do {
                let perList = try await stageAndDiff(
                    connection, rows: rows, lists: Array(lists.keys), rejectedKeys: rejectedKeys)
                for diff in perList.values {
                    counts.created += diff.created
                    counts.updated += diff.updated
                    counts.deleted += diff.deleted
                }
                summary.counts = ["rms-term": counts]
                if let (list, diff) = perList.first(where: {
                    $0.value.current > 0 && Double($0.value.deleted) / Double($0.value.current) > maxDeleteShare
                }) {
                    try await connection.execute("ROLLBACK", logger: logger)
                    try await client.refuse(
                        &summary,
                        because:
                            "list \(list) would lose \(diff.deleted) of its \(diff.current) terms, more than \(Int(maxDeleteShare * 100))%",
                        findings: findings, domain: Self.domain, startedAt: started, logger: logger)
                }
                try await apply(connection, runId: summary.runId, summary: &summary)
                summary.durationSeconds = (ContinuousClock.now - started).seconds
                summary.count(findings)
                try await connection.commitImportRun(summary, findings: findings, domain: "spor-rms", logger: logger)
                return summary
            } catch let error as ImportError {
                throw error
            } catch {
                try? await connection.execute("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    struct ListDiff {
        var created = 0
        var updated = 0
        var deleted = 0
        var current = 0
    }

    func stageAndDiff(_ connection: PostgresConnection, rows: String, lists: [String], rejectedKeys: [String])
        async throws -> [String: ListDiff]
    {
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_rms ON COMMIT DROP AS
            SELECT r.term_id, r.list_id, r.status, r.name_en, r.document, r.names, r.codes,
                   encode(sha256(convert_to(r.document::text, 'UTF8')), 'hex') AS content_hash
            FROM jsonb_to_recordset(\(rows)::jsonb) AS r(term_id text, list_id text, status text, name_en text,
                                                          document jsonb, names jsonb, codes jsonb)
            """, logger: logger)
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_rms_change ON COMMIT DROP AS
            SELECT s.term_id, s.list_id, CASE WHEN t.term_id IS NULL THEN 'created' ELSE 'updated' END AS kind
            FROM stage_rms s LEFT JOIN spor_rms_term t ON t.term_id = s.term_id
            WHERE t.term_id IS NULL OR t.content_hash <> s.content_hash
            UNION ALL
            SELECT t.term_id, t.list_id, 'deleted' FROM spor_rms_term t
            WHERE t.list_id = ANY (\(lists)::text[]) AND t.term_id <> ALL (\(rejectedKeys)::text[])
              AND NOT EXISTS (SELECT 1 FROM stage_rms s WHERE s.term_id = t.term_id)
            """, logger: logger)
        let rows = try await connection.query(
            """
            SELECT l.list_id,
                   (SELECT count(*) FROM stage_rms_change c WHERE c.list_id = l.list_id AND c.kind = 'created'),
                   (SELECT count(*) FROM stage_rms_change c WHERE c.list_id = l.list_id AND c.kind = 'updated'),
                   (SELECT count(*) FROM stage_rms_change c WHERE c.list_id = l.list_id AND c.kind = 'deleted'),
                   (SELECT count(*) FROM spor_rms_term t WHERE t.list_id = l.list_id)
            FROM unnest(\(lists)::text[]) AS l(list_id)
            """, logger: logger)
        var diffs: [String: ListDiff] = [:]
        for try await (list, created, updated, deleted, current) in rows.decode(
            (String, Int64, Int64, Int64, Int64).self)
        {
            diffs[list] = ListDiff(
                created: Int(created), updated: Int(updated), deleted: Int(deleted), current: Int(current))
        }
        return diffs
    }

    func apply(_ connection: PostgresConnection, runId: Int64, summary: inout ImportSummary) async throws {
        // Events first (`changed` compares with the stored documents), numbered gap-free.
        let numbered = try await connection.query(
            """
            WITH changes AS (
                SELECT c.term_id, c.list_id, c.kind,
                       CASE c.kind WHEN 'updated' THEN ARRAY(
                           SELECT k FROM jsonb_object_keys(s.document || t.document) k
                           WHERE s.document -> k IS DISTINCT FROM t.document -> k ORDER BY k)
                       WHEN 'created' THEN ARRAY(SELECT k FROM jsonb_object_keys(s.document) k ORDER BY k)
                       ELSE '{}'::text[] END AS changed,
                       row_number() OVER (ORDER BY c.list_id, c.term_id) AS n
                FROM stage_rms_change c
                LEFT JOIN stage_rms s ON s.term_id = c.term_id
                LEFT JOIN spor_rms_term t ON t.term_id = c.term_id),
            counter AS (UPDATE change_event_counter SET last_seq = last_seq + (SELECT count(*) FROM changes)
                        WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM changes) AS base),
            inserted AS (
                INSERT INTO change_event (seq, id, type, run_id, entity_type, entity_key, key, changed, href)
                SELECT counter.base + c.n, 'evt_' || lpad((counter.base + c.n)::text, 12, '0'),
                       'spor.rms.term.' || c.kind, \(runId), 'rms-term', c.term_id,
                       jsonb_build_object('listId', c.list_id, 'termId', c.term_id), c.changed,
                       '/v1/spor/rms/terms/' || c.term_id
                FROM changes c, counter
                RETURNING seq)
            SELECT count(*), min(seq), max(seq) FROM inserted
            """, logger: logger)
        for try await (count, first, last) in numbered.decode((Int64, Int64?, Int64?).self) {
            summary.eventsEmitted = Int(count)
            summary.firstEventSeq = first
            summary.lastEventSeq = last
        }
        try await connection.executeScript(
            """
            DELETE FROM spor_rms_term t USING stage_rms_change c WHERE c.kind = 'deleted' AND t.term_id = c.term_id;
            INSERT INTO spor_rms_term (term_id, list_id, status, name_en, document, content_hash, changed_run_id)
            SELECT s.term_id, s.list_id, s.status, s.name_en, s.document, s.content_hash, \(runId)
            FROM stage_rms s JOIN stage_rms_change c ON c.term_id = s.term_id
            ON CONFLICT (term_id) DO UPDATE SET list_id = EXCLUDED.list_id, status = EXCLUDED.status,
                name_en = EXCLUDED.name_en, document = EXCLUDED.document, content_hash = EXCLUDED.content_hash,
                changed_run_id = EXCLUDED.changed_run_id, changed_at = now();
            DELETE FROM spor_rms_term_name n USING stage_rms_change c WHERE c.kind = 'updated' AND n.term_id = c.term_id;
            DELETE FROM spor_rms_source_code x USING stage_rms_change c WHERE c.kind = 'updated' AND x.term_id = c.term_id;
            INSERT INTO spor_rms_term_name (term_id, language, name, folded)
            SELECT DISTINCT ON (s.term_id, x ->> 'language') s.term_id, x ->> 'language', x ->> 'name',
                   lower(public.unaccent('public.unaccent'::regdictionary, x ->> 'name'))
            FROM stage_rms s JOIN stage_rms_change c ON c.term_id = s.term_id, jsonb_array_elements(s.names) x;
            INSERT INTO spor_rms_source_code (source_id, code, term_id, main)
            SELECT DISTINCT ON (x ->> 'source', x ->> 'code', s.term_id) x ->> 'source', x ->> 'code', s.term_id,
                   (x ->> 'main')::boolean
            FROM stage_rms s JOIN stage_rms_change c ON c.term_id = s.term_id, jsonb_array_elements(s.codes) x;
            """, logger: logger)
    }
}
