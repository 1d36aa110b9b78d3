import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import ServiceLifecycle

/// Where the server listens and how its logs look.
package struct ServerSettings: Sendable {
    package var host: String
    package var port: Int
    package var logLevel: Logger.Level
    /// Memory for rendered answers (0 turns the cache off).
    package var cacheBytes: Int
    /// Days change events stay in the feed.
    package var retentionDays: Int = 90
    /// Target policy and secret overlap for subscription management and pings.
    package var webhooks = WebhookSettings()
    /// The in-process dispatcher; nil runs none (another process dispatches).
    package var dispatcher: DispatcherSettings?
    /// Answer practice searches from memory once loaded (PostgreSQL otherwise).
    package var practiceSearchInMemory = true
    /// How long audit entries are kept, per kind.
    package var auditRetention = AuditLog.Retention()
    /// Rate limits, timeouts and audit sampling (README, "Limits").
    package var protection = ProtectionSettings()
    /// Where `/metrics` is served without a token; nil: on the API listener, for a token with
    /// `metrics:read` (or `admin`).
    package var metricsListener: (host: String, port: Int)?
    /// Where "today" comes from (the system clock; tests stop it at a chosen moment).
    package var clock = RegistryClock.system
    /// Preloading the response cache with the most requested answers before reporting ready.
    package var warmStart = WarmStartSettings()
    /// Lag bound and polling of a hot standby the node reads from (used with a ``ReadDatabase``).
    package var replica = ReplicaSettings()
    /// Offline-mirror files (`/v1/exports`); nil serves and builds none.
    package var exports: ExportSettings?

    package init(
        host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info, cacheBytes: Int = 256 << 20
    ) {
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.cacheBytes = cacheBytes
    }
}

/// The pools of a hot standby (`DATABASE_READ_URL`): lookups, searches, FHIR reads and the change
/// feed read through `api`; the follower and the practice snapshot through `background`.
package struct ReadDatabase: Sendable {
    package var api: PostgresClient
    package var background: PostgresClient

    package init(api: PostgresClient, background: PostgresClient) {
        self.api = api
        self.background = background
    }
}

