import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore

/// `/v1/subscriptions`: webhook subscriptions of the calling client (all of them for `admin`),
/// their deliveries, manual retries, replays, pings and secret rotation. Every change is audited.
struct SubscriptionRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let sender: WebhookSender
    let settings: WebhookSettings
    let logger: Logger

    var subscriptions: SubscriptionRepository {
        SubscriptionRepository(client: client, logger: logger, keys: settings.secretKeys)
    }
    var deliveries: DeliveryRepository { DeliveryRepository(client: client, logger: logger) }
    var audit: AuditLog { AuditLog(client: client, logger: logger) }

    func register(on routes: RouteRegistrar<Context>) {
        let manage = Scope.subscriptionsManage
        routes.post("/v1/subscriptions", .client(manage, action: "subscription.create")) { try await create($0, $1) }
        routes.get("/v1/subscriptions", .client(manage, action: "subscription.list")) { try await list($0, $1) }
        routes.get("/v1/subscriptions/:id", .client(manage, action: "subscription.read")) { try await show($0, $1) }
        routes.patch("/v1/subscriptions/:id", .client(manage, action: "subscription.update")) {
            try await update($0, $1)
        }
        routes.delete("/v1/subscriptions/:id", .client(manage, action: "subscription.delete")) {
            try await delete($0, $1)
        }
        routes.post("/v1/subscriptions/:id/secret/rotate", .client(manage, action: "subscription.rotate-secret")) {
            try await rotate($0, $1)
        }
        routes.get("/v1/subscriptions/:id/deliveries", .client(manage, action: "delivery.list")) {
            try await listDeliveries($0, $1)
        }
        routes.post("/v1/subscriptions/:id/deliveries/:delivery/retry", .client(manage, action: "delivery.retry")) {
            try await retry($0, $1)
        }
        routes.post("/v1/subscriptions/:id/replay", .client(manage, action: "subscription.replay")) {
            try await replay($0, $1)
        }
        routes.post("/v1/subscriptions/:id/ping", .client(manage, action: "subscription.ping")) {
            try await ping($0, $1)
        }
        routes.get("/v1/audit", .client(.admin, action: "audit.read")) { try await auditLog($0, $1) }
    }

    // MARK: - Handlers

    func create(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        return try await audited("subscription.create", caller: caller, target: nil, request: request) {
            let body = try CreateSubscriptionBody(try await JSONBody.object(request, context: context))
            try await checkAddresses(of: body.target)
            let spec = SubscriptionSpec(
                url: body.url, types: body.types, filter: body.filter, payload: body.payload,
                description: body.description, after: body.after)
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
            var json = SubscriptionRendering.json(record)
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
        let caller = try context.caller
        _ = try QueryParameters(request, allowed: [])
        let records = try await subscriptions.list(clientId: caller.has(.admin) ? nil : caller.id)
        return JSONResponse.make(
            .object(["items": .array(records.map(SubscriptionRendering.json))]), request: request,
            cacheControl: "no-store")
    }

    func show(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        _ = try QueryParameters(request, allowed: [])
        let record = try await owned(context, caller)
        return JSONResponse.make(SubscriptionRendering.json(record), request: request, cacheControl: "no-store")
    }

    func update(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        let id = try context.parameters.require("id")
        return try await audited("subscription.update", caller: caller, target: id, request: request) {
            _ = try await owned(context, caller)
            let body = try SubscriptionPatchBody(try await JSONBody.object(request, context: context))
            var patch = body.patch
            if let target = body.target {
                try await checkAddresses(of: target.parsed)
                patch.url = target.url
            }
            guard let record = try await subscriptions.update(id: id, clientId: scope(caller), patch: patch) else {
                throw Self.noSuchSubscription(id)
            }
            return (
                JSONResponse.make(SubscriptionRendering.json(record), request: request, cacheControl: "no-store"), id
            )
        }
    }

    func delete(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        let id = try context.parameters.require("id")
        return try await audited("subscription.delete", caller: caller, target: id, request: request) {
            guard try await subscriptions.delete(id: id, clientId: scope(caller)) else {
                throw Self.noSuchSubscription(id)
            }
            return (Response(status: .noContent), id)
        }
    }

    func rotate(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
        let id = try context.parameters.require("id")
        return try await audited("subscription.rotate-secret", caller: caller, target: id, request: request) {
            let body = try RotateSecretBody(try await JSONBody.object(request, context: context, optional: true))
            let overlap = body.overlapSeconds ?? settings.secretOverlapSeconds
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
        let caller = try context.caller
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
        var members: [String: JSONValue] = ["items": .array(items.map(SubscriptionRendering.json))]
        if items.count == limit, let last = items.last {
            var query = "before=\(last.id)&limit=\(limit)"
            if let status { query += "&status=\(status)" }
            members["nextHref"] = .string("/v1/subscriptions/\(record.id)/deliveries?" + query)
        }
        return JSONResponse.make(.object(members), request: request, cacheControl: "no-store")
    }

    func retry(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
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
        let caller = try context.caller
        let id = try context.parameters.require("id")
        return try await audited("subscription.replay", caller: caller, target: id, request: request) {
            let record = try await owned(context, caller)
            let body: ReplayBody
            do {
                body = try ReplayBody(
                    try await JSONBody.object(request, context: context), maximum: settings.replayMaxEvents)
            } catch let refused as ReplayBody.LimitAboveMaximum {
                WebhookLimitMetrics.refused("replay_events")
                throw refused.problem
            }
            let (fromSeq, toSeq, since, until, limit) = (body.fromSeq, body.toSeq, body.since, body.until, body.limit)
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
        let caller = try context.caller
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
            let json = SubscriptionRendering.ping(
                deliveryId: deliveryId, messageId: messageId, delivered: delivered, result: result)
            return (JSONResponse.make(json, request: request, cacheControl: "no-store"), id)
        }
    }

    func auditLog(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller
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
        var members: [String: JSONValue] = ["items": .array(try entries.map(SubscriptionRendering.json))]
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

    /// The SSRF guard at subscription time: the target's host must resolve, now, to allowed
    /// addresses only (checked again at every delivery).
    func checkAddresses(of target: WebhookTarget) async throws {
        if case .failure(let refusal) = await sender.checkedAddresses(of: target) {
            throw Problem.invalidBody("url: \(refusal)", pointer: "/url")
        }
    }
}
