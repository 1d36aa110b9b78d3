/// `withDeadline` gave up: the body did not finish in time (it was cancelled).
package struct DeadlinePassed: Error, Sendable {
    package init() {}
}

/// The body's result, or `DeadlinePassed` once `deadline` has passed (the body is cancelled): for
/// database probes, where a server that stopped answering makes connections wait forever.
package func withDeadline<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: deadline)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlinePassed() }
        return value
    }
}
