import Synchronization

extension Task where Success == Void, Failure == Never {
    /// Whether the task ends within `limit` (it is left running when it does not).
    ///
    /// Awaiting `value` cannot be interrupted, so two unstructured waiters race and the first
    /// outcome resumes the caller.
    package func ends(within limit: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let outcome = FirstOutcome(continuation)
            let timer = Task<Void, Never> {
                try? await Task<Never, Never>.sleep(for: limit)
                outcome.resume(false)
            }
            Task<Void, Never> {
                await self.value
                timer.cancel()
                outcome.resume(true)
            }
        }
    }
}

/// Resumes a continuation with the first of several outcomes; later ones are ignored.
private final class FirstOutcome: Sendable {
    let pending: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) { pending = Mutex(continuation) }

    func resume(_ value: Bool) {
        pending.withLock { continuation in
            continuation?.resume(returning: value)
            continuation = nil
        }
    }
}
