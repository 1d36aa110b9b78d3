import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `/health/live` (the process answers) and `/health/ready` (database reachable, schema current).
struct HealthRoutes<Context: RequestContext>: Sendable {
    let client: PostgresClient
    let migrations: MigrationRunner
    let logger: Logger

    func register(on router: Router<Context>) {
        router.get("/health/live") { request, _ in
            JSONResponse.make(.object(["status": .string("live")]), request: request, cacheControl: "no-store")
        }
        router.get("/health/ready") { request, _ in
            do {
                let pending = try await client.withConnection { connection in
                    try await migrations.pending(on: connection, logger: logger)
                }
                guard pending.isEmpty else {
                    throw Problem(
                        .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                        detail:
                            "Migrations pending: \(pending.map(\.name).joined(separator: ", ")); run `registry migrate`."
                    )
                }
            } catch let problem as Problem {
                throw problem
            } catch {
                logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                    detail: "The database is not reachable.")
            }
            return JSONResponse.make(
                .object([
                    "status": .string("ready"), "database": .string("reachable"), "migrations": .string("current"),
                ]), request: request, cacheControl: "no-store")
        }
    }
}
