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
    /// How long audit entries are kept, per kind.
    public var auditRetention = AuditLog.Retention()
    /// Rate limits, timeouts and audit sampling (README, "Limits").
    public var protection = ProtectionSettings()
    /// Where `/metrics` is served without a token; nil: on the API listener, for a token with
    /// `metrics:read` (or `admin`).
    public var metricsListener: (host: String, port: Int)?

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
    public typealias Context = RegistryRequestContext

    public static func router(
        client: PostgresClient, cache: ResponseCache, practiceSearch: PracticeSearchService, retentionDays: Int,
        webhooks: WebhookSettings = WebhookSettings(), protection: ProtectionSettings = ProtectionSettings(),
        metricsOnThisListener: Bool = true, logger: Logger
    ) throws -> Router<Context> {
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        let refusals = RefusalSampler(
            burst: protection.unauthenticatedAuditBurst, intervalSeconds: protection.unauthenticatedAuditIntervalSeconds
        )
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: RateLimitMiddleware(settings: protection, client: client, logger: logger))
        router.add(middleware: RedactedRequestLogMiddleware())
        MedicineRoutes<Context>(client: client, cache: cache, logger: logger).register(on: router)
        HealthRoutes<Context>(client: client, migrations: try MigrationRunner.bundled(), logger: logger)
            .register(on: router)
        if metricsOnThisListener {
            MetricsRoutes<Context>(
                client: client, authenticator: Authenticator(client: client, refusals: refusals, logger: logger),
                logger: logger
            ).register(on: router)
        }
        ChangeRoutes<Context>(
            client: client, retentionDays: retentionDays,
            longPollCeiling: protection.requestTimeout.map { max(.zero, $0 - .seconds(1)) } ?? .seconds(30),
            logger: logger
        ).register(on: router)
        InstitutionRoutes<Context>(client: client, logger: logger).register(on: router)
        SPORRoutes<Context>(client: client, logger: logger).register(on: router)
        MappingRoutes<Context>(client: client, cache: cache, logger: logger).register(on: router)
        FHIRRoutes<Context>(client: client, cache: cache, practiceSearch: practiceSearch, logger: logger)
            .register(on: router)
        ProviderRoutes<Context>(
            client: client, cache: cache, practiceSearch: practiceSearch, refusals: refusals, logger: logger
        )
        .register(on: router)
        SubscriptionRoutes<Context>(
            client: client,
            sender: WebhookSender(
                policy: webhooks.addressPolicy, timeouts: webhooks.timeouts, ephemeral: true, lookUp: webhooks.lookUp,
                logger: logger),
            settings: webhooks, refusals: refusals, logger: logger
        ).register(on: router)
        OpenAPIRoute<Context>(document: try OpenAPIDocument.bundled()).register(on: router)
        return router
    }

    /// The separate metrics listener's router: `/metrics` only, without a token.
    static func metricsRouter(client: PostgresClient, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        MetricsRoutes<BasicRequestContext>(client: client, authenticator: nil, logger: logger).register(on: router)
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
    /// `apiClient`: the pool the routes read with (its sessions carry the API's
    /// `statement_timeout`); `client` when nil. Background services always use `client`.
    public static func make(
        client: PostgresClient, settings: ServerSettings, logger: Logger, runsClient: Bool,
        practiceSearch: PracticeSearchService? = nil, apiClient: PostgresClient? = nil
    ) throws -> some ApplicationProtocol {
        _ = RegistryMetrics.registry
        var appLogger = logger
        appLogger.logLevel = settings.logLevel
        let cache = ResponseCache(budgetBytes: settings.cacheBytes)
        var services: [any Service] = runsClient ? [PostgresClientService(client: client)] : []
        if runsClient, let apiClient, apiClient !== client { services.append(PostgresClientService(client: apiClient)) }
        if let listener = settings.metricsListener {
            services.append(
                Application(
                    router: metricsRouter(client: client, logger: appLogger),
                    configuration: .init(
                        address: .hostname(listener.host, port: listener.port), serverName: "registry"),
                    logger: appLogger))
        }
        services.append(
            RetentionService(
                client: client, retentionDays: settings.retentionDays, auditRetention: settings.auditRetention,
                logger: appLogger))
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
        let protection = settings.protection
        let routes = try router(
            client: apiClient ?? client, cache: cache, practiceSearch: search, retentionDays: settings.retentionDays,
            webhooks: settings.webhooks, protection: protection, metricsOnThisListener: settings.metricsListener == nil,
            logger: appLogger)
        return Application(
            responder: DeadlineResponder(inner: routes.buildResponder(), timeout: protection.requestTimeout),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [HeaderDeadlineHandler(timeout: protection.headerTimeout)],
                    idleTimeout: protection.idleTimeout)),
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
