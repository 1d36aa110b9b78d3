import Foundation
import Synchronization
import PostgresNIO
import RegistryCore
import SAMImporter

/// A bounded hand-over queue between one producing thread and one consumer.
///
/// `@unchecked Sendable`: every stored property is only touched while `condition` is locked.
final class BatchHandoff<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; returns false when the consumer has gone away.
    func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once closed and drained.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        if items.isEmpty { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// What the parsing thread hands over per chunk: mapped entities, not yet checked.
struct ParsedBatch: Sendable {
    var mapped: SAMDocumentReader.MappedBatch
    /// Problems of the document itself (not well-formed, unreadable).
    var findings: [QualityFinding]
    var bytesRead: UInt64
    var entitiesRead: Int
}

/// Parses and maps one document on its own thread while the importing task checks, hashes and
/// COPYs the previous batches: the parsing thread is the busier of the two, so the checks run
/// on the task's side.
///
/// `@unchecked Sendable`: the reader is used by the parsing thread until it closes the hand-over,
/// and only then (after `take()` returned nil, which synchronises on the same lock) by the task.
final class ParsingThread: @unchecked Sendable {
    let reader: SAMDocumentReader
    let handoff = BatchHandoff<ParsedBatch>(capacity: 8)
    /// Batches the importing task is done with, freed here: memory freed on another thread than
    /// the one that allocated it goes back under its arena's lock, which the parser holds
    /// whenever it allocates (glibc malloc), and the two threads contended for it.
    let finished = Mutex<[[VersionedEntity]]>([])

    init(reader: SAMDocumentReader) { self.reader = reader }

    /// Hands a processed batch back to be freed on the parsing thread (the caller keeps no copy).
    func recycle(_ entities: [VersionedEntity]) {
        finished.withLock { $0.append(entities) }
    }

    func start() {
        let thread = Thread { [self] in
            // The document's SHA-256 is computed by the importing task, from the chunks handed over.
            while let batch = reader.nextMapped() {
                // Frees the batches the task is done with, here and outside the lock.
                _ = finished.withLock { batches -> [[VersionedEntity]] in
                    defer { batches = [] }
                    return batches
                }
                let parsed = ParsedBatch(
                    mapped: batch, findings: reader.drainFindings().findings, bytesRead: reader.bytesRead,
                    entitiesRead: reader.entitiesRead)
                if !handoff.put(parsed) { break }
            }
            handoff.close()
        }
        thread.name = "sam-parser"
        thread.start()
    }

    /// The next batch, waited for on NIO's thread pool so the cooperative pool never blocks.
    func next() async throws -> ParsedBatch? {
        let handoff = self.handoff
        return try await NIOThreadPool.singleton.runIfActive { handoff.take() }
    }

    /// Stops the parsing thread early (the import failed).
    func cancel() { handoff.close() }
}
