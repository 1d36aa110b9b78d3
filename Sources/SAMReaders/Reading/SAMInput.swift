import XMLStreaming
import Foundation
import RegistryCore

/// What the user pointed `registry import sam` at, resolved to the XML files to read.
package struct SAMInput: Sendable {
    package enum Kind: String, Sendable { case zip, folder, files }

    /// One XML document to read: a file on disk or an entry of the zip.
    package struct Item: Sendable {
        package let name: String
        package let size: UInt64
        let zipPath: String?
        let zipEntry: ZipEntry?
        let filePath: String?

        package func open() throws -> any ByteSource {
            if let zipPath, let zipEntry { return try ZipArchive(path: zipPath).open(zipEntry) }
            return try FileByteSource(path: filePath!)
        }
    }

    package let kind: Kind
    package let source: String
    package let items: [Item]

    /// A zip or a folder is a full export (every file expected); explicit files are a partial import.
    package var isFullExport: Bool { kind != .files }

    package static func resolve(paths: [String]) throws -> SAMInput {
        let fm = FileManager.default
        guard !paths.isEmpty else { throw InputError.cannotOpen(path: "", reason: "no input given") }
        var isDirectory: ObjCBool = false
        if paths.count == 1, fm.fileExists(atPath: paths[0], isDirectory: &isDirectory) {
            let path = paths[0]
            if isDirectory.boolValue {
                let names = try fm.contentsOfDirectory(atPath: path).filter { $0.lowercased().hasSuffix(".xml") }
                    .sorted()
                let items = names.map { name -> Item in
                    let full = (path as NSString).appendingPathComponent(name)
                    let size = ((try? fm.attributesOfItem(atPath: full)[.size]) as? UInt64) ?? 0
                    return Item(name: name, size: size, zipPath: nil, zipEntry: nil, filePath: full)
                }
                return SAMInput(kind: .folder, source: path, items: items)
            }
            if path.lowercased().hasSuffix(".zip") || isZip(path) {
                let archive = try ZipArchive(path: path)
                let items = archive.entries.filter { $0.name.lowercased().hasSuffix(".xml") }.map {
                    Item(name: $0.name, size: $0.uncompressedSize, zipPath: path, zipEntry: $0, filePath: nil)
                }
                return SAMInput(kind: .zip, source: path, items: items)
            }
        }
        var items: [Item] = []
        for path in paths {
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw InputError.cannotOpen(path: path, reason: "no such file (give one zip, one folder, or XML files)")
            }
            let size = ((try? fm.attributesOfItem(atPath: path)[.size]) as? UInt64) ?? 0
            items.append(
                Item(
                    name: (path as NSString).lastPathComponent, size: size, zipPath: nil, zipEntry: nil, filePath: path)
            )
        }
        return SAMInput(kind: .files, source: paths.joined(separator: " "), items: items)
    }

    static func isZip(_ path: String) -> Bool {
        (try? ZipArchive.readBytes(path: path, offset: 0, count: 4)) == [0x50, 0x4B, 0x03, 0x04]
    }
}

