import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import ServiceLifecycle

/// `GET /v1/changes`: the gap-free change feed, with long-polling.
struct ChangeRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let retentionDays: Int
    /// A long poll ends this long at the latest, so that it answers before the request deadline.
    var longPollCeiling: Duration = .seconds(30)
    let logger: Logger

    var feed: ChangeFeed { ChangeFeed(client: client, logger: logger) }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/changes") { request, context in try await changes(request, context) }
    }

    static var maximumWait: Int { 30 }

    func changes(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["after", "limit", "types", "wait"])
        var after: Int64 = 0
        if let text = parameters["after"] {
            guard let value = Int64(text), value >= 0 else {
                throw Problem.invalidParameter(
                    "after", "after must be a sequence number (an integer ≥ 0), got '\(text)'.")
            }
            after = value
        }
        let limit = try parameters.limit(default: 100, maximum: 1000)
        var wait = 0
        if let text = parameters["wait"] {
            guard let value = Int(text), (0...Self.maximumWait).contains(value) else {
                throw Problem.invalidParameter(
                    "wait", "wait must be a number of seconds from 0 to \(Self.maximumWait), got '\(text)'.")
            }
            wait = value
        }
        var types: [EventTypePattern] = []
        if let text = parameters["types"] {
            for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let pattern = EventTypePattern(String(item)) else {
                    throw Problem.invalidParameter(
                        "types",
                        "types must be event types or patterns with * (e.g. sam.dmpp.*,sam.*.deleted), got '\(item)'.")
                }
                types.append(pattern)
            }
            guard types.count <= 50 else {
                throw Problem.invalidParameter("types", "types may list at most 50 patterns, got \(types.count).")
            }
        }

        var (events, next, bounds) = try await feed.events(after: after, limit: limit, types: types)
        if after < bounds.firstKept - 1 {
            throw Problem(
                .gone, type: Problem.typeBase + "feed-position-pruned", title: "Position no longer in the feed",
                detail:
                    "Events up to seq \(bounds.firstKept - 1) were removed after \(retentionDays) days; the feed now starts at seq \(bounds.firstKept). Resynchronise from the lookups, then follow the feed from after=\(bounds.firstKept - 1).",
                extensions: ["feedStart": .number(String(bounds.firstKept))])
        }
        if after > bounds.last {
            throw Problem.invalidParameter(
                "after",
                "after=\(after) is beyond the newest event (seq \(bounds.last)); no event has been published there.")
        }
        // Long-poll: look again every 200 ms until something arrives or the wait is over.
        let deadline = ContinuousClock.now + min(.seconds(wait), longPollCeiling)
        while events.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            (events, next, bounds) = try await feed.events(after: after, limit: limit, types: types)
        }
        var query = "after=\(next)&limit=\(limit)"
        if let text = parameters["types"] { query += "&types=" + text }
        let items: [JSONValue] = try events.map { try $0.envelope() }
        let body: JSONValue = .object([
            "items": .array(items), "next": .number(String(next)), "nextHref": .string("/v1/changes?" + query),
            "feedStart": .number(String(bounds.firstKept)),
        ])
        return JSONResponse.make(body, request: request, cacheControl: "no-store")
    }
}

/// Once an hour: removes change events older than the feed retention and audit entries past theirs.
struct RetentionService: Service {
    let client: PostgresClient
    let retentionDays: Int
    /// The audit log is pruned on the same hourly round.
    var auditRetention = AuditLog.Retention()
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let removed = try await ChangeFeed(client: client, logger: logger).prune(
                        olderThanDays: retentionDays)
                    if removed > 0 { logger.info("change feed pruned", metadata: ["events": "\(removed)"]) }
                    let entries = try await AuditLog(client: client, logger: logger).prune(auditRetention)
                    if entries > 0 { logger.info("audit log pruned", metadata: ["entries": "\(entries)"]) }
                } catch {
                    logger.warning("change feed pruning failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
