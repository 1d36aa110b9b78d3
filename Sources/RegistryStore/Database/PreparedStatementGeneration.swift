import PostgresNIO
import Synchronization

/// The names under which the API's prepared statements are prepared.
///
/// PostgresNIO remembers a statement whose preparation failed on a connection and answers every
/// later execution there with that same error. A preparation can fail transiently: parsing
/// takes the tables' locks, so a statement timeout (or a cancellation) while an import holds one
/// would otherwise poison the connection for that lookup until it closes. After any server error
/// the generation moves on, and the next execution prepares the statement afresh under a new name.
package enum PreparedStatementGeneration {
    static let current = Mutex(0)

    /// `base` suffixed with the current generation.
    package static func name(_ base: String) -> String { "\(base)_\(current.withLock { $0 })" }

    /// Runs `body` (an execution of a prepared statement and the reading of its rows); a server
    /// error moves to the next generation before it is rethrown.
    package static func recovering<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.code == .server {
            current.withLock { $0 += 1 }
            throw error
        }
    }
}