/// Reads one SAM export document chunk by chunk and yields its entities, checked.
///
/// Call ``next()`` until it returns nil. Each call parses one chunk (256 KiB), so the caller
/// decides the pace (it writes each batch to the database before asking for more).
package final class SAMDocumentReader {
    package let item: SAMInput.Item
    package private(set) var kind: SAMExportFile?
    package private(set) var rootAttributes: [String: String] = [:]
    package private(set) var findings: [QualityFinding] = []
    package private(set) var references: [EntityReference] = []
    package private(set) var bytesRead: UInt64 = 0
    package private(set) var entitiesRead = 0
    /// Top-level entity types seen in this document (the REF file defines its tables this way).
    package private(set) var topLevelTypes: Set<String> = []
    var source: any ByteSource
    let parser: XMLStreamParser
    var mapper: SAMEntityMapper
    var pending: [VersionedEntity] = []
    var done = false
    var fatal = false
    let chunkSize: Int

    package init(item: SAMInput.Item, maxTextBytes: Int = 1 << 20, chunkSize: Int = 256 * 1024) throws {
        self.item = item
        self.source = try item.open()
        self.parser = XMLStreamParser(fileName: item.name, maxTextBytes: maxTextBytes)
        self.mapper = SAMEntityMapper(file: item.name)
        self.chunkSize = chunkSize
        parser.onRoot = { [unowned self] root in
            self.rootAttributes = Dictionary(
                root.attributes.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            if root.namespace == SAMExportFile.exportNamespace, let kind = SAMExportFile(rootElement: root.name) {
                self.kind = kind
            } else {
                self.fail(
                    SAMQualityRules.unknownRoot, line: root.line,
                    "document element {\(root.namespace)}\(root.name) is not a SAM v2 export root (expected one of \(SAMExportFile.allCases.map(\.rootElement).joined(separator: ", ")) in \(SAMExportFile.exportNamespace))"
                )
            }
        }
        parser.onEntity = { [unowned self] node in
            guard !self.fatal else { return }
            let entities = self.mapper.mapTopLevel(node)
            if let first = entities.first { self.topLevelTypes.insert(first.type) }
            self.pending.append(contentsOf: entities)
        }
    }

    /// True when the document could not be read as a whole (the run must be refused).
    package var isRefused: Bool { fatal }

    func fail(_ rule: QualityRule, line: Int?, _ message: String) {
        fatal = true
        findings.append(QualityFinding(rule: rule, file: item.name, line: line, message: message))
    }

    /// Parses the next chunk and returns the entities completed in it that pass their checks, or
    /// nil at the end. Findings, references and rejections are kept for ``drainFindings()``.
    package func next() -> [VersionedEntity]? {
        guard let batch = nextMapped() else { return nil }
        let screened = Self.screen(batch)
        findings.append(contentsOf: screened.findings)
        references.append(contentsOf: screened.references)
        rejected.append(contentsOf: screened.rejected)
        return screened.accepted.map { batch.entities[$0] }
    }

    /// Entities mapped from one chunk, not yet checked, with the mapper's findings about them.
    package struct MappedBatch: Sendable {
        package var entities: [VersionedEntity]
        package var mapperFindings: [QualityFinding]
        /// The chunk of the document these came from (the importer hashes the document from them).
        package var bytes: [UInt8] = []
    }

    /// What the checks say of a batch: the indices of the entities accepted, in order.
    package struct ScreenedBatch: Sendable {
        package var accepted: [Int] = []
        package var findings: [QualityFinding] = []
        package var references: [EntityReference] = []
        package var rejected: [(type: String, key: String)] = []
    }

    /// Parses the next chunk and maps the entities completed in it without checking them (an
    /// importer checks them with ``screen(_:)`` elsewhere, e.g. on another thread), or nil at the end.
    /// The chunk comes with the batch, for the caller to hash the document.
    package func nextMapped() -> MappedBatch? {
        if done { return nil }
        var chunk: [UInt8] = []
        do {
            chunk = try source.read(maxLength: chunkSize)
            if chunk.isEmpty {
                parser.finish()
                done = true
            } else {
                bytesRead += UInt64(chunk.count)
                parser.feed(chunk)
            }
        } catch {
            fail(SAMQualityRules.unreadable, line: nil, "\(error)")
            done = true
        }
        for problem in parser.problems[reportedProblems...] {
            switch problem.kind {
            case .notWellFormed: fail(SAMQualityRules.notWellFormed, line: problem.line, problem.message)
            case .doctypeRefused: fail(SAMQualityRules.doctypeRefused, line: problem.line, problem.message)
            case .tooDeep, .entityTooLarge: fail(SAMQualityRules.inputLimit, line: problem.line, problem.message)
            case .textTooLong: break  // reported per entity by the mapper
            }
        }
        reportedProblems = parser.problems.count
        if parser.isStopped { done = true }
        if fatal { done = true; pending = []; return nil }
        let batch = MappedBatch(
            entities: pending, mapperFindings: mapper.findings, bytes: chunk)
        pending = []
        mapper.clearFindings()
        entitiesRead += batch.entities.count
        return batch
    }

    /// Checks a mapped batch: an entity with an error-level finding (its own, or the mapper's:
    /// bad dates, over-long text) is rejected; the others are accepted with their references.
    package static func screen(_ batch: MappedBatch) -> ScreenedBatch {
        var out = ScreenedBatch()
        out.accepted.reserveCapacity(batch.entities.count)
        out.findings = batch.mapperFindings
        let rejectedByMapper = Set(
            batch.mapperFindings.filter { $0.severity >= .error }.map {
                "\($0.entityType ?? "")\u{0}\($0.entityKey ?? "")"
            })
        for (index, entity) in batch.entities.enumerated() {
            let entityFindings = SAMQualityRules.check(entity)
            out.findings.append(contentsOf: entityFindings)
            if entityFindings.contains(where: { $0.severity >= .error })
                || (!rejectedByMapper.isEmpty && rejectedByMapper.contains("\(entity.type)\u{0}\(entity.key)"))
            {
                out.rejected.append((entity.type, entity.key))
                continue
            }
            out.references.append(contentsOf: SAMQualityRules.references(of: entity))
            out.accepted.append(index)
        }
        return out
    }

    var reportedProblems = 0
    /// Entities refused by an error-level finding: their stored version stays in place.
    package internal(set) var rejected: [(type: String, key: String)] = []

    /// Hands over findings, references and rejections gathered so far and forgets them (bounded memory).
    package func drainFindings() -> (
        findings: [QualityFinding], references: [EntityReference], rejected: [(type: String, key: String)]
    ) {
        defer {
            findings = []
            references = []
            rejected = []
        }
        return (findings, references, rejected)
    }
}
