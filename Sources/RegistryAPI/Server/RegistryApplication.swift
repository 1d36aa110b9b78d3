import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import ServiceLifecycle

/// Where the server listens and how its logs look.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level

    public init(host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info) {
        self.host = host
        self.port = port
        self.logLevel = logLevel
    }
}

/// Builds the HTTP application: every route, the problem/metrics/logging middleware, and (when
/// `runsClient`) the PostgreSQL client as a service of the same service group, so SIGTERM/SIGINT
/// stop the server gracefully and then the pool.
public enum RegistryApplication {
    public static func router(client: PostgresClient, logger: Logger) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        MedicineRoutes<BasicRequestContext>(client: client, logger: logger).register(on: router)
        HealthRoutes<BasicRequestContext>(client: client, migrations: try MigrationRunner.bundled(), logger: logger)
            .register(on: router)
        MetricsRoutes<BasicRequestContext>(client: client, logger: logger).register(on: router)
        OpenAPIRoute<BasicRequestContext>(document: try OpenAPIDocument.bundled()).register(on: router)
        return router
    }

    public static func make(
        client: PostgresClient, settings: ServerSettings, logger: Logger, runsClient: Bool
    ) throws -> some ApplicationProtocol {
        _ = RegistryMetrics.registry
        var appLogger = logger
        appLogger.logLevel = settings.logLevel
        return Application(
            router: try router(client: client, logger: appLogger),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "registry"),
            services: runsClient ? [PostgresClientService(client: client)] : [],
            logger: appLogger
        )
    }
}

/// `PostgresClient.run()` as a ServiceLifecycle service.
struct PostgresClientService: Service {
    let client: PostgresClient
    func run() async throws {
        await cancelWhenGracefulShutdown { await client.run() }
    }
}
