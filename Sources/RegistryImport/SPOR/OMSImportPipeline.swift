import Foundation
import Logging
import PostgresNIO
import RegistryStore
import RegistryCore
import SPORReaders

/// Imports OMS organisations and locations (`registry import spor-oms PATH...`, JSON as the SPOR
/// API returns it, zipped or not): the files read and checked first, then the shared SPOR
/// transaction with one deletion gate per kind, `spor.oms.organisation|location.*` events, and
/// the merged ids of each record kept as aliases.
package struct OMSImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func run(paths: [String], maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        let importer = SPORDocumentImport(
            table: Self.table, client: client, logger: logger, domain: .sporOMS)
        var summary = ImportSummary(runId: 0, outcome: .applied, source: paths.joined(separator: " "))
        var findings: [QualityFinding] = []
        var records: [OMSRecord] = []
        var seen: Set<String> = []
        let fatal = SPORDocumentImport.readFiles(
            paths, extensions: ["json"], expected: "OMS file (.json, or a .zip holding some)", summary: &summary,
            findings: &findings
        ) { file in
            let result = try OMSExport().read(file.bytes, file: file.name)
            for record in result.records where seen.insert(record.id).inserted { records.append(record) }
            return ("oms", result.records.count, result.findings, nil)
        }
        try await importer.refuse(
            if: fatal, rule: OMSQualityRules.unreadable, summary: summary, findings: findings)
        let rejectedKeys = SPORDocumentImport.rejectedKeys(findings, accepted: seen)
        let rows = records.map { record in
            SPORStagedRow(
                key: record.id, group: record.kind.rawValue, document: record.document,
                columns: [
                    "org_id": record.organisationId.map(JSONValue.string) ?? .null,
                    "status": record.status.map(JSONValue.string) ?? .null,
                    "name": record.name.map(JSONValue.string) ?? .null,
                ],
                extra: ["aliases": .array(record.aliasIds.map(JSONValue.string))])
        }
        // Both kinds are gated, even when a file holds only one of them.
        let groups = Array(Set(records.map(\.kind.rawValue)))
        return try await importer.apply(
            rows: rows, groups: groups, rejectedKeys: rejectedKeys, summary: summary, findings: findings,
            maxDeleteShare: maxDeleteShare)
    }

    static let table = SPORDocumentTable(
        table: "spor_oms_record", key: "id", group: "kind", columns: ["org_id", "status", "name"],
        entityType: "oms-record", eventPrefix: "spor.oms", hrefPrefix: "/v1/spor/oms/",
        eventKey: "jsonb_build_object('id', c.key, 'kind', c.grp)",
        refreshSideTables: """
            UPDATE spor_oms_record r SET folded = registry_name_exact(r.name)
            FROM stage_doc_change c WHERE c.key = r.id AND c.kind IN ('created', 'updated');
            DELETE FROM spor_oms_alias a USING stage_doc_change c WHERE c.kind = 'updated' AND a.record_id = c.key;
            INSERT INTO spor_oms_alias (alias_id, record_id)
            SELECT DISTINCT x, s.key FROM stage_doc s JOIN stage_doc_change c ON c.key = s.key,
                 jsonb_array_elements_text(s.extra -> 'aliases') x;
            """,
        perGroup: (
            eventPrefix: "'spor.oms.' || c.grp", entityType: "'oms-' || c.grp",
            hrefPrefix: "'/v1/spor/oms/' || c.grp || 's/'"
        ))
}
