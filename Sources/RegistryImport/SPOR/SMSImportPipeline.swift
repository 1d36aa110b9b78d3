import Foundation
import Logging
import PostgresNIO
import RegistryStore
import RegistryCore
import SPORReaders

/// Imports SMS substance lists (`registry import spor-sms PATH...`): the files read and checked
/// first (a file that is not a substance list refuses the run), then the shared SPOR transaction:
/// diff by content hash against every stored substance, the deletion gate over the whole list,
/// `spor.sms.substance.created|updated|deleted` events. The same file twice changes nothing.
package struct SMSImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func run(paths: [String], maxDeleteShare: Double = 0.05) async throws -> ImportSummary {
        let importer = SPORDocumentImport(
            table: Self.table, client: client, logger: logger, domain: .sporSMS)
        var summary = ImportSummary(runId: 0, outcome: .applied, source: paths.joined(separator: " "))
        var findings: [QualityFinding] = []
        var substances: [SMSSubstance] = []
        var seen: [String: String] = [:]  // substance id → file
        let fatal = SPORDocumentImport.readFiles(
            paths, extensions: ["csv"], expected: "SMS substance list (.csv, or a .zip holding one)",
            summary: &summary, findings: &findings
        ) { file in
            let result = try SMSSubstanceList().read(file.bytes, file: file.name)
            var duplicates: [QualityFinding] = []
            for substance in result.substances {
                if let other = seen[substance.substanceId] {
                    duplicates.append(
                        QualityFinding(
                            rule: SMSQualityRules.duplicate, entityType: "sms-substance",
                            entityKey: substance.substanceId, file: file.name,
                            message: "substance \(substance.substanceId) is also in \(other); the first is kept"))
                    continue
                }
                seen[substance.substanceId] = file.name
                substances.append(substance)
            }
            return ("sms-substances", result.substances.count, result.findings + duplicates, nil)
        }
        try await importer.refuse(
            if: fatal, rule: SMSQualityRules.unreadable, summary: summary, findings: findings)
        let rejectedKeys = SPORDocumentImport.rejectedKeys(findings, accepted: seen.keys)
        let rows = substances.map { substance in
            SPORStagedRow(
                key: substance.substanceId, group: "", document: substance.document,
                columns: ["name": .string(substance.name)],
                extra: [
                    "names": .array(
                        [.object(["name": .string(substance.name), "preferred": .bool(true)])]
                            + substance.synonyms.map { .object(["name": .string($0), "preferred": .bool(false)]) })
                ])
        }
        return try await importer.apply(
            rows: rows, groups: [""], rejectedKeys: rejectedKeys, summary: summary, findings: findings,
            maxDeleteShare: maxDeleteShare)
    }

    static let table = SPORDocumentTable(
        table: "spor_sms_substance", key: "substance_id", group: nil, columns: ["name"],
        entityType: "sms-substance", eventPrefix: "spor.sms.substance", hrefPrefix: "/v1/spor/sms/substances/",
        eventKey: "jsonb_build_object('substanceId', c.key)",
        refreshSideTables: """
            DELETE FROM spor_sms_substance_name n USING stage_doc_change c
            WHERE c.kind = 'updated' AND n.substance_id = c.key;
            INSERT INTO spor_sms_substance_name (substance_id, name, folded, preferred)
            SELECT DISTINCT ON (s.key, x ->> 'name') s.key, x ->> 'name',
                   lower(public.unaccent('public.unaccent'::regdictionary, x ->> 'name')), (x ->> 'preferred')::boolean
            FROM stage_doc s JOIN stage_doc_change c ON c.key = s.key, jsonb_array_elements(s.extra -> 'names') x;
            """)
}
