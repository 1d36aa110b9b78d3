import Foundation
import Synchronization
import Testing

@testable import RegistryImport
import RegistryStore

/// The hand-over between the SAM parsing thread and the importing task (pure logic, real threads).
@Suite(.timeLimit(.minutes(1)))
struct BatchHandoffTests {
    /// What each `put` of the producing thread returned.
    final class Puts: Sendable {
        let accepted = Mutex<[Bool]>([])
        var all: [Bool] { accepted.withLock { $0 } }
    }

    /// Starts a thread that puts 1...count and records what each put returned.
    static func produce(_ handoff: BatchHandoff<Int>, count: Int, closeWhenDone: Bool = true) -> Puts {
        let results = Puts()
        let thread = Thread {
            for item in 1...count {
                let accepted = handoff.put(item)
                results.accepted.withLock { $0.append(accepted) }
                if !accepted { break }
            }
            if closeWhenDone { handoff.close() }
        }
        thread.start()
        return results
    }

    @Test func everyItemArrivesOnceInOrderThroughASmallQueue() async {
        let handoff = BatchHandoff<Int>(capacity: 2)
        let results = Self.produce(handoff, count: 500)
        var received: [Int] = []
        while let item = await handoff.take() {
            received.append(item)
            if item % 50 == 0 { try? await Task.sleep(for: .milliseconds(2)) }
        }
        #expect(received == Array(1...500))
        #expect(results.all == Array(repeating: true, count: 500))
    }

    @Test func aConsumerWaitingBeforeTheFirstItemIsWokenByIt() async {
        let handoff = BatchHandoff<Int>(capacity: 8)
        async let first = handoff.take()
        try? await Task.sleep(for: .milliseconds(100))
        _ = Self.produce(handoff, count: 1)
        #expect(await first == 1)
        #expect(await handoff.take() == nil, "closed and drained")
    }

    @Test func closingReleasesABlockedProducerAndAWaitingConsumer() async throws {
        let handoff = BatchHandoff<Int>(capacity: 1)
        let results = Self.produce(handoff, count: 3, closeWhenDone: false)
        #expect(await handoff.take() == 1)
        // The producer fills the queue again and then blocks for room.
        while results.all.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
        handoff.close()
        while results.all.count < 3 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(results.all == [true, true, false], "the blocked put is refused once closed")
        #expect(await handoff.take() == 2, "what was queued before closing is still handed over")
        #expect(await handoff.take() == nil)

        let idle = BatchHandoff<Int>(capacity: 1)
        async let nothing = idle.take()
        try await Task.sleep(for: .milliseconds(50))
        idle.close()
        #expect(await nothing == nil)
    }
}
