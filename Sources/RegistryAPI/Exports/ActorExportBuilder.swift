import Foundation
import Logging
import RegistryCore
import RegistryExport
import RegistryStore

/// Builds the NDJSON files of the healthcare actors, one per kind, in one REPEATABLE READ snapshot:
/// `actors-{version}-professionals.ndjson.gz` (the public `/v1/providers/{id}` shape: never the
/// SSIN, birth or death date), `-institutions` and `-practices` (the `/v1/practices/{id}` shape
/// without the professional, who is in the first file). `version` is the newest applied run of
/// the actor domains.
struct ActorExportBuilder: Sendable {
    let queries: ExportQueries
    let directory: String
    let logger: Logger

    static let domains = ["cobrha", "practices", "afmps"]

    static func name(version: Int64, kind: ActorTable) -> String { "actors-\(version)-\(kind.rawValue).ndjson.gz" }

    func build() async throws -> [ExportArtifact] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let token = UUID().uuidString.prefix(8)
        var written: [SAMExportBuilder.BuiltFile] = []
        let version = try await queries.withSnapshot { reader -> Int64? in
            guard let version = try await reader.latestAppliedRun(domains: Self.domains) else { return nil }
            do {
                for kind in ActorTable.allCases {
                    let name = Self.name(version: version, kind: kind)
                    let temporary = "\(directory)/.\(name).\(token).partial"
                    let writer = try GzipFileWriter(path: temporary)
                    written.append(
                        .init(
                            kind: "actors-ndjson", name: name, entityType: kind.rawValue, temporaryPath: temporary,
                            size: 0, sha256: ""))
                    var line: [UInt8] = []
                    try await reader.actors(kind) { key, document, runId in
                        line.removeAll(keepingCapacity: true)
                        try Self.document(kind: kind, key: key, document: document, runId: runId).write(into: &line)
                        line.append(UInt8(ascii: "\n"))
                        try writer.write(line)
                    }
                    (written[written.count - 1].size, written[written.count - 1].sha256) = try writer.finish()
                }
            } catch {
                for file in written { try? FileManager.default.removeItem(atPath: file.temporaryPath) }
                throw error
            }
            return version
        }
        guard let version else { return [] }
        let artifacts = try await SAMExportBuilder.publish(
            written, version: version, meta: .object([:]), directory: directory, queries: queries)
        logger.info("actor export built", metadata: ["version": "\(version)"])
        return artifacts
    }

    /// One line: what the public lookup of the actor answers, every period (no `at`).
    static func document(kind: ActorTable, key: String, document: String, runId: Int64?) throws -> JSONValue {
        let parsed = try JSONValue.parse(document)
        switch kind {
        case .professionals:
            return ProviderRendering.professional(
                StoredProfessional(id: key, document: parsed, runId: runId, practices: []), at: nil, sensitive: false,
                includePractices: false)
        case .practices:
            return ProviderRendering.practiceAnswer(key: key, (parsed, nil))
        case .institutions:
            guard case .object(var members) = parsed else { return parsed }
            members["key"] = .string(key)
            members["href"] = .string("/v1/institutions/\(key)")
            if let runId { members["importRunId"] = .number(String(runId)) }
            return .object(members)
        }
    }
}