/// Builds the HTTP application: every route, the problem/metrics/logging middleware, and (when
/// `runsClient`) the PostgreSQL client as a service of the same service group, so SIGTERM/SIGINT
/// stop the server gracefully and then the pool.
package enum RegistryApplication {
    package typealias Context = RegistryRequestContext

    /// `client`: the primary (writes and the reads that must see them: API clients, subscriptions,
    /// audit); `readClient`: where lookups, searches and the feed read (`client` when nil).
    package static func router(
        client: PostgresClient, readClient: PostgresClient? = nil, cache: ResponseCache,
        practiceSearch: PracticeSearchService, retentionDays: Int,
        webhooks: WebhookSettings = WebhookSettings(), protection: ProtectionSettings = ProtectionSettings(),
        metricsOnThisListener: Bool = true, clock: RegistryClock = .system, routeTable: RouteTable = RouteTable(),
        warmUp: WarmUpState = WarmUpState(warming: false), replica: ReplicaState? = nil,
        exportDirectory: String? = nil, logger: Logger
    ) throws -> Router<Context> {
        let read = readClient ?? client
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        let refusals = RefusalSampler(
            burst: protection.unauthenticatedAuditBurst, intervalSeconds: protection.unauthenticatedAuditIntervalSeconds
        )
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware(routes: routeTable))
        router.add(middleware: RateLimitMiddleware(settings: protection, client: client, logger: logger))
        router.add(middleware: RedactedRequestLogMiddleware())
        let routes = RouteRegistrar(
            router: router, table: routeTable, access: ClientAccess(client: client, refusals: refusals, logger: logger))
        MedicineRoutes<Context>(client: read, cache: cache, logger: logger, clock: clock).register(on: routes)
        HealthRoutes<Context>(
            client: read, migrations: try MigrationRunner.bundled(), warmUp: warmUp, replica: replica, logger: logger
        )
        .register(on: routes)
        if metricsOnThisListener {
            MetricsRoutes<Context>(
                client: client, access: .client(.metricsRead, action: "metrics.read"), logger: logger
            ).register(on: routes)
        }
        ChangeRoutes<Context>(
            client: read, retentionDays: retentionDays,
            longPollCeiling: protection.requestTimeout.map { max(.zero, $0 - .seconds(1)) } ?? .seconds(30),
            logger: logger
        ).register(on: routes)
        InstitutionRoutes<Context>(client: read, logger: logger).register(on: routes)
        SPORRoutes<Context>(client: read, logger: logger).register(on: routes)
        SourceRoutes<Context>(client: read, logger: logger).register(on: routes)
        MappingRoutes<Context>(client: read, cache: cache, logger: logger, clock: clock).register(on: routes)
        FHIRRoutes<Context>(client: read, cache: cache, practiceSearch: practiceSearch, logger: logger, clock: clock)
            .register(on: routes)
        ProviderRoutes<Context>(
            client: read, cache: cache, practiceSearch: practiceSearch, logger: logger, auditClient: client
        )
        .with(clock: clock)
        .register(on: routes)
        SubscriptionRoutes<Context>(
            client: client,
            sender: WebhookSender(
                policy: webhooks.addressPolicy, timeouts: webhooks.timeouts, ephemeral: true, lookUp: webhooks.lookUp,
                logger: logger),
            settings: webhooks, logger: logger
        ).register(on: routes)
        ExportRoutes<Context>(client: read, directory: exportDirectory, logger: logger).register(on: routes)
        // Jobs are written and read on the primary (a kick-off is followed by status polls).
        FHIRBulkExportRoutes<Context>(client: client, directory: exportDirectory, logger: logger).register(on: routes)
        OpenAPIRoute<Context>(document: try OpenAPIDocument.bundled()).register(on: routes)
        return router
    }

    /// The separate metrics listener's router: `/metrics` only, without a token.
    static func metricsRouter(client: PostgresClient, logger: Logger) -> Router<Context> {
        let router = Router(context: Context.self)
        let table = RouteTable()
        router.add(middleware: ProblemMiddleware(routes: table))
        MetricsRoutes<Context>(client: client, access: .anyone, logger: logger)
            .register(on: RouteRegistrar(router: router, table: table, access: nil))
        return router
    }

    /// The in-memory practice search with this API's rendering of hits and of FHIR Locations.
    package static func practiceSearchService(client: PostgresClient, enabled: Bool, logger: Logger)
        -> PracticeSearchService
    {
        PracticeSearchService(
            client: client, enabled: enabled, logger: logger, render: ProviderRendering.hitMembers,
            renderResource: FHIRActorRoutes<RegistryRequestContext>.locationBytes)
    }

    /// `practiceSearch`: the in-memory practice search to run (one is made from `settings` when nil;
    /// tests pass their own to wait until it is loaded).
    /// `apiClient`: the pool the routes read with (its sessions carry the API's
    /// `statement_timeout`); `client` when nil. Background services always use `client`.
    package static func make(
        client: PostgresClient, settings: ServerSettings, logger: Logger, runsClient: Bool,
        practiceSearch: PracticeSearchService? = nil, apiClient: PostgresClient? = nil,
        readDatabase: ReadDatabase? = nil, exportClient: PostgresClient? = nil
    ) throws -> some ApplicationProtocol {
        _ = RegistryMetrics.registry
        var appLogger = logger
        appLogger.logLevel = settings.logLevel
        let cache = ResponseCache(budgetBytes: settings.cacheBytes)
        // PostgresClient is a Service itself: the group runs its pool and ends it after the server.
        var services: [any Service] = runsClient ? [client] : []
        if runsClient, let apiClient, apiClient !== client { services.append(apiClient) }
        if runsClient, let readDatabase { services += [readDatabase.api, readDatabase.background] }
        if let exports = settings.exports, exports.builds {
            // Its own pool when given: a build holds two connections for a minute.
            if runsClient, let exportClient, exportClient !== client { services.append(exportClient) }
            services.append(ExportService(client: exportClient ?? client, settings: exports, logger: appLogger))
            services.append(
                FHIRBulkExportWorker(client: exportClient ?? client, directory: exports.directory, logger: appLogger))
        }
        // Background reads of the data the API serves: the standby's when there is one.
        let readBackground = readDatabase?.background ?? client
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
            ?? practiceSearchService(
                client: readBackground, enabled: settings.practiceSearchInMemory, logger: appLogger)
        services.append(search)
        let listener = DataChangeListener(
            client: readBackground, cache: cache, practiceSearch: search, logger: appLogger)
        var replica: ReplicaState?
        if readDatabase != nil {
            // A standby refuses LISTEN: the follower polls it (and is woken by the primary).
            let state = ReplicaState(settings: settings.replica)
            replica = state
            services.append(
                ReplicaFollower(
                    read: readBackground, primary: client, listener: listener, state: state, logger: appLogger))
        } else if settings.cacheBytes > 0 || search.enabled {
            services.append(listener)
        }
        if let dispatcher = settings.dispatcher {
            services.append(
                Dispatcher(
                    client: client, settings: dispatcher,
                    entities: LookupEntitySource(client: client, logger: appLogger), logger: appLogger))
        }
        // A starting node preloads the answers nodes were asked for most (recorded in hot_request)
        // through its own listener, and reports ready when done (or after the time limit).
        let warmUp = WarmUpState(warming: settings.cacheBytes > 0 && settings.warmStart.paths > 0)
        let (port, portContinuation) = AsyncStream.makeStream(of: Int.self)
        if settings.cacheBytes > 0 {
            services.append(
                WarmStartService(
                    client: client, cache: cache, state: warmUp, settings: settings.warmStart, port: port,
                    logger: appLogger))
        } else {
            portContinuation.finish()
        }
        let protection = settings.protection
        let routes = try router(
            client: apiClient ?? client, readClient: readDatabase?.api, cache: cache, practiceSearch: search,
            retentionDays: settings.retentionDays,
            webhooks: settings.webhooks, protection: protection, metricsOnThisListener: settings.metricsListener == nil,
            clock: settings.clock, warmUp: warmUp, replica: replica, exportDirectory: settings.exports?.directory,
            logger: appLogger)
        return Application(
            responder: DeadlineResponder(inner: routes.buildResponder(), timeout: protection.requestTimeout),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [HeaderDeadlineHandler(timeout: protection.headerTimeout)],
                    idleTimeout: protection.idleTimeout)),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "registry"),
            services: services,
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: appLogger
        )
    }
}
