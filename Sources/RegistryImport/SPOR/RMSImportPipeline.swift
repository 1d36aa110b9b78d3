import Foundation
import Logging
import PostgresNIO
import RegistryStore
import RegistryCore
import SPORReaders

/// Imports RMS list exports (`registry import spor-rms PATH...`): every file read and checked
/// first (a file that is not an export, or two files of one list, refuse the run), then one
/// transaction that diffs each list's terms by content hash, refuses a list losing more than
/// `maxDeleteShare` of its terms, applies, and emits `spor.rms.term.created|updated|deleted`.
/// Lists not in the run are left as they are; the same files twice change nothing.
package struct RMSImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func run(paths: [String], maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        let importer = SPORDocumentImport(
            table: Self.table, client: client, logger: logger, domain: .sporRMS)
        var summary = ImportSummary(runId: 0, outcome: .applied, source: paths.joined(separator: " "))
        var findings: [QualityFinding] = []
        var terms: [RMSTerm] = []
        var lists: [String: String] = [:]  // list id → file
        let fatal = SPORDocumentImport.readFiles(
            paths, extensions: ["csv"], expected: "RMS export (.csv, or a .zip holding one)", summary: &summary,
            findings: &findings
        ) { file in
            let result = try RMSListExport().read(file.bytes, file: file.name)
            var fatal: String?
            if let listId = result.listId {
                if let other = lists[listId] { fatal = "\(file.name) and \(other) are both exports of list \(listId)" }
                lists[listId] = file.name
                terms += result.terms
            }
            return ("rms-list \(result.listId ?? "?")", result.terms.count, result.findings, fatal)
        }
        try await importer.refuse(
            if: fatal, rule: RMSQualityRules.unreadable, summary: summary, findings: findings)
        let rejectedKeys = SPORDocumentImport.rejectedKeys(findings, accepted: terms.map(\.termId))
        let rows = terms.map { term in
            SPORStagedRow(
                key: term.termId, group: term.listId, document: term.document,
                columns: [
                    "status": .string(term.status),
                    "name_en": term.names.first { $0.language == "en" }.map { .string($0.name) } ?? .null,
                ],
                extra: [
                    "names": .array(
                        term.names.map { .object(["language": .string($0.language), "name": .string($0.name)]) }),
                    "codes": .array(
                        term.sourceCodes.map {
                            .object(["source": .string($0.source), "code": .string($0.code), "main": .bool($0.main)])
                        }),
                ])
        }
        return try await importer.apply(
            rows: rows, groups: Array(lists.keys), rejectedKeys: rejectedKeys, summary: summary, findings: findings,
            maxDeleteShare: maxDeleteShare)
    }

    static let table = SPORDocumentTable(
        table: "spor_rms_term", key: "term_id", group: "list_id", columns: ["status", "name_en"],
        entityType: "rms-term", eventPrefix: "spor.rms.term", hrefPrefix: "/v1/spor/rms/terms/",
        eventKey: "jsonb_build_object('listId', c.grp, 'termId', c.key)",
        refreshSideTables: """
            DELETE FROM spor_rms_term_name n USING stage_doc_change c WHERE c.kind = 'updated' AND n.term_id = c.key;
            DELETE FROM spor_rms_source_code x USING stage_doc_change c WHERE c.kind = 'updated' AND x.term_id = c.key;
            INSERT INTO spor_rms_term_name (term_id, language, name, folded)
            SELECT DISTINCT ON (s.key, x ->> 'language') s.key, x ->> 'language', x ->> 'name',
                   lower(public.unaccent('public.unaccent'::regdictionary, x ->> 'name'))
            FROM stage_doc s JOIN stage_doc_change c ON c.key = s.key, jsonb_array_elements(s.extra -> 'names') x;
            INSERT INTO spor_rms_source_code (source_id, code, term_id, main)
            SELECT DISTINCT ON (x ->> 'source', x ->> 'code', s.key) x ->> 'source', x ->> 'code', s.key,
                   (x ->> 'main')::boolean
            FROM stage_doc s JOIN stage_doc_change c ON c.key = s.key, jsonb_array_elements(s.extra -> 'codes') x;
            """)
}
