import Foundation
import RegistryCore
import RegistryStore

/// The bodies the subscription routes accept, decoded into typed values by pure functions: an
/// unknown member, a missing one or a wrong type is a 422 problem whose `pointer` names it.
/// Checks that need the network (the target's addresses) are the handler's.
struct CreateSubscriptionBody: Equatable {
    var target: WebhookTarget
    var url: String
    var types: [EventTypePattern]
    var filter: SubscriptionFilter
    var payload: SubscriptionRecord.Payload
    var description: String?
    /// Where delivery starts (a feed position); nil: from now.
    var after: Int64?

    init(_ body: [String: JSONValue]) throws {
        try SubscriptionBodies.refuseUnknown(
            body, allowed: ["url", "types", "filter", "payload", "description", "after"])
        guard let url = body["url"] else { throw Problem.invalidBody("url is required.", pointer: "/url") }
        guard let types = body["types"] else {
            throw Problem.invalidBody("types is required (e.g. [\"sam.dmpp.*\"]).", pointer: "/types")
        }
        if let value = body["after"], value != .null {
            guard case .number(let text) = value, let position = Int64(text), position >= 0 else {
                throw Problem.invalidBody(
                    "after must be a feed position (an integer ≥ 0); leave it out to start from now.",
                    pointer: "/after")
            }
            after = position
        }
        (self.url, target) = try SubscriptionBodies.url(url)
        self.types = try SubscriptionBodies.types(types)
        filter = try SubscriptionBodies.filter(body["filter"] ?? .object([:]))
        payload = try SubscriptionBodies.payload(body["payload"] ?? .string("thin"))
        description = try SubscriptionBodies.description(body["description"] ?? .null)
    }
}

/// `PATCH /v1/subscriptions/{id}`: the members given, each checked like at creation.
struct SubscriptionPatchBody {
    /// The new target, when `url` is given (its addresses are checked by the handler).
    var target: (url: String, parsed: WebhookTarget)?
    var patch = SubscriptionPatch()

    init(_ body: [String: JSONValue]) throws {
        try SubscriptionBodies.refuseUnknown(
            body, allowed: ["url", "types", "filter", "payload", "status", "description"])
        if let url = body["url"] { target = try SubscriptionBodies.url(url) }
        if let types = body["types"] { patch.types = try SubscriptionBodies.types(types) }
        if let filter = body["filter"] { patch.filter = try SubscriptionBodies.filter(filter) }
        if let payload = body["payload"] { patch.payload = try SubscriptionBodies.payload(payload) }
        if let description = body["description"] {
            patch.description = .some(try SubscriptionBodies.description(description))
        }
        if let status = body["status"] {
            guard case .string(let text) = status, text == "active" || text == "paused" else {
                throw Problem.invalidBody(
                    "status must be \"active\" or \"paused\" (disabled is set by the dispatcher; active re-enables).",
                    pointer: "/status")
            }
            patch.status = SubscriptionRecord.Status(rawValue: text)
        }
    }
}

/// `POST /v1/subscriptions/{id}/secret/rotate`: how long the previous secret stays valid.
struct RotateSecretBody: Equatable {
    var overlapSeconds: Int?

    init(_ body: [String: JSONValue]) throws {
        try SubscriptionBodies.refuseUnknown(body, allowed: ["overlapSeconds"])
        if let value = body["overlapSeconds"] {
            guard case .number(let text) = value, let seconds = Int(text), (0...604_800).contains(seconds) else {
                throw Problem.invalidBody(
                    "overlapSeconds must be an integer from 0 to 604800 (7 days).", pointer: "/overlapSeconds")
            }
            overlapSeconds = seconds
        }
    }
}

/// `POST /v1/subscriptions/{id}/replay`: a range of the feed by position or time, and how many
/// events at most (`maximum` is the server's limit).
struct ReplayBody: Equatable {
    var fromSeq: Int64?
    var toSeq: Int64?
    /// RFC 3339 instants rewritten in UTC.
    var since: String?
    var until: String?
    var limit: Int

    /// Whether `limit` was refused for being above the server's maximum (counted in /metrics).
    struct LimitAboveMaximum: Error { let problem: Problem }

    init(_ body: [String: JSONValue], maximum: Int) throws {
        try SubscriptionBodies.refuseUnknown(body, allowed: ["fromSeq", "toSeq", "since", "until", "limit"])
        func position(_ name: String) throws -> Int64? {
            guard let value = body[name], value != .null else { return nil }
            guard case .number(let text) = value, let seq = Int64(text), seq >= 0 else {
                throw Problem.invalidBody("\(name) must be a feed position (an integer ≥ 0).", pointer: "/\(name)")
            }
            return seq
        }
        func instant(_ name: String) throws -> String? {
            guard let value = body[name], value != .null else { return nil }
            guard case .string(let text) = value, let utc = SubscriptionBodies.utcTimestamp(text) else {
                throw Problem.invalidBody(
                    "\(name) must be an RFC 3339 timestamp such as 2026-11-27T10:00:00Z or 2026-11-27T11:00:00+01:00 (offset at most ±23:59).",
                    pointer: "/\(name)")
            }
            return utc
        }
        fromSeq = try position("fromSeq")
        toSeq = try position("toSeq")
        since = try instant("since")
        until = try instant("until")
        guard fromSeq != nil || since != nil else {
            throw Problem.invalidBody("Give where the replay starts: fromSeq (a feed position) or since (a time).")
        }
        if let fromSeq, let toSeq, toSeq < fromSeq {
            throw Problem.invalidBody("toSeq (\(toSeq)) is before fromSeq (\(fromSeq)).", pointer: "/toSeq")
        }
        limit = maximum
        if let value = body["limit"] {
            guard case .number(let text) = value, let n = Int(text), n >= 1 else {
                throw Problem.invalidBody("limit must be an integer from 1 to \(maximum).", pointer: "/limit")
            }
            guard n <= maximum else {
                var problem = Problem.invalidBody(
                    "limit must be an integer from 1 to \(maximum): one replay queues at most \(maximum) events; replay a longer range in several calls.",
                    pointer: "/limit")
                problem.extensions["limit"] = .number(String(maximum))
                throw LimitAboveMaximum(problem: problem)
            }
            limit = n
        }
    }
}

/// The member checks the bodies share.
enum SubscriptionBodies {
    static func refuseUnknown(_ body: [String: JSONValue], allowed: Set<String>) throws {
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem.invalidBody(
                "Unknown member '\(unknown)'; this request accepts: \(allowed.sorted().joined(separator: ", ")).",
                pointer: "/\(unknown)")
        }
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
    /// A webhook URL: a string that parses as an allowed target (its addresses are checked later).
    static func url(_ value: JSONValue) throws -> (String, WebhookTarget) {
        guard case .string(let text) = value else {
            throw Problem.invalidBody("url must be a string.", pointer: "/url")
        }
        switch WebhookTarget.parse(text) {
        case .success(let parsed): return (text, parsed)
        case .failure(let refusal): throw Problem.invalidBody("url: \(refusal)", pointer: "/url")
        }
    }
}
