import Crypto
import Foundation
import Logging
import PostgresNIO
import RegistryStore
import RegistryCore
import SPORReaders

/// One SPOR entity table and what its imports emit. Every name here is a constant of the code,
/// never input: they are spliced into SQL.
struct SPORDocumentTable: Sendable {
    /// e.g. `spor_rms_term`.
    let table: String
    /// Its primary key column, e.g. `term_id`.
    let key: String
    /// The column that scopes deletions and the gate (an RMS list); nil: the whole table is one set.
    let group: String?
    /// Further text columns, filled from the staged row's `columns` object.
    let columns: [String]
    /// The name of its rows in the run's counts and the gate's wording, e.g. `rms-term`.
    let entityType: String
    /// Event types are `<eventPrefix>.created|updated|deleted`.
    let eventPrefix: String
    /// The event's `href` is this followed by the key.
    let hrefPrefix: String
    /// SQL for the event's `key` object from `c.key` and `c.grp`.
    let eventKey: String
    /// SQL run after the rows are written, refreshing side tables of the changed keys from
    /// `stage_doc s` / `stage_doc_change c` (kind `created`/`updated`; deleted rows cascade).
    let refreshSideTables: String
    /// For a table holding several kinds (its groups), SQL over `c.grp` for the event type prefix,
    /// the event's entity type and its href prefix, replacing eventPrefix, entityType and hrefPrefix.
    var perGroup: (eventPrefix: String, entityType: String, hrefPrefix: String)? = nil
}

/// A row to stage: its key, its group, the canonical document (what is hashed and compared),
/// the table's extra columns and anything the side tables need.
struct SPORStagedRow {
    var key: String
    var group: String
    var document: JSONValue
    var columns: [String: JSONValue] = [:]
    var extra: [String: JSONValue] = [:]
}

/// The shared second half of every SPOR import: one transaction that stages the rows, diffs
/// them with the table by content hash, refuses a group losing more than `maxDeleteShare` of its
/// rows, applies, emits one change event per changed row (gap-free numbering) and records the run.
struct SPORDocumentImport {
    let table: SPORDocumentTable
    let client: PostgresClient
    let logger: Logger
    let domain: ImportDomain

    struct GroupDiff {
        var created = 0
        var updated = 0
        var deleted = 0
        var current = 0
    }

    /// Applies `rows` as the complete current content of `groups` (rows of other groups stay).
    /// Keys in `rejectedKeys` (refused by a rule) are kept as stored rather than deleted.
    func apply(
        rows: [SPORStagedRow], groups: [String], rejectedKeys: [String], summary read: ImportSummary,
        findings: [QualityFinding], maxDeleteShare: Double
    ) async throws -> ImportSummary {
        var counts = ImportSummary.TypeCounts()
        counts.accepted = rows.count
        counts.rejected = rejectedKeys.count
        counts.read = counts.accepted + counts.rejected
        let staged = JSONValue.array(
            rows.map {
                .object([
                    "key": .string($0.key), "grp": .string($0.group), "document": $0.document,
                    "cols": .object($0.columns), "extra": .object($0.extra),
                ])
            }
        ).canonicalText
        return try await ImportRunDriver(client: client, logger: logger).run(domain, source: read.source) { run in
            run.summary.files = read.files
            run.findings = findings
            try await run.transaction {
                let diffs = try await stageAndDiff(
                    run.connection, rows: staged, groups: groups, rejectedKeys: rejectedKeys)
                for diff in diffs.values {
                    counts.created += diff.created
                    counts.updated += diff.updated
                    counts.deleted += diff.deleted
                }
                run.summary.counts = [table.entityType: counts]
                if let (group, diff) = diffs.sorted(by: { $0.key < $1.key }).first(where: {
                    $0.value.current > 0 && Double($0.value.deleted) / Double($0.value.current) > maxDeleteShare
                }) {
                    let scope = table.group == nil ? "the import" : "\(group)"
                    throw run.refusal(
                        "\(scope) would delete \(diff.deleted) of the \(diff.current) current \(table.entityType) rows, more than \(Int(maxDeleteShare * 100))%"
                    )
                }
                try await write(run.connection, runId: run.runId, summary: &run.summary)
            }
        }
    }

    private var groupColumn: String { table.group ?? "''" }

