import Foundation
import RegistryCore

@testable import SAMReaders

/// Writes text to a fresh temporary file and returns its path.
func temporaryFile(_ name: String, contents: [UInt8]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sam-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try Data(contents).write(to: URL(fileURLWithPath: path))
    return path
}

func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sam-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

struct ReadResult {
    var entities: [VersionedEntity] = []
    var findings: [QualityFinding] = []
    var rejected: [(type: String, key: String)] = []
    var refused: Bool
    var kind: SAMExportFile?
}

/// Reads one document through the real reader (small chunks, to cross chunk boundaries).
func readDocument(_ text: String, name: String = "AMP-1.xml", chunkSize: Int = 64, maxTextBytes: Int = 1 << 20) throws
    -> ReadResult
{
    try readDocument(bytes: Array(text.utf8), name: name, chunkSize: chunkSize, maxTextBytes: maxTextBytes)
}

func readDocument(bytes: [UInt8], name: String = "AMP-1.xml", chunkSize: Int = 64, maxTextBytes: Int = 1 << 20) throws
    -> ReadResult
{
    let path = try temporaryFile(name, contents: bytes)
    let input = try SAMInput.resolve(paths: [path])
    let reader = try SAMDocumentReader(item: input.items[0], maxTextBytes: maxTextBytes, chunkSize: chunkSize)
    var result = ReadResult(refused: false)
    while let batch = reader.next() {
        result.entities.append(contentsOf: batch)
    }
    let drained = reader.drainFindings()
    result.findings = drained.findings
    result.rejected = drained.rejected
    result.refused = reader.isRefused
    result.kind = reader.kind
    return result
}
