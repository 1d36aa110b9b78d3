import Foundation
import Synchronization
import RegistryCore
import SAMReaders

/// A bounded hand-over queue from one producing thread to one consuming task.
///
/// The producer blocks (it has a thread of its own); the consumer suspends without holding any
/// thread: earlier it waited on NIO's blocking pool, which has one thread per core and which
/// other work (DNS lookups of webhook targets) needs too.
///
/// `@unchecked Sendable`: every stored property is only touched while `condition` is locked.
final class BatchHandoff<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    /// The consumer, suspended until an item arrives or the queue closes.
    private var waiting: CheckedContinuation<Item?, Never>?
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; returns false when the consumer has gone away.
    func put(_ item: Item) -> Bool {
        condition.lock()
        while items.count >= capacity && !closed { condition.wait() }
        if closed {
            condition.unlock()
            return false
        }
        if let consumer = waiting {
            waiting = nil
            condition.unlock()
            consumer.resume(returning: item)
            return true
        }
        items.append(item)
        condition.unlock()
        return true
    }

    /// The next item; nil once closed and drained.
    func take() async -> Item? {
        await withCheckedContinuation { continuation in
            condition.lock()
            if !items.isEmpty {
                let item = items.removeFirst()
                condition.broadcast()
                condition.unlock()
                continuation.resume(returning: item)
            } else if closed {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                waiting = continuation
                condition.unlock()
            }
        }
    }

    func close() {
        condition.lock()
        closed = true
        let consumer = waiting
        waiting = nil
        condition.broadcast()
        condition.unlock()
        consumer?.resume(returning: nil)
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

    /// The next batch (nil after the last one).
    func next() async -> ParsedBatch? { await handoff.take() }

    /// Stops the parsing thread early (the import failed).
    func cancel() { handoff.close() }
}
