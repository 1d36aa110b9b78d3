import RegistryCore
import Testing

/// `Task.ends(within:)`, which bounds how long a finished command waits for its client to stop.
@Suite(.timeLimit(.minutes(1)))
struct TaskEndTests {
    @Test func aTaskThatEndsInTimeIsSeenToEnd() async {
        let quick = Task<Void, Never> { try? await Task<Never, Never>.sleep(for: .milliseconds(50)) }
        #expect(await quick.ends(within: .seconds(20)))
    }

    @Test func aTaskThatOutlivesTheLimitIsLeftRunning() async {
        let slow = Task<Void, Never> { try? await Task<Never, Never>.sleep(for: .seconds(600)) }
        // Without the limit this would wait ten minutes (the suite's time limit is one).
        #expect(await !slow.ends(within: .milliseconds(200)))
        #expect(!slow.isCancelled, "the task is neither cancelled nor awaited")
        slow.cancel()
        #expect(await slow.ends(within: .seconds(20)), "once cancelled, its sleep ends")
    }
}
