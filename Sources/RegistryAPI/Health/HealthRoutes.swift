import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `/health/live` (the process answers) and `/health/ready` (database reachable, schema current).
struct HealthRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let migrations: MigrationRunner
    /// Not ready while the response cache is being warmed (bounded by its time limit).
    let warmUp: WarmUpState
    /// On a node reading from a hot standby: not ready while the standby is unreachable or lags
    /// more than the bound.
    var replica: ReplicaState? = nil
    let logger: Logger

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/health/live") { request, _ in
            JSONResponse.make(.object(["status": .string("live")]), request: request, cacheControl: "no-store")
        }
        routes.get("/health/ready") { request, _ in
            do {
                let pending = try await withDeadline(Self.readinessDeadline) {
                    try await client.withConnection { connection in
                        try await migrations.pending(on: connection, logger: logger)
                    }
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
            } catch is DeadlinePassed {
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                    detail: "The database did not answer within \(Self.readinessDeadline).")
            } catch {
                logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                    detail: "The database is not reachable.")
            }
            if let reason = replica?.notReadyReason() {
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                    detail: "Replica: \(reason).", extensions: ["connections": connections])
            }
            if let pending = warmUp.pending {
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "not-ready", title: "Not ready",
                    detail: "Starting: \(pending).")
            }
            return JSONResponse.make(
                .object([
                    "status": .string("ready"), "database": .string("reachable"), "migrations": .string("current"),
                    "connections": connections,
                ]), request: request, cacheControl: "no-store")
        }
    }

    /// Which role each of the node's databases has: `primary` alone, or `read` (the standby, its
    /// lag in seconds) and `primary` (writes; reachable or not).
    var connections: JSONValue {
        guard let replica else {
            return .object(["primary": .object(["role": .string("primary"), "reads": .bool(true)])])
        }
        let state = replica.current
        var read: [String: JSONValue] = [
            "role": .string(state.standby ? "standby" : "primary"),
            "lagSeconds": state.lag.map { .number(ReplicaState.seconds($0)) } ?? .null,
            "maxLagSeconds": .number(ReplicaState.seconds(replica.settings.maxLag)),
        ]
        if let error = state.lastError { read["error"] = .string(error) }
        return .object([
            "read": .object(read),
            "primary": .object([
                "role": .string("primary"), "reads": .bool(false),
                "reachable": state.primaryReachable.map(JSONValue.bool) ?? .null,
            ]),
        ])
    }

    /// A probe must answer: a database that stopped answering makes connections wait forever.
    static var readinessDeadline: Duration { .seconds(3) }
}
