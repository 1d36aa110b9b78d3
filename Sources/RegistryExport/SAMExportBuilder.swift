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
        // The SQLite snapshot recorded last: a node that sees it listed finds the version complete.
        let artifacts = try await Self.publish(
            files, version: run.runId, meta: Self.sourceMeta(run), directory: directory, queries: queries,
            recordLast: files.first?.name)
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

    /// Moves every written file to its name, then records them (`recordLast` after the others),
    /// so a listed file always exists.
    package static func publish(
        _ files: [BuiltFile], version: Int64, meta: JSONValue, directory: String, queries: ExportQueries,
        recordLast: String? = nil
    ) async throws -> [ExportArtifact] {
        for file in files {
            let final = "\(directory)/\(file.name)"
            _ = try? FileManager.default.removeItem(atPath: final)
            try FileManager.default.moveItem(atPath: file.temporaryPath, toPath: final)
        }
        let artifacts = files.map { file in
            ExportArtifact(
                kind: file.kind, version: version, name: file.name, entityType: file.entityType,
                sizeBytes: file.size, sha256: file.sha256, meta: meta)
        }
        for artifact in artifacts where artifact.name != recordLast { try await queries.record(artifact) }
        for artifact in artifacts where artifact.name == recordLast { try await queries.record(artifact) }
        return artifacts
    }

    /// A file written under its temporary name, not yet published.
    package struct BuiltFile: Sendable {
        package var kind: String
        package var name: String
        package var entityType: String?
        package var temporaryPath: String
        package var size: Int64
        package var sha256: String

        package init(
            kind: String, name: String, entityType: String?, temporaryPath: String, size: Int64, sha256: String
        ) {
            self.kind = kind
            self.name = name
            self.entityType = entityType
            self.temporaryPath = temporaryPath
            self.size = size
            self.sha256 = sha256
        }
    }

    /// Three stages on the machine's cores: this task reads and parses a batch of entities while
    /// two child tasks write the previous batch, one its SQLite rows, the other its NDJSON lines.
    private func write(run: SAMSourceRun, reader: SnapshotReader, now: Date) async throws -> [BuiltFile] {
        let token = UUID().uuidString.prefix(8)
        let temporary: @Sendable (String) -> String = { [directory] in "\(directory)/.\($0).\(token).partial" }
        let sqliteName = Self.sqliteName(version: run.runId)
        let sqlitePath = temporary(sqliteName)
        let ndjson = NDJSONSink(version: run.runId, temporary: temporary, render: render)
        let started = ContinuousClock.now
        do {
            let sqlite = SQLiteSink(writer: try SQLiteSnapshotWriter(path: sqlitePath))
            var batch: [StoredSAMEntity] = []
            var previous: Task<Void, any Error>?
            func hand(_ entities: [StoredSAMEntity]) async throws {
                try await previous?.value
                previous = Task {
                    async let lines: Void = ndjson.write(entities)
                    let start = ContinuousClock.now
                    try sqlite.write(entities)
                    sqlite.busy += ContinuousClock.now - start
                    try await lines
                }
            }
            try await reader.samEntities { exported in
                batch.append(
                    StoredSAMEntity(
                        type: exported.type, key: exported.key, parentType: exported.parentType,
                        parentKey: exported.parentKey, document: try JSONValue.parse(bytes: exported.document),
                        changedRunId: nil))
                if batch.count >= 1_000 {
                    try await hand(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try await hand(batch)
            try await previous?.value
            let streamed = ContinuousClock.now
            var files = try ndjson.finish()
            try sqlite.writer.finish(
                meta: Self.metaRows(run) + [("built_at", ISO8601DateFormatter().string(from: now))])
            let finished = ContinuousClock.now
            let (size, sha) = try fileDigest(path: sqlitePath)
            logger.info(
                "export phases",
                metadata: [
                    "stream": "\(streamed - started)", "sqliteRows": "\(sqlite.busy)", "ndjson": "\(ndjson.busy)",
                    "indexes": "\(finished - streamed)",
                    "digest": "\(ContinuousClock.now - finished)",
                ])
            files.insert(
                BuiltFile(
                    kind: "sam-sqlite", name: sqliteName, entityType: nil, temporaryPath: sqlitePath, size: size,
                    sha256: sha), at: 0)
            return files
        } catch {
            for path in [sqlitePath] + ndjson.temporaries { try? FileManager.default.removeItem(atPath: path) }
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

/// The SQLite side of a build. `@unchecked Sendable`: the writer is used by one batch task at a
/// time (each batch's task is awaited before the next one starts), never concurrently.
final class SQLiteSink: @unchecked Sendable {
    let writer: SQLiteSnapshotWriter
    /// Time spent writing rows (for the build's log).
    var busy: Duration = .zero

    init(writer: SQLiteSnapshotWriter) { self.writer = writer }

    func write(_ entities: [StoredSAMEntity]) throws {
        try writer.insert(entities.map { ($0.type, SAMSQLiteRows($0)) })
    }
}

/// The NDJSON side of a build: one gzip file per entity type (entities arrive ordered by type).
/// `@unchecked Sendable` for the reason ``SQLiteSink`` gives.
final class NDJSONSink: @unchecked Sendable {
    let version: Int64
    let temporary: @Sendable (String) -> String
    let render: @Sendable (StoredSAMEntity) -> JSONValue
    private var open: (type: String, name: String, path: String, writer: GzipFileWriter)?
    private var files: [SAMExportBuilder.BuiltFile] = []
    private(set) var temporaries: [String] = []
    private var line: [UInt8] = []

    init(
        version: Int64, temporary: @escaping @Sendable (String) -> String,
        render: @escaping @Sendable (StoredSAMEntity) -> JSONValue
    ) {
        self.version = version
        self.temporary = temporary
        self.render = render
    }

    /// Time spent rendering and compressing (for the build's log).
    private(set) var busy: Duration = .zero

    func write(_ entities: [StoredSAMEntity]) throws {
        let start = ContinuousClock.now
        defer { busy += ContinuousClock.now - start }
        for entity in entities {
            if open?.type != entity.type {
                try close()
                let name = SAMExportBuilder.ndjsonName(version: version, type: entity.type)
                let path = temporary(name)
                temporaries.append(path)
                open = (entity.type, name, path, try GzipFileWriter(path: path))
            }
            line.removeAll(keepingCapacity: true)
            SAMExportBuilder.ndjsonDocument(entity, render: render).write(into: &line)
            line.append(UInt8(ascii: "\n"))
            try open?.writer.write(line)
        }
    }

    private func close() throws {
        guard let current = open else { return }
        let (size, sha) = try current.writer.finish()
        files.append(
            SAMExportBuilder.BuiltFile(
                kind: "sam-ndjson", name: current.name, entityType: current.type, temporaryPath: current.path,
                size: size, sha256: sha))
        open = nil
    }

    func finish() throws -> [SAMExportBuilder.BuiltFile] {
        try close()
        return files
    }
}
