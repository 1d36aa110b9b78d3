import Foundation

/// Runs `operation`; if it is still running after `limit`, prints which stage stalled (once), so a
/// test run cut short by its time limit says where it waited. The operation is not interrupted.
package func reportingStall<T: Sendable>(
    _ stage: String, after limit: Duration = .seconds(60), _ operation: @Sendable () async throws -> T
) async throws -> T {
    let watchdog = Task {
        try await Task.sleep(for: limit)
        print("STALLED: \(stage) still running after \(limit)")
    }
    defer { watchdog.cancel() }
    return try await operation()
}
