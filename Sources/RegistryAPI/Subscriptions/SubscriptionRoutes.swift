import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore

/// `/v1/subscriptions`: webhook subscriptions of the calling client (all of them for `admin`),
/// their deliveries, manual retries, replays, pings and secret rotation. Every change is audited.
struct SubscriptionRoutes<Context: RequestContext>: Sendable {
    let client: PostgresClient
    let sender: WebhookSender
    let settings: WebhookSettings
    /// Shared by every route: unauthenticated refusals are sampled into the audit log.
    let refusals: RefusalSampler
    let logger: Logger

    var subscriptions: SubscriptionRepository {
        SubscriptionRepository(client: client, logger: logger, keys: settings.secretKeys)
    }
    var deliveries: DeliveryRepository { DeliveryRepository(client: client, logger: logger) }
    var auth: Authenticator { Authenticator(client: client, refusals: refusals, logger: logger) }
    var audit: AuditLog { AuditLog(client: client, logger: logger) }

    func register(on router: Router<Context>) {
        router.post("/v1/subscriptions") { request, context in try await create(request, context) }
        router.get("/v1/subscriptions") { request, context in try await list(request, context) }
        router.get("/v1/subscriptions/:id") { request, context in try await show(request, context) }
        router.patch("/v1/subscriptions/:id") { request, context in try await update(request, context) }
        router.delete("/v1/subscriptions/:id") { request, context in try await delete(request, context) }
        router.post("/v1/subscriptions/:id/secret/rotate") { request, context in try await rotate(request, context) }
        router.get("/v1/subscriptions/:id/deliveries") { request, context in try await listDeliveries(request, context)
        }
        router.post("/v1/subscriptions/:id/deliveries/:delivery/retry") { request, context in
            try await retry(request, context)
        }
        router.post("/v1/subscriptions/:id/replay") { request, context in try await replay(request, context) }
        router.post("/v1/subscriptions/:id/ping") { request, context in try await ping(request, context) }
        router.get("/v1/audit") { request, context in try await auditLog(request, context) }
    }

    /// The methods each subscription path accepts (for 405 answers with `Allow`).
    static func allowedMethods(path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "subscriptions" else { return nil }
        switch parts.count {
        case 2: return [.get, .head, .post]
        case 3: return [.get, .head, .patch, .delete]
        case 4 where parts[3] == "deliveries": return [.get, .head]
        case 4 where parts[3] == "replay" || parts[3] == "ping": return [.post]
        case 5 where parts[3] == "secret" && parts[4] == "rotate": return [.post]
        case 6 where parts[3] == "deliveries" && parts[5] == "retry": return [.post]
        default: return nil
        }
    }

    // MARK: - Handlers

