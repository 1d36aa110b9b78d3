import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import ServiceLifecycle

/// Where the server listens and how its logs look.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level
    /// Memory for rendered answers (0 turns the cache off).
    public var cacheBytes: Int
    /// Days change events stay in the feed.
    public var retentionDays: Int = 90
    /// Target policy and secret overlap for subscription management and pings.
    public var webhooks = WebhookSettings()
    /// The in-process dispatcher; nil runs none (another process dispatches).
    public var dispatcher: DispatcherSettings?
    /// Answer practice searches from memory once loaded (PostgreSQL otherwise).
    public var practiceSearchInMemory = true

    public init(
        host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info, cacheBytes: Int = 256 << 20
    ) {
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.cacheBytes = cacheBytes
    }
}

/// Builds the HTTP application: every route, the problem/metrics/logging middleware, and (when
/// `runsClient`) the PostgreSQL client as a service of the same service group, so SIGTERM/SIGINT
/// stop the server gracefully and then the pool.
public enum RegistryApplication {
    public static func router(
        client: PostgresClient, cache: ResponseCache, practiceSearch: PracticeSearchService, retentionDays: Int,
        webhooks: WebhookSettings = WebhookSettings(), logger: Logger
    ) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        MedicineRoutes<BasicRequestContext>(client: client, cache: cache, logger: logger).register(on: router)
        HealthRoutes<BasicRequestContext>(client: client, migrations: try MigrationRunner.bundled(), logger: logger)
            .register(on: router)
        MetricsRoutes<BasicRequestContext>(client: client, logger: logger).register(on: router)
        ChangeRoutes<BasicRequestContext>(client: client, retentionDays: retentionDays, logger: logger)
            .register(on: router)
        InstitutionRoutes<BasicRequestContext>(client: client, logger: logger).register(on: router)
        SPORRoutes<BasicRequestContext>(client: client, logger: logger).register(on: router)
        MappingRoutes<BasicRequestContext>(client: client, cache: cache, logger: logger).register(on: router)
        FHIRRoutes<BasicRequestContext>(client: client, cache: cache, practiceSearch: practiceSearch, logger: logger)
            .register(on: router)
        ProviderRoutes<BasicRequestContext>(
            client: client, cache: cache, practiceSearch: practiceSearch, logger: logger
        )
        .register(on: router)
        SubscriptionRoutes<BasicRequestContext>(
            client: client,
            sender: WebhookSender(
                policy: webhooks.addressPolicy, timeouts: webhooks.timeouts, ephemeral: true, lookUp: webhooks.lookUp,
                logger: logger),
            settings: webhooks, logger: logger
        ).register(on: router)
        OpenAPIRoute<BasicRequestContext>(document: try OpenAPIDocument.bundled()).register(on: router)
        return router
    }

    /// The in-memory practice search with this API's rendering of hits and of FHIR Locations.
    public static func practiceSearchService(client: PostgresClient, enabled: Bool, logger: Logger)
        -> PracticeSearchService
    {
        PracticeSearchService(
            client: client, enabled: enabled, logger: logger, render: ProviderRendering.hitMembers,
            renderResource: FHIRActorRoutes<BasicRequestContext>.locationBytes)
    }

    /// `practiceSearch`: the in-memory practice search to run (one is made from `settings` when nil;
    /// tests pass their own to wait until it is loaded).
    public static func make(
        client: PostgresClient, settings: ServerSettings, logger: Logger, runsClient: Bool,
        practiceSearch: PracticeSearchService? = nil
    ) throws -> some ApplicationProtocol {
        _ = RegistryMetrics.registry
        var appLogger = logger
        appLogger.logLevel = settings.logLevel
        let cache = ResponseCache(budgetBytes: settings.cacheBytes)
        var services: [any Service] = runsClient ? [PostgresClientService(client: client)] : []
        services.append(
            ChangeRetentionService(client: client, retentionDays: settings.retentionDays, logger: appLogger))
        let search =
            practiceSearch
            ?? practiceSearchService(client: client, enabled: settings.practiceSearchInMemory, logger: appLogger)
        services.append(search)
        if settings.cacheBytes > 0 || search.enabled {
            services.append(DataChangeListener(client: client, cache: cache, practiceSearch: search, logger: appLogger))
        }
        if let dispatcher = settings.dispatcher {
            services.append(
                Dispatcher(
                    client: client, settings: dispatcher,
                    entities: LookupEntitySource(client: client, logger: appLogger), logger: appLogger))
        }
        return Application(
            router: try router(
                client: client, cache: cache, practiceSearch: search, retentionDays: settings.retentionDays,
                webhooks: settings.webhooks, logger: appLogger),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "registry"),
            services: services,
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