    func stageAndDiff(_ connection: PostgresConnection, rows: String, groups: [String], rejectedKeys: [String])
        async throws -> [String: GroupDiff]
    {
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_doc ON COMMIT DROP AS
            SELECT r.key, r.grp, r.document, r.cols, r.extra,
                   encode(sha256(convert_to(r.document::text, 'UTF8')), 'hex') AS content_hash
            FROM jsonb_to_recordset(\(rows)::jsonb) AS r(key text, grp text, document jsonb, cols jsonb, extra jsonb)
            """, logger: logger)
        let (t, k, g) = (table.table, table.key, groupColumn)
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_doc_change ON COMMIT DROP AS
            SELECT s.key, s.grp, CASE WHEN t.\(unescaped: k) IS NULL THEN 'created' ELSE 'updated' END AS kind
            FROM stage_doc s LEFT JOIN \(unescaped: t) t ON t.\(unescaped: k) = s.key
            WHERE t.\(unescaped: k) IS NULL OR t.content_hash <> s.content_hash
            UNION ALL
            SELECT t.\(unescaped: k), \(unescaped: g), 'deleted' FROM \(unescaped: t) t
            WHERE \(unescaped: g) = ANY (\(groups)::text[]) AND t.\(unescaped: k) <> ALL (\(rejectedKeys)::text[])
              AND NOT EXISTS (SELECT 1 FROM stage_doc s WHERE s.key = t.\(unescaped: k))
            """, logger: logger)
        let diffRows = try await connection.query(
            """
            SELECT l.grp,
                   (SELECT count(*) FROM stage_doc_change c WHERE c.grp = l.grp AND c.kind = 'created'),
                   (SELECT count(*) FROM stage_doc_change c WHERE c.grp = l.grp AND c.kind = 'updated'),
                   (SELECT count(*) FROM stage_doc_change c WHERE c.grp = l.grp AND c.kind = 'deleted'),
                   (SELECT count(*) FROM \(unescaped: t) t WHERE \(unescaped: g) = l.grp)
            FROM unnest(\(groups)::text[]) AS l(grp)
            """, logger: logger)
        var diffs: [String: GroupDiff] = [:]
        for try await (group, created, updated, deleted, current) in diffRows.decode(
            (String, Int64, Int64, Int64, Int64).self)
        {
            diffs[group] = GroupDiff(
                created: Int(created), updated: Int(updated), deleted: Int(deleted), current: Int(current))
        }
        return diffs
    }

    func write(_ connection: PostgresConnection, runId: Int64, summary: inout ImportSummary) async throws {
        let (t, k) = (table.table, table.key)
        // Per-group tables compute these in SQL from `c.grp`; the others bind them as values.
        let eventPrefix = table.perGroup?.eventPrefix ?? "p.event_prefix"
        let entityType = table.perGroup?.entityType ?? "p.entity_type"
        let hrefPrefix = table.perGroup?.hrefPrefix ?? "p.href_prefix"
        // Events first (`changed` compares with the stored documents), numbered gap-free.
        let numbered = try await connection.query(
            """
            WITH changes AS (
                SELECT c.key, c.grp, c.kind,
                       CASE c.kind WHEN 'updated' THEN ARRAY(
                           SELECT f FROM jsonb_object_keys(s.document || t.document) f
                           WHERE s.document -> f IS DISTINCT FROM t.document -> f ORDER BY f)
                       WHEN 'created' THEN ARRAY(SELECT f FROM jsonb_object_keys(s.document) f ORDER BY f)
                       ELSE '{}'::text[] END AS changed,
                       row_number() OVER (ORDER BY c.grp, c.key) AS n
                FROM stage_doc_change c
                LEFT JOIN stage_doc s ON s.key = c.key
                LEFT JOIN \(unescaped: t) t ON t.\(unescaped: k) = c.key),
            counter AS (UPDATE change_event_counter SET last_seq = last_seq + (SELECT count(*) FROM changes)
                        WHERE id = 1 RETURNING last_seq - (SELECT count(*) FROM changes) AS base),
            p AS (SELECT \(table.eventPrefix)::text AS event_prefix, \(table.entityType)::text AS entity_type,
                         \(table.hrefPrefix)::text AS href_prefix),
            inserted AS (
                INSERT INTO change_event (seq, id, type, run_id, entity_type, entity_key, key, changed, href)
                SELECT counter.base + c.n, 'evt_' || lpad((counter.base + c.n)::text, 12, '0'),
                       \(unescaped: eventPrefix) || '.' || c.kind, \(runId), \(unescaped: entityType), c.key,
                       \(unescaped: table.eventKey), c.changed, \(unescaped: hrefPrefix) || c.key
                FROM changes c, counter, p
                RETURNING seq)
            SELECT count(*), min(seq), max(seq) FROM inserted
            """, logger: logger)
        for try await (count, first, last) in numbered.decode((Int64, Int64?, Int64?).self) {
            summary.eventsEmitted = Int(count)
            summary.firstEventSeq = first
            summary.lastEventSeq = last
        }
        // Identifiers only, from the table's constants; the run id is bound.
        let groupColumns = table.group.map { [$0] } ?? []
        let columns = groupColumns + table.columns
        let insertColumns = ([k] + columns + ["document", "content_hash", "changed_run_id"]).joined(separator: ", ")
        let values =
            (["s.key"] + groupColumns.map { _ in "s.grp" } + table.columns.map { "s.cols ->> '\($0)'" }
            + ["s.document", "s.content_hash"]).joined(separator: ", ")
        let updates = (columns + ["document", "content_hash", "changed_run_id"]).map { "\($0) = EXCLUDED.\($0)" }
            .joined(separator: ", ")
        try await connection.execute(
            "DELETE FROM \(unescaped: t) t USING stage_doc_change c WHERE c.kind = 'deleted' AND t.\(unescaped: k) = c.key",
            logger: logger)
        try await connection.execute(
            """
            INSERT INTO \(unescaped: t) (\(unescaped: insertColumns))
            SELECT \(unescaped: values), \(runId)
            FROM stage_doc s JOIN stage_doc_change c ON c.key = s.key
            ON CONFLICT (\(unescaped: k)) DO UPDATE SET \(unescaped: updates), changed_at = now()
            """, logger: logger)
        try await connection.executeUnsafeScript(table.refreshSideTables, logger: logger)
    }
}

