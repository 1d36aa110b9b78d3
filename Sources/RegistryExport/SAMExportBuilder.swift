import Foundation
import Logging
import RegistryCore
import RegistryStore

/// Builds the offline-mirror files of the newest applied SAM version in one pass over the stored
/// entities, read in one REPEATABLE READ snapshot: `sam-{run}.sqlite` (the relational schema of
/// `SAMSQLiteSchema`) and `sam-{run}-{type}.ndjson.gz` (one `/v1` entity document per line, every
/// validity slice). Files are written under a temporary name in the export directory, renamed when
/// complete, then recorded; nothing half-built is ever listed or served.
package struct SAMExportBuilder: Sendable {
    package let queries: ExportQueries
    package let directory: String
    /// An entity as the `/v1` API renders it with `history=true` (RegistryAPI's renderer).
    package let render: @Sendable (StoredSAMEntity) -> JSONValue
    package let logger: Logger

    package init(
        queries: ExportQueries, directory: String, logger: Logger,
        render: @escaping @Sendable (StoredSAMEntity) -> JSONValue
    ) {
        self.queries = queries
        self.directory = directory
        self.render = render
        self.logger = logger
    }

    package static func sqliteName(version: Int64) -> String { "sam-\(version).sqlite" }
    package static func ndjsonName(version: Int64, type: String) -> String { "sam-\(version)-\(type).ndjson.gz" }

    /// Builds the files of the newest applied SAM run and records them; returns what it recorded.
    package func build(now: Date = Date()) async throws -> [ExportArtifact] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (run, files) = try await queries.withSnapshot { reader -> (SAMSourceRun, [BuiltFile]) in
            guard let run = try await reader.latestSAMRun() else { throw ExportError.noSAMData }
            return (run, try await write(run: run, reader: reader, now: now))
        }
        let meta = Self.sourceMeta(run)
        // Every file in place first, then the records (the SQLite snapshot last: a node that sees
        // it listed finds the version complete).
        for file in files {
            let final = "\(directory)/\(file.name)"
            _ = try? FileManager.default.removeItem(atPath: final)
            try FileManager.default.moveItem(atPath: file.temporaryPath, toPath: final)
        }
        let artifacts = files.map { file in
            ExportArtifact(
                kind: file.kind, version: run.runId, name: file.name, entityType: file.entityType,
                sizeBytes: file.size, sha256: file.sha256, meta: meta)
        }
        for artifact in artifacts.reversed() { try await queries.record(artifact) }
        logger.info(
            "export built", metadata: ["version": "\(run.runId)", "files": "\(files.count)"])
        return artifacts
    }

    /// The source's own version names, as the listing and `meta` show them.
    static func sourceMeta(_ run: SAMSourceRun) -> JSONValue {
        var members: [String: JSONValue] = ["importedAt": .string(run.importedAt)]
        if let samId = run.samId { members["samId"] = .string(samId) }
        if let version = run.version { members["sourceVersion"] = .string(version) }
        if let upstream = run.upstreamVersion { members["upstreamVersion"] = .string(upstream) }
        return .object(members)
    }

    /// The `meta` rows of a snapshot of `run` (what a delta to `run` also sets), without `built_at`.
    package static func metaRows(_ run: SAMSourceRun) -> [(String, String?)] {
        [
            ("schema_version", "\(SAMSQLiteSchema.version)"), ("sam_version", "\(run.runId)"),
            ("import_run", "\(run.runId)"), ("sam_id", run.samId), ("source_version", run.version),
            ("upstream_version", run.upstreamVersion), ("imported_at", run.importedAt),
        ]
    }

    struct BuiltFile {
        var kind: String
        var name: String
        var entityType: String?
        var temporaryPath: String
        var size: Int64
        var sha256: String
    }

    private func write(run: SAMSourceRun, reader: SnapshotReader, now: Date) async throws -> [BuiltFile] {
        let token = UUID().uuidString.prefix(8)
        func temporary(_ name: String) -> String { "\(directory)/.\(name).\(token).partial" }
        let sqliteName = Self.sqliteName(version: run.runId)
        let sqlitePath = temporary(sqliteName)
        var files: [BuiltFile] = []
        var temporaries = [sqlitePath]
        do {
            let writer = try SQLiteSnapshotWriter(path: sqlitePath)
            var batch: [(entityType: String, rows: SAMSQLiteRows)] = []
            batch.reserveCapacity(2_000)
            var ndjson: (type: String, name: String, path: String, writer: GzipFileWriter)?
            func closeNDJSON() throws {
                guard let open = ndjson else { return }
                let (size, sha) = try open.writer.finish()
                files.append(
                    BuiltFile(
                        kind: "sam-ndjson", name: open.name, entityType: open.type, temporaryPath: open.path,
                        size: size,
                        sha256: sha))
                ndjson = nil
            }
            var line: [UInt8] = []
            try await reader.samEntities { exported in
                let entity = StoredSAMEntity(
                    type: exported.type, key: exported.key, parentType: exported.parentType,
                    parentKey: exported.parentKey, document: try JSONValue.parse(exported.documentText),
                    changedRunId: nil)
                batch.append((entity.type, SAMSQLiteRows(entity)))
                if batch.count >= 2_000 {
                    try writer.insert(batch)
                    batch.removeAll(keepingCapacity: true)
                }
                if ndjson?.type != entity.type {
                    try closeNDJSON()
                    let name = Self.ndjsonName(version: run.runId, type: entity.type)
                    let path = temporary(name)
                    temporaries.append(path)
                    ndjson = (entity.type, name, path, try GzipFileWriter(path: path))
                }
                line.removeAll(keepingCapacity: true)
                Self.ndjsonDocument(entity, render: render).write(into: &line)
                line.append(UInt8(ascii: "\n"))
                try ndjson?.writer.write(line)
            }
            try writer.insert(batch)
            try closeNDJSON()
            try writer.finish(meta: Self.metaRows(run) + [("built_at", ISO8601DateFormatter().string(from: now))])
            let (size, sha) = try fileDigest(path: sqlitePath)
            files.insert(
                BuiltFile(
                    kind: "sam-sqlite", name: sqliteName, entityType: nil, temporaryPath: sqlitePath, size: size,
                    sha256: sha), at: 0)
            return files
        } catch {
            for path in temporaries { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
    }

    /// One NDJSON line's document: the `/v1` rendering with the entity's parent (what a mirror
    /// needs to attach a package to its product).
    package static func ndjsonDocument(_ entity: StoredSAMEntity, render: (StoredSAMEntity) -> JSONValue) -> JSONValue {
        guard case .object(var members) = render(entity) else { return render(entity) }
        if let parentType = entity.parentType, let parentKey = entity.parentKey {
            members["parent"] = .object(["type": .string(parentType), "key": .string(parentKey)])
        }
        members["entityKey"] = .string(entity.key)
        return .object(members)
    }
}
