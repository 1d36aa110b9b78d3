import Logging
import PostgresNIO

/// Runs work with a running ``PostgresNIO/PostgresClient`` and always shuts it down.
///
/// `PostgresClient` is a service whose `run()` must be going while it is used. Its shutdown is
/// waited for, but not forever: PostgresNIO 1.33's pool has been seen (now and then, in full test
/// runs) never to return from `run()` after its cancellation, every connection already closed; a
/// finished command or test must not hang on that, so after `shutdownLimit` it is left behind.
@discardableResult
package func withPostgresClient<Result: Sendable>(
    _ url: DatabaseURL, logger: Logger, shutdownLimit: Duration = .seconds(10),
    _ body: @Sendable (PostgresClient) async throws -> Result
) async throws -> Result {
    try await checkConnection(url, logger: logger)
    let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
    let running = Task { await client.run() }
    let outcome: Swift.Result<Result, any Error>
    do {
        // Let run() start before the first lease (PostgresClient warns otherwise).
        try await Task.sleep(for: .milliseconds(20))
        outcome = .success(try await body(client))
    } catch {
        outcome = .failure(error)
    }
    await stop(running, within: shutdownLimit, logger: logger)
    return try outcome.get()
}

/// Cancels a client's `run()` and waits at most `limit` for it to end.
private func stop(_ running: Task<Void, Never>, within limit: Duration, logger: Logger) async {
    running.cancel()
    if await !running.ends(within: limit) {
        logger.warning(
            "the PostgreSQL client had not shut down \(limit) after it was asked to; left behind",
            metadata: ["stage": "client shutdown"])
    }
}

/// Opens and closes one connection, so a wrong URL fails at once with the server's reason
/// instead of the pool retrying forever.
package func checkConnection(_ url: DatabaseURL, logger: Logger) async throws {
    try await withPostgresConnection(url, logger: logger) { _ in }
}

/// Runs `body` on one connection of its own (no pool), closing it afterwards.
@discardableResult
package func withPostgresConnection<Result: Sendable>(
    _ url: DatabaseURL, logger: Logger, _ body: (PostgresConnection) async throws -> Result
) async throws -> Result {
    let configuration = PostgresConnection.Configuration(
        host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
        tls: try url.connectionTLS())
    let connection: PostgresConnection
    do {
        connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    } catch let error as PSQLError {
        let reason = error.serverInfo?[.message] ?? "\(error.code)"
        throw DatabaseError.unreachable(url.description, reason)
    } catch {
        throw DatabaseError.unreachable(url.description, "\(error)")
    }
    do {
        let result = try await body(connection)
        try await connection.close()
        return result
    } catch {
        try? await connection.close()
        throw error
    }
}

extension PostgresClient {
    /// Runs a statement to its end, discarding any rows.
    ///
    /// `query` returns as soon as the rows can be streamed, before the statement has finished;
    /// a write followed by a statement on another pooled connection (or a NOTIFY that makes
    /// someone else look) must drain first, or its effect may not be visible yet.
    package func execute(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await self.query(query, logger: logger)
        for try await _ in rows {}
    }
}

extension PostgresTransactionError {
    /// The error that made the transaction fail (PostgresNIO wraps what a transaction's body throws).
    package var underlying: any Error { closureError ?? beginError ?? commitError ?? self }
}

/// `error`, or what made the transaction fail when it is a ``PostgresTransactionError``.
package func unwrappingTransaction(_ error: any Error) -> any Error {
    (error as? PostgresTransactionError)?.underlying ?? error
}

extension PostgresClient {
    /// `withTransaction`, throwing what the body (or BEGIN/COMMIT) threw rather than PostgresNIO's wrapper.
    package func inTransaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch {
            throw unwrappingTransaction(error)
        }
    }
}

/// An error as an operator should read it: PostgresNIO hides the server's message from
/// `description`, so a database error shows it (with its SQLSTATE).
package func describe(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        return "database: \(message)\(state)"
    }
    return "\(error)"
}