extension SPORDocumentImport {
    /// The read half every SPOR pipeline shares: each file of `paths` handed to `read` and
    /// recorded in the summary with its findings. Returns why the run must be refused: no file,
    /// a file `read` cannot take (it throws), or a reason `read` returns.
    static func readFiles(
        _ paths: [String], extensions: Set<String>, expected: String, summary: inout ImportSummary,
        findings: inout [QualityFinding],
        read: (SPORInput.File) throws -> (kind: String, entities: Int, findings: [QualityFinding], fatal: String?)
    ) -> String? {
        var fatal: String?
        do {
            let files = try SPORInput.files(paths, extensions: extensions)
            if files.isEmpty { fatal = "no \(expected) in \(paths.joined(separator: ", "))" }
            for file in files {
                let result = try read(file)
                findings += result.findings
                summary.record(file, kind: result.kind, entities: result.entities)
                fatal = fatal ?? result.fatal
            }
        } catch {
            fatal = "\(error)"
        }
        return fatal
    }

    /// Refuses the run (recorded with its findings, exit code 3) when reading found a reason to.
    func refuse(if fatal: String?, rule: QualityRule, summary read: ImportSummary, findings: [QualityFinding])
        async throws
    {
        guard let fatal else { return }
        _ = try await ImportRunDriver(client: client, logger: logger).run(domain, source: read.source) { run in
            run.summary.files = read.files
            run.findings = findings + [QualityFinding(rule: rule, message: fatal)]
            throw run.refusal(fatal)
        }
    }

    /// Keys refused by an error finding that are not among the accepted ones: kept as stored.
    static func rejectedKeys(_ findings: [QualityFinding], accepted: some Sequence<String>) -> [String] {
        Array(Set(findings.filter { $0.severity >= .error }.compactMap(\.entityKey)).subtracting(accepted))
    }
}

extension ImportSummary {
    /// Records one input file of a SPOR import (name, size, SHA-256, entities read).
    mutating func record(_ file: SPORInput.File, kind: String, entities: Int) {
        files.append(
            .init(
                name: file.name, kind: kind, bytes: UInt64(file.bytes.count),
                sha256: hexString(SHA256.hash(data: file.bytes)), entities: entities))
    }
}
