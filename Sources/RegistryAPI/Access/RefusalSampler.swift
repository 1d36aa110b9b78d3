import Metrics
import Synchronization

/// Decides which unauthenticated refusals reach the audit log: a burst, then one per interval;
/// every refusal is counted in `/metrics` (`registry_auth_refusals_total`), and a written row
/// says how many were left out before it (`unrecordedBefore`).
package final class RefusalSampler: Sendable {
    struct State {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var skipped = 0
    }

    let burst: Double
    let perSecond: Double
    let state: Mutex<State>
    let counter = Counter(label: "registry_auth_refusals_total", dimensions: [("client", "unknown")])

    package init(burst: Int = 10, intervalSeconds: Double = 10) {
        self.burst = Double(max(1, burst))
        perSecond = intervalSeconds > 0 ? 1 / intervalSeconds : .infinity
        state = Mutex(State(tokens: Double(max(1, burst)), updated: .now))
    }

    /// nil: do not write this refusal; else write it, noting the number skipped since the last written.
    package func admit(now: ContinuousClock.Instant = .now) -> Int? {
        counter.increment()
        return state.withLock { state in
            let elapsed = now - state.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(burst, state.tokens + max(0, seconds) * perSecond)
            state.updated = now
            guard state.tokens >= 1 else {
                state.skipped += 1
                return nil
            }
            state.tokens -= 1
            defer { state.skipped = 0 }
            return state.skipped
        }
    }
}