    func create(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.create")
        return try await audited("subscription.create", caller: caller, target: nil, request: request) {
            let body = try await JSONBody.object(request, context: context)
            try Self.refuseUnknown(body, allowed: ["url", "types", "filter", "payload", "description", "after"])
            guard let url = body["url"] else { throw Problem.invalidBody("url is required.", pointer: "/url") }
            guard let types = body["types"] else {
                throw Problem.invalidBody("types is required (e.g. [\"sam.dmpp.*\"]).", pointer: "/types")
            }
            var after: Int64?
            if let value = body["after"], value != .null {
                guard case .number(let text) = value, let position = Int64(text), position >= 0 else {
                    throw Problem.invalidBody(
                        "after must be a feed position (an integer ≥ 0); leave it out to start from now.",
                        pointer: "/after")
                }
                after = position
            }
            let spec = SubscriptionSpec(
                url: try await checkedURL(url), types: try Self.types(types),
                filter: try Self.filter(body["filter"] ?? .object([:])),
                payload: try Self.payload(body["payload"] ?? .string("thin")),
                description: try Self.description(body["description"] ?? .null), after: after)
            let (record, secret): (SubscriptionRecord, WebhookSecret)
            do {
                (record, secret) = try await subscriptions.create(
                    clientId: caller.id, spec: spec, maxPerClient: settings.maxSubscriptionsPerClient)
            } catch let reached as SubscriptionLimitReached {
                WebhookLimitMetrics.refused("subscriptions_per_client")
                throw Problem(
                    .unprocessableContent, type: Problem.typeBase + "subscription-limit-reached",
                    title: "Subscription limit reached",
                    detail:
                        "This client has \(reached.count) subscriptions, the most one client may have (\(reached.limit)); delete one before creating another.",
                    extensions: ["limit": .number(String(reached.limit))])
            } catch let pruned as FeedPositionPruned {
                throw Problem(
                    .gone, type: Problem.typeBase + "feed-position-pruned", title: "Position no longer in the feed",
                    detail:
                        "after=\(pruned.requested) is outside the feed, which holds positions \(pruned.feedStart - 1) to the newest event.",
                    extensions: ["feedStart": .number(String(pruned.feedStart))])
            }
            var json = Self.json(record)
            if case .object(var members) = json {
                members["secret"] = .string(secret.text)
                json = .object(members)
            }
            var response = JSONResponse.make(json, request: request, cacheControl: "no-store")
            response.status = .created
            response.headers[.location] = "/v1/subscriptions/\(record.id)"
            return (response, record.id)
        }
    }

    func list(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.list")
        _ = try QueryParameters(request, allowed: [])
        let records = try await subscriptions.list(clientId: caller.has(.admin) ? nil : caller.id)
        return JSONResponse.make(
            .object(["items": .array(records.map(Self.json))]), request: request, cacheControl: "no-store")
    }

    func show(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.read")
        _ = try QueryParameters(request, allowed: [])
        let record = try await owned(context, caller)
        return JSONResponse.make(Self.json(record), request: request, cacheControl: "no-store")
    }

    func update(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.update")
        let id = try context.parameters.require("id")
        return try await audited("subscription.update", caller: caller, target: id, request: request) {
            _ = try await owned(context, caller)
            let body = try await JSONBody.object(request, context: context)
            try Self.refuseUnknown(body, allowed: ["url", "types", "filter", "payload", "status", "description"])
            var patch = SubscriptionPatch()
            if let url = body["url"] { patch.url = try await checkedURL(url) }
            if let types = body["types"] { patch.types = try Self.types(types) }
            if let filter = body["filter"] { patch.filter = try Self.filter(filter) }
            if let payload = body["payload"] { patch.payload = try Self.payload(payload) }
            if let description = body["description"] { patch.description = .some(try Self.description(description)) }
            if let status = body["status"] {
                guard case .string(let text) = status, text == "active" || text == "paused" else {
                    throw Problem.invalidBody(
                        "status must be \"active\" or \"paused\" (disabled is set by the dispatcher; active re-enables).",
                        pointer: "/status")
                }
                patch.status = SubscriptionRecord.Status(rawValue: text)
            }
            guard let record = try await subscriptions.update(id: id, clientId: scope(caller), patch: patch) else {
                throw Self.noSuchSubscription(id)
            }
            return (JSONResponse.make(Self.json(record), request: request, cacheControl: "no-store"), id)
        }
    }

    func delete(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.delete")
        let id = try context.parameters.require("id")
        return try await audited("subscription.delete", caller: caller, target: id, request: request) {
            guard try await subscriptions.delete(id: id, clientId: scope(caller)) else {
                throw Self.noSuchSubscription(id)
            }
            return (Response(status: .noContent), id)
        }
    }

