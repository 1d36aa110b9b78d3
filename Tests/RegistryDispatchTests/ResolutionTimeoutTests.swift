import RegistryCore
import RegistryDispatch
import Synchronization
import Testing

/// A DNS server that does not answer must not hold a subscription request or a delivery: the
/// lookup is abandoned after its time limit, with an error that says so.
@Suite(.timeLimit(.minutes(5)))
struct ResolutionTimeoutTests {
    /// A lookup that answers only when told to.
    final class SilentResolver: Sendable {
        let waiting = Mutex<[CheckedContinuation<[IPAddress], any Error>]>([])

        func lookUp(_ host: String) async throws -> [IPAddress] {
            try await withCheckedThrowingContinuation { continuation in waiting.withLock { $0.append(continuation) } }
        }

        func answer(_ addresses: [IPAddress]) {
            for continuation in waiting.withLock({ waiting in
                defer { waiting = [] }; return waiting
            }) {
                continuation.resume(returning: addresses)
            }
        }
    }

    @Test func aLookupWithoutAnAnswerInTimeFails() async throws {
        let resolver = SilentResolver()
        let started = ContinuousClock.now
        let error = await #expect(throws: (any Error).self) {
            try await WebhookSender.resolve(host: "hooks.example.org", timeout: .milliseconds(300)) {
                try await resolver.lookUp($0)
            }
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300))
        #expect("\(error.map { "\($0)" } ?? "")".contains("cannot resolve hooks.example.org: no answer from DNS"))
        // The late answer is dropped (nothing is resumed twice).
        resolver.answer([IPAddress("192.0.2.1")!])
    }

    @Test func anAnswerInTimeIsReturned() async throws {
        let resolver = SilentResolver()
        let answering = Task {
            while resolver.waiting.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
            resolver.answer([IPAddress("192.0.2.7")!])
        }
        let addresses = try await WebhookSender.resolve(host: "hooks.example.org", timeout: .seconds(30)) {
            try await resolver.lookUp($0)
        }
        #expect(addresses == [IPAddress("192.0.2.7")!])
        try await answering.value
    }
}
