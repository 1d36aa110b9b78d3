import Foundation
import RegistryCore
import RegistryDispatch
import RegistryStore

/// The JSON of subscriptions, deliveries, pings and audit entries: pure functions of the records.
enum SubscriptionRendering {
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

    static func json(_ entry: AuditEntry) throws -> JSONValue {
        var item: [String: JSONValue] = [
            "id": .number(String(entry.id)), "at": .string(entry.at), "action": .string(entry.action),
            "outcome": .string(entry.outcome.rawValue), "detail": try JSONValue.parse(entry.detail),
        ]
        if let client = entry.clientId { item["clientId"] = .string(client) }
        if let target = entry.target { item["target"] = .string(target) }
        if let status = entry.status { item["status"] = .number(String(status)) }
        return .object(item)
    }

    /// What `POST …/ping` answers: the delivery recorded and how the target responded.
    static func ping(deliveryId: Int64, messageId: String, delivered: Bool, result: AttemptResult) -> JSONValue {
        var json: [String: JSONValue] = [
            "deliveryId": .number(String(deliveryId)), "messageId": .string(messageId),
            "delivered": .bool(delivered),
            "latencyMs": .number(String(format: "%.3f", result.latencyMs)),
        ]
        if let code = result.statusCode { json["statusCode"] = .number(String(code)) }
        if let error = result.error { json["error"] = .string(error) }
        if let address = result.targetAddress { json["targetAddress"] = .string(address) }
        return .object(json)
    }
}