    func rotate(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.rotate-secret")
        let id = try context.parameters.require("id")
        return try await audited("subscription.rotate-secret", caller: caller, target: id, request: request) {
            let body = try await JSONBody.object(request, context: context, optional: true)
            try Self.refuseUnknown(body, allowed: ["overlapSeconds"])
            var overlap = settings.secretOverlapSeconds
            if let value = body["overlapSeconds"] {
                guard case .number(let text) = value, let seconds = Int(text), (0...604_800).contains(seconds) else {
                    throw Problem.invalidBody(
                        "overlapSeconds must be an integer from 0 to 604800 (7 days).", pointer: "/overlapSeconds")
                }
                overlap = seconds
            }
            guard
                let (secret, expiresAt) = try await subscriptions.rotateSecret(
                    id: id, clientId: scope(caller), overlapSeconds: overlap)
            else { throw Self.noSuchSubscription(id) }
            let json: JSONValue = .object([
                "secret": .string(secret.text), "previousSecretExpiresAt": .string(expiresAt),
            ])
            return (JSONResponse.make(json, request: request, cacheControl: "no-store"), id)
        }
    }

    func listDeliveries(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "delivery.list")
        let record = try await owned(context, caller)
        let parameters = try QueryParameters(request, allowed: ["status", "before", "limit"])
        let status = parameters["status"]
        if let status, !DeliveryRepository.statuses.contains(status) {
            throw Problem.invalidParameter(
                "status",
                "status must be one of \(DeliveryRepository.statuses.joined(separator: ", ")), got '\(status)'.")
        }
        let before = try parameters.before("a delivery id")
        let limit = try parameters.limit(default: 50, maximum: 500)
        let items = try await deliveries.list(subscriptionId: record.id, status: status, before: before, limit: limit)
        var members: [String: JSONValue] = ["items": .array(items.map(Self.json))]
        if items.count == limit, let last = items.last {
            var query = "before=\(last.id)&limit=\(limit)"
            if let status { query += "&status=\(status)" }
            members["nextHref"] = .string("/v1/subscriptions/\(record.id)/deliveries?" + query)
        }
        return JSONResponse.make(.object(members), request: request, cacheControl: "no-store")
    }

    func retry(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "delivery.retry")
        let id = try context.parameters.require("id")
        let deliveryText = try context.parameters.require("delivery")
        return try await audited("delivery.retry", caller: caller, target: "\(id)/\(deliveryText)", request: request) {
            let record = try await owned(context, caller)
            guard let deliveryId = Int64(deliveryText), deliveryId > 0 else {
                throw Problem.invalidParameter(
                    "delivery", "The delivery id must be an integer > 0, got '\(deliveryText)'.")
            }
            switch try await deliveries.retry(subscriptionId: record.id, deliveryId: deliveryId) {
            case .queued:
                let json: JSONValue = .object(["id": .number(String(deliveryId)), "status": .string("pending")])
                var response = JSONResponse.make(json, request: request, cacheControl: "no-store")
                response.status = .accepted
                return (response, "\(id)/\(deliveryId)")
            case .notFound:
                throw Problem.notFound("Subscription \(id) has no delivery \(deliveryId).")
            case .notDead(let status):
                throw Problem(
                    .conflict, type: Problem.typeBase + "not-a-dead-letter", title: "Not a dead letter",
                    detail:
                        "Delivery \(deliveryId) is \(status); only dead letters are retried by hand (the others are delivered or on their way)."
                )
            }
        }
    }

    func replay(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.replay")
        let id = try context.parameters.require("id")
        return try await audited("subscription.replay", caller: caller, target: id, request: request) {
            let record = try await owned(context, caller)
            let body = try await JSONBody.object(request, context: context)
            try Self.refuseUnknown(body, allowed: ["fromSeq", "toSeq", "since", "until", "limit"])
            func position(_ name: String) throws -> Int64? {
                guard let value = body[name], value != .null else { return nil }
                guard case .number(let text) = value, let seq = Int64(text), seq >= 0 else {
                    throw Problem.invalidBody("\(name) must be a feed position (an integer ≥ 0).", pointer: "/\(name)")
                }
                return seq
            }
            func instant(_ name: String) throws -> String? {
                guard let value = body[name], value != .null else { return nil }
                guard case .string(let text) = value, let utc = Self.utcTimestamp(text) else {
                    throw Problem.invalidBody(
                        "\(name) must be an RFC 3339 timestamp such as 2026-11-27T10:00:00Z or 2026-11-27T11:00:00+01:00 (offset at most ±23:59).",
                        pointer: "/\(name)")
                }
                return utc
            }
            let fromSeq = try position("fromSeq")
            let toSeq = try position("toSeq")
            let since = try instant("since")
            let until = try instant("until")
            guard fromSeq != nil || since != nil else {
                throw Problem.invalidBody("Give where the replay starts: fromSeq (a feed position) or since (a time).")
            }
            if let fromSeq, let toSeq, toSeq < fromSeq {
                throw Problem.invalidBody("toSeq (\(toSeq)) is before fromSeq (\(fromSeq)).", pointer: "/toSeq")
            }
            let maximum = settings.replayMaxEvents
            var limit = maximum
            if let value = body["limit"] {
                guard case .number(let text) = value, let n = Int(text), n >= 1 else {
                    throw Problem.invalidBody(
                        "limit must be an integer from 1 to \(maximum).", pointer: "/limit")
                }
                guard n <= maximum else {
                    WebhookLimitMetrics.refused("replay_events")
                    var problem = Problem.invalidBody(
                        "limit must be an integer from 1 to \(maximum): one replay queues at most \(maximum) events; replay a longer range in several calls.",
                        pointer: "/limit")
                    problem.extensions["limit"] = .number(String(maximum))
                    throw problem
                }
                limit = n
            }
            let bounds = try await ChangeFeed(client: client, logger: logger).bounds()
            if let fromSeq, fromSeq < bounds.firstKept, bounds.firstKept > 1 {
                throw Problem(
                    .gone, type: Problem.typeBase + "feed-position-pruned", title: "Position no longer in the feed",
                    detail: "fromSeq=\(fromSeq) was pruned; the feed now starts at \(bounds.firstKept).",
                    extensions: ["feedStart": .number(String(bounds.firstKept))])
            }
            let outcome = try await deliveries.replay(
                subscriptionId: record.id, fromSeq: fromSeq, toSeq: toSeq, since: since, until: until, limit: limit,
                maxQueued: settings.maxQueuedDeliveries)
            let queued: Int64
            switch outcome {
            case .queued(let count): queued = count
            case .queueFull(let waiting, let requested, let cap):
                WebhookLimitMetrics.refused("queued_deliveries")
                var problem = Problem(
                    .tooManyRequests, type: Problem.typeBase + "delivery-queue-full", title: "Delivery queue full",
                    detail:
                        "Subscription \(record.id) has \(waiting) deliveries waiting; replaying \(requested) more would exceed the \(cap) a subscription may have queued. Nothing was queued: retry after the queue has drained, or replay a smaller range.",
                    extensions: [
                        "queued": .number(String(waiting)), "requested": .number(String(requested)),
                        "limit": .number(String(cap)),
                    ])
                problem.headers[.retryAfter] = String(Self.queueFullRetryAfterSeconds)
                throw problem
            }
            var response = JSONResponse.make(
                .object(["queued": .number(String(queued))]), request: request, cacheControl: "no-store")
            response.status = .accepted
            return (response, id)
        }
    }

    func ping(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.subscriptionsManage, for: request, action: "subscription.ping")
        let id = try context.parameters.require("id")
        return try await audited("subscription.ping", caller: caller, target: id, request: request) {
            let record = try await owned(context, caller)
            let (messageId, body, secrets): (String, String, [WebhookSecret])
            do {
                (messageId, body, secrets) = try await deliveries.pingMessage(
                    subscriptionId: record.id, keys: settings.secretKeys)
            } catch let error as SecretKeyringError {
                logger.error(
                    "ping: no signing secret", metadata: ["subscription": "\(record.id)", "error": "\(error)"])
                throw Problem(
                    .serviceUnavailable, type: Problem.typeBase + "secret-unavailable",
                    title: "Signing secret unavailable",
                    detail:
                        "The subscription's signing secret cannot be read with this server's keys; the operator must configure them."
                )
            }
            let result = await sender.send(
                url: record.url, messageId: messageId, body: Array(body.utf8), secrets: secrets)
            let delivered = if case .accepted = result.verdict { true } else { false }
            let deliveryId = try await deliveries.recordPing(
                subscriptionId: record.id, messageId: messageId, body: body, delivered: delivered,
                attempt: DeliveryRepository.PingAttempt(
                    at: result.at.timeIntervalSince1970, targetAddress: result.targetAddress,
                    statusCode: result.statusCode, latencyMs: result.latencyMs, responseBody: result.responseBody,
                    error: result.error))
            var json: [String: JSONValue] = [
                "deliveryId": .number(String(deliveryId)), "messageId": .string(messageId),
                "delivered": .bool(delivered),
                "latencyMs": .number(String(format: "%.3f", result.latencyMs)),
            ]
            if let code = result.statusCode { json["statusCode"] = .number(String(code)) }
            if let error = result.error { json["error"] = .string(error) }
            if let address = result.targetAddress { json["targetAddress"] = .string(address) }
            return (JSONResponse.make(.object(json), request: request, cacheControl: "no-store"), id)
        }
    }

    func auditLog(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try await auth.require(.admin, for: request, action: "audit.read")
        let parameters = try QueryParameters(request, allowed: ["before", "limit", "client", "action"])
        let before = try parameters.before("an audit entry id")
        let limit = try parameters.limit(default: 100, maximum: 1000)
        for name in ["client", "action"] {
            if let value = parameters[name], value.utf8.count > 100 {
                throw Problem.invalidParameter(name, "\(name) may have at most 100 characters.")
            }
        }
        let entries = try await audit.list(
            before: before, limit: limit, clientId: parameters["client"], action: parameters["action"])
        try await audit.record(
            AuditEntry(clientId: caller.id, action: "audit.read", target: "/v1/audit", outcome: .succeeded, status: 200)
        )
        var members: [String: JSONValue] = [
            "items": .array(
                try entries.map { entry in
                    var item: [String: JSONValue] = [
                        "id": .number(String(entry.id)), "at": .string(entry.at), "action": .string(entry.action),
                        "outcome": .string(entry.outcome.rawValue), "detail": try JSONValue.parse(entry.detail),
                    ]
                    if let client = entry.clientId { item["clientId"] = .string(client) }
                    if let target = entry.target { item["target"] = .string(target) }
                    if let status = entry.status { item["status"] = .number(String(status)) }
                    return .object(item)
                })
        ]
        if entries.count == limit, let last = entries.last {
            members["nextHref"] = .string("/v1/audit?before=\(last.id)&limit=\(limit)")
        }
        return JSONResponse.make(.object(members), request: request, cacheControl: "no-store")
    }

    // MARK: - Helpers

    /// Nil for admin (any subscription), else the caller's id.
    func scope(_ caller: APIClientRecord) -> String? { caller.has(.admin) ? nil : caller.id }

    /// The subscription of the path, if the caller may see it (another client's is a 404, not a 403:
    /// its existence is not disclosed).
    func owned(_ context: Context, _ caller: APIClientRecord) async throws -> SubscriptionRecord {
        let id = try context.parameters.require("id")
        guard Self.isSubscriptionId(id), let record = try await subscriptions.get(id: id, clientId: scope(caller))
        else {
            throw Self.noSuchSubscription(id)
        }
        return record
    }

    static func isSubscriptionId(_ id: String) -> Bool {
        id.hasPrefix("sub_") && id.utf8.count == 24
            && id.utf8.dropFirst(4).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func noSuchSubscription(_ id: String) -> Problem {
        Problem.notFound("No subscription \(id) among those this client may see.")
    }

    /// Runs a management action and writes its outcome to the audit log, whatever it is.
    func audited(
        _ action: String, caller: APIClientRecord, target: String?, request: Request,
        _ body: () async throws -> (Response, String?)
    ) async throws -> Response {
        do {
            let (response, resolvedTarget) = try await body()
            try await audit.record(
                AuditEntry(
                    clientId: caller.id, action: action, target: resolvedTarget ?? target, outcome: .succeeded,
                    status: Int(response.status.code)))
            return response
        } catch {
            // A foreign key to a subscription deleted while this request ran is a 404 too.
            let problem =
                (error as? Problem)
                ?? ((error as? PSQLError)?.serverInfo?[.sqlState] == "23503"
                    ? Self.noSuchSubscription(target ?? "") : nil)
            guard let problem else {
                try? await audit.record(
                    AuditEntry(clientId: caller.id, action: action, target: target, outcome: .failed, status: 500))
                throw error
            }
            try await audit.record(
                AuditEntry(
                    clientId: caller.id, action: action, target: target, outcome: .refused,
                    status: Int(problem.status.code), detail: .object(["detail": .string(problem.detail)])))
            throw problem
        }
    }

    /// The Retry-After of a replay refused because the queue is full.
    static var queueFullRetryAfterSeconds: Int { 60 }

    static func refuseUnknown(_ body: [String: JSONValue], allowed: Set<String>) throws {
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem.invalidBody(
                "Unknown member '\(unknown)'; this request accepts: \(allowed.sorted().joined(separator: ", ")).",
                pointer: "/\(unknown)")
        }
    }

    /// The URL as given, after the SSRF guard: its host must resolve, now, to allowed addresses only
    /// (checked again at every delivery).
    func checkedURL(_ value: JSONValue) async throws -> String {
        guard case .string(let text) = value else {
            throw Problem.invalidBody("url must be a string.", pointer: "/url")
        }
        let target: WebhookTarget
        switch WebhookTarget.parse(text) {
        case .success(let parsed): target = parsed
        case .failure(let refusal): throw Problem.invalidBody("url: \(refusal)", pointer: "/url")
        }
        if case .failure(let refusal) = await sender.checkedAddresses(of: target) {
            throw Problem.invalidBody("url: \(refusal)", pointer: "/url")
        }
        return text
    }

    static func types(_ value: JSONValue) throws -> [EventTypePattern] {
        guard case .array(let items) = value, (1...50).contains(items.count) else {
            throw Problem.invalidBody("types must be an array of 1 to 50 event types or patterns.", pointer: "/types")
        }
        return try items.enumerated().map { index, item in
            guard case .string(let text) = item, let pattern = EventTypePattern(text) else {
                throw Problem.invalidBody(
                    "types[\(index)] must be an event type or a pattern with * (e.g. sam.dmpp.*, sam.*.deleted).",
                    pointer: "/types/\(index)")
            }
            return pattern
        }
    }

    static func filter(_ value: JSONValue) throws -> SubscriptionFilter {
        do {
            return try SubscriptionFilter(json: value)
        } catch {
            throw Problem.invalidBody(error.description, pointer: "/filter")
        }
    }

    static func payload(_ value: JSONValue) throws -> SubscriptionRecord.Payload {
        guard case .string(let text) = value, let payload = SubscriptionRecord.Payload(rawValue: text) else {
            throw Problem.invalidBody("payload must be \"thin\" or \"full\".", pointer: "/payload")
        }
        return payload
    }

    static func description(_ value: JSONValue) throws -> String? {
        switch value {
        case .null: return nil
        case .string(let text)
        where text.utf8.count <= 500
            && text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }):
            return text
        default:
            throw Problem.invalidBody(
                "description must be a string of at most 500 bytes without control characters.",
                pointer: "/description")
        }
    }

    /// An RFC 3339 timestamp rewritten in UTC (any offset the text carries is applied here, so the
    /// database never sees an offset it would refuse), or nil when the text is not one: strictly
    /// the grammar of RFC 3339 section 5.6 (offsets up to ±23:59, a real date, no leap second).
    static func utcTimestamp(_ text: String) -> String? {
        RFC3339Timestamp(text)?.utcText
    }

    static func json(_ record: SubscriptionRecord) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(record.id), "clientId": .string(record.clientId), "url": .string(record.url),
            "types": .array(record.types.map(JSONValue.string)),
            "filter": (try? JSONValue.parse(record.filter)) ?? .object([:]),
            "payload": .string(record.payload.rawValue),
            "status": .string(record.status.rawValue), "createdAt": .string(record.createdAt),
            "updatedAt": .string(record.updatedAt), "position": .number(String(record.cursor)),
            "queued": .number(String(record.queued)),
            "deliveriesHref": .string("/v1/subscriptions/\(record.id)/deliveries"),
        ]
        if let reason = record.statusReason { members["statusReason"] = .string(reason) }
        if let description = record.description { members["description"] = .string(description) }
        if let since = record.failingSince { members["failingSince"] = .string(since) }
        if let expiry = record.previousSecretExpiresAt { members["previousSecretExpiresAt"] = .string(expiry) }
        return .object(members)
    }

    static func json(_ delivery: DeliveryRecord) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .number(String(delivery.id)), "kind": .string(delivery.kind),
            "messageId": .string(delivery.messageId),
            "eventType": .string(delivery.eventType), "status": .string(delivery.status),
            "attempts": .number(String(delivery.attempts)), "createdAt": .string(delivery.createdAt),
            "attemptLog": .array(
                delivery.attemptLog.map { attempt in
                    var item: [String: JSONValue] = [
                        "attempt": .number(String(attempt.attempt)), "at": .string(attempt.at),
                    ]
                    if let address = attempt.targetAddress { item["targetAddress"] = .string(address) }
                    if let code = attempt.statusCode { item["statusCode"] = .number(String(code)) }
                    if let latency = attempt.latencyMs { item["latencyMs"] = .number(String(format: "%.3f", latency)) }
                    if let body = attempt.responseBody { item["responseBody"] = .string(body) }
                    if let error = attempt.error { item["error"] = .string(error) }
                    return .object(item)
                }),
        ]
        if let seq = delivery.eventSeq { members["eventSeq"] = .number(String(seq)) }
        if let next = delivery.nextAttemptAt { members["nextAttemptAt"] = .string(next) }
        if let finished = delivery.finishedAt { members["finishedAt"] = .string(finished) }
        if let error = delivery.lastError { members["lastError"] = .string(error) }
        return .object(members)
    }
}

