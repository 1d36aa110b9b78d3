import Hummingbird
import Logging
import Metrics
import PostgresNIO
import Prometheus
import RegistryStore

/// Prometheus metrics: request counts and latency histograms per route (Hummingbird's
/// `MetricsMiddleware` through swift-metrics), plus import-run figures read at scrape time.
package enum RegistryMetrics {
    /// swift-metrics has one process-wide backend; bootstrapping twice traps, so it happens once.
    package static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Prometheus names allow [a-zA-Z0-9_:] only; swift-metrics labels use dots.
        factory.nameAndLabelSanitizer = { name, labels in
            (
                name.replacingOccurrences(of: ".", with: "_"),
                labels.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) }
            )
        }
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}

/// Requests refused by a webhook limit, per limit (`subscriptions_per_client`, `replay_events`,
/// `queued_deliveries`): `registry_webhook_limit_refusals_total{limit="…"}`.
enum WebhookLimitMetrics {
    static let label = "registry_webhook_limit_refusals_total"

    static func refused(_ limit: String) {
        _ = RegistryMetrics.registry
        Counter(label: label, dimensions: [("limit", limit)]).increment()
    }
}

struct MetricsRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    /// On the API listener a token with `metrics:read` is needed (queue sizes and lags are not for
    /// everybody); `.anyone` on the separate metrics listener, which the operator keeps private.
    let access: RouteAccess
    let logger: Logger

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/metrics", access) { request, _ in
            var text = RegistryMetrics.registry.emitToString()
            text += try await importFigures()
            text += try await webhookFigures()
            text += try await sourceFigures()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    /// Webhook state of the whole system (every dispatcher process): subscriptions per status,
    /// queued and dead deliveries, and how far the most-behind active subscription lags the feed.
    func webhookFigures() async throws -> String {
        var subscriptions = "# TYPE registry_webhook_subscriptions gauge\n"
        var deliveries = "# TYPE registry_webhook_deliveries gauge\n"
        var lag = "# TYPE registry_webhook_max_lag_events gauge\n"
        let rows = try await client.query(
            """
            SELECT 'subscriptions', s.status, count(*)::bigint FROM subscription s GROUP BY s.status
            UNION ALL
            SELECT 'deliveries', d.status, count(*)::bigint FROM delivery d
            WHERE d.status IN ('pending', 'retrying', 'dead') GROUP BY d.status
            UNION ALL
            SELECT 'lag', '', coalesce(max(c.last_seq - s.cursor_seq), 0)::bigint
            FROM subscription s, change_event_counter c WHERE s.status = 'active'
            """, logger: logger)
        for try await (kind, status, value) in rows.decode((String, String, Int64).self) {
            switch kind {
            case "subscriptions": subscriptions += "registry_webhook_subscriptions{status=\"\(status)\"} \(value)\n"
            case "deliveries": deliveries += "registry_webhook_deliveries{status=\"\(status)\"} \(value)\n"
            default: lag += "registry_webhook_max_lag_events \(value)\n"
            }
        }
        return subscriptions + deliveries + lag
    }

    /// Import runs per domain and outcome, and the last applied run's duration and events.
    func importFigures() async throws -> String {
        var runs = "# TYPE registry_import_runs_total counter\n"
        var last = "# TYPE registry_import_last_applied_duration_seconds gauge\n"
        var events = "# TYPE registry_import_last_applied_events gauge\n"
        var seq = "# TYPE registry_change_event_last_seq gauge\n"
        let rows = try await client.query(
            """
            SELECT domain, outcome, count(*)::bigint FROM import_run GROUP BY domain, outcome ORDER BY domain, outcome
            """, logger: logger)
        for try await (domain, outcome, count) in rows.decode((String, String, Int64).self) {
            runs += "registry_import_runs_total{domain=\"\(domain)\",outcome=\"\(outcome)\"} \(count)\n"
        }
        let latest = try await client.query(
            """
            SELECT DISTINCT ON (domain) domain, coalesce(duration_ms, 0)::bigint, events_emitted
            FROM import_run WHERE outcome = 'applied' ORDER BY domain, id DESC
            """, logger: logger)
        for try await (domain, milliseconds, emitted) in latest.decode((String, Int64, Int64).self) {
            last +=
                "registry_import_last_applied_duration_seconds{domain=\"\(domain)\"} \(Double(milliseconds) / 1000)\n"
            events += "registry_import_last_applied_events{domain=\"\(domain)\"} \(emitted)\n"
        }
        for try await value in try await client.query(
            "SELECT last_seq FROM change_event_counter WHERE id = 1", logger: logger
        ).decode(Int64.self) {
            seq += "registry_change_event_last_seq \(value)\n"
        }
        return runs + last + events + seq
    }

    /// Staleness per synchronised source, for alerts ("SAM not imported for 26 hours"): seconds
    /// since the last applied import and since the last check that reached the source. A source
    /// never imported or never checked successfully reports +Inf.
    func sourceFigures() async throws -> String {
        var imported = "# TYPE registry_source_seconds_since_import gauge\n"
        var checked = "# TYPE registry_source_seconds_since_successful_check gauge\n"
        for status in try await SourceSyncRepository(client: client, logger: logger).statuses() {
            let label = "{source=\"\(status.source)\"}"
            imported += "registry_source_seconds_since_import\(label) \(Self.gauge(status.secondsSinceImport))\n"
            checked +=
                "registry_source_seconds_since_successful_check\(label) \(Self.gauge(status.secondsSinceSuccessCheck))\n"
        }
        return imported + checked
    }

    static func gauge(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.3f", max(0, $0)) } ?? "+Inf"
    }
}
