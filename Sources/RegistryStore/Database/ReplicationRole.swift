import Logging
import PostgresNIO

/// Whether a server is a hot standby.
package enum ReplicationRole {
    /// `pg_is_in_recovery()`: true on a standby (read-only), false on a primary.
    package static func inRecovery(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_is_in_recovery()", logger: logger)
        for try await value in rows.decode(Bool.self) { return value }
        return false
    }
}