/// The webhook settings the API needs (the dispatcher has its own copy in DispatcherSettings).
public struct WebhookSettings: Sendable {
    public var addressPolicy: TargetAddressPolicy
    public var secretOverlapSeconds: Int
    public var timeouts: SendTimeouts
    /// Resolves target host names (the system resolver; tests pin names to addresses).
    public var lookUp: WebhookSender.LookUp = WebhookSender.lookUp(host:)
    /// Encrypts new signing secrets and reads stored ones (the `registry` commands always configure it).
    public var secretKeys: SecretKeyring = .plaintext
    /// Most events one replay call queues (`limit` above it is refused with 422).
    public var replayMaxEvents = 10_000
    /// Most deliveries a subscription may have waiting (pending or retrying); a replay beyond it is
    /// refused with 429.
    public var maxQueuedDeliveries = 50_000
    /// Most subscriptions one client may have; creating one more is refused with 422.
    public var maxSubscriptionsPerClient = 100

    public init(
        addressPolicy: TargetAddressPolicy = TargetAddressPolicy(), secretOverlapSeconds: Int = 86400,
        timeouts: SendTimeouts = SendTimeouts()
    ) {
        self.addressPolicy = addressPolicy
        self.secretOverlapSeconds = secretOverlapSeconds
        self.timeouts = timeouts
    }
}
