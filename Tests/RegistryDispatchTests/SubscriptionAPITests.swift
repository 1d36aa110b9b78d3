import DatabaseTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryDispatch
import RegistryStore
import Testing

/// Answers of the real router (HummingbirdTesting), parsed with Foundation.
struct RoutedAnswer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    var items: [[String: Any]] { (json["items"] as? [[String: Any]]) ?? [] }
}

struct Routed: Sendable {
    let client: any TestClientProtocol

    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil) async throws
        -> RoutedAnswer
    {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            RoutedAnswer(
                status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }
}

extension DispatchFixture {
    /// The API on this fixture's database through the real router; webhooks may reach loopback.
    func api(
        configure: (inout WebhookSettings) -> Void = { _ in }, _ body: @Sendable (Routed) async throws -> Void
    ) async throws {
        var settings = ServerSettings(logLevel: .warning)
        settings.webhooks = WebhookSettings(
            addressPolicy: try TargetAddressPolicy.parse(allowList: "127.0.0.0/8,::1").get(),
            timeouts: SendTimeouts(connect: .seconds(2), response: .seconds(2)))
        settings.webhooks.secretKeys = Self.keys
        configure(&settings.webhooks)
        let app = try RegistryApplication.make(client: postgres, settings: settings, logger: logger, runsClient: false)
        try await app.test(.router) { client in try await body(Routed(client: client)) }
    }

    func token(_ scopes: [Scope]) async throws -> (APIClientRecord, String) {
        let (record, token) = try await ClientRepository(client: postgres, logger: logger).create(
            name: "api test", scopes: scopes)
        return (record, token.text)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SubscriptionAPITests {
    @Test func managementRoutesNeedAValidTokenWithTheScope() async throws {
        try await DispatchFixture.with { fixture in
            let (reader, readerToken) = try await fixture.token([.providersSensitive])
            let (revoked, revokedToken) = try await fixture.token([.subscriptionsManage])
            _ = try await ClientRepository(client: fixture.postgres, logger: fixture.logger).revoke(id: revoked.id)
            try await fixture.api { api in
                let missing = try await api.call(.get, "/v1/subscriptions")
                #expect(missing.status == .unauthorized)
                #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(missing.headers[.contentType] == "application/problem+json")
                #expect(
                    try await api.call(.get, "/v1/subscriptions", token: "rgt_" + String(repeating: "x", count: 43))
                        .status == .unauthorized)
                #expect(try await api.call(.get, "/v1/subscriptions", token: "not-a-token").status == .unauthorized)
                #expect(try await api.call(.get, "/v1/subscriptions", token: revokedToken).status == .unauthorized)
                let forbidden = try await api.call(.get, "/v1/subscriptions", token: readerToken)
                #expect(forbidden.status == .forbidden)
                #expect(forbidden.json["requiredScope"] as? String == "subscriptions:manage")
                #expect(try await api.call(.get, "/v1/audit", token: readerToken).status == .forbidden)
            }
            // Every refusal is in the audit log, with the client when it was known.
            let refusals = try await fixture.postgres.strings(
                "SELECT coalesce(client_id, '-') || ' ' || action || ' ' || status FROM audit_entry WHERE outcome = 'refused' ORDER BY id"
            )
            #expect(
                refusals == [
                    "- subscription.list 401", "- subscription.list 401", "- subscription.list 401",
                    "- subscription.list 401", "\(reader.id) subscription.list 403", "\(reader.id) audit.read 403",
                ])
        }
    }

    @Test func aClientSeesAndManagesOnlyItsOwnSubscriptionsAndAdminSeesAll() async throws {
        try await DispatchFixture.with { fixture in
            let (alice, aliceToken) = try await fixture.token([.subscriptionsManage])
            let (_, bobToken) = try await fixture.token([.subscriptionsManage])
            let (_, adminToken) = try await fixture.token([.admin])
            try await fixture.api { api in
                let created = try await api.call(
                    .post, "/v1/subscriptions", token: aliceToken,
                    body:
                        #"{"url": "\#(fixture.base)/alice", "types": ["sam.dmpp.*"], "filter": {"code": {"in": ["0123456"]}}, "description": "formulary"}"#
                )
                #expect(created.status == .created)
                let id = try #require(created.json["id"] as? String)
                #expect(created.headers[.location] == "/v1/subscriptions/\(id)")
                #expect((created.json["secret"] as? String)?.hasPrefix("whsec_") == true)
                #expect(created.json["clientId"] as? String == alice.id)
                #expect(created.json["status"] as? String == "active")
                #expect(created.json["payload"] as? String == "thin")
                // The secret is shown once: never in later answers.
                let shown = try await api.call(.get, "/v1/subscriptions/\(id)", token: aliceToken)
                #expect(shown.status == .ok && shown.json["secret"] == nil)
                #expect(
                    ((shown.json["filter"] as? [String: Any])?["code"] as? [String: Any])?["in"] as? [String] == [
                        "0123456"
                    ])

                #expect(try await api.call(.get, "/v1/subscriptions/\(id)", token: bobToken).status == .notFound)
                #expect(try await api.call(.get, "/v1/subscriptions", token: bobToken).items.isEmpty)
                #expect(try await api.call(.delete, "/v1/subscriptions/\(id)", token: bobToken).status == .notFound)
                #expect(
                    try await api.call(
                        .patch, "/v1/subscriptions/\(id)", token: bobToken, body: #"{"status": "paused"}"#
                    )
                    .status == .notFound)
                #expect(
                    try await api.call(.get, "/v1/subscriptions", token: adminToken).items.map { $0["id"] as? String }
                        == [id])

                let paused = try await api.call(
                    .patch, "/v1/subscriptions/\(id)", token: aliceToken,
                    body: #"{"status": "paused", "description": null}"#)
                #expect(paused.status == .ok)
                #expect(paused.json["status"] as? String == "paused")
                #expect(paused.json["description"] == nil)
                #expect(paused.json["types"] as? [String] == ["sam.dmpp.*"])

                let rotated = try await api.call(
                    .post, "/v1/subscriptions/\(id)/secret/rotate", token: aliceToken, body: #"{"overlapSeconds": 60}"#)
                #expect(rotated.status == .ok)
                #expect((rotated.json["secret"] as? String)?.hasPrefix("whsec_") == true)
                #expect(rotated.json["secret"] as? String != created.json["secret"] as? String)
                #expect(rotated.json["previousSecretExpiresAt"] is String)

                #expect(try await api.call(.delete, "/v1/subscriptions/\(id)", token: aliceToken).status == .noContent)
                #expect(try await api.call(.get, "/v1/subscriptions/\(id)", token: aliceToken).status == .notFound)

                // The admin reads the audit log: every management action, newest first.
                let audit = try await api.call(.get, "/v1/audit?limit=10", token: adminToken)
                #expect(audit.status == .ok)
                let actions = audit.items.map { "\($0["action"] as? String ?? "") \($0["outcome"] as? String ?? "")" }
                #expect(
                    Array(actions.prefix(5)) == [
                        "subscription.delete succeeded", "subscription.rotate-secret succeeded",
                        "subscription.update succeeded", "subscription.update refused", "subscription.delete refused",
                    ])
                #expect(audit.items.first?["clientId"] as? String == alice.id)
                #expect(audit.items.first?["target"] as? String == id)
            }
        }
    }

    @Test func badRequestsGetSpecificProblemsAndChangeNothing() async throws {
        try await DispatchFixture.with { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            try await fixture.api { api in
                let cases: [(String, HTTPResponse.Status, String)] = [
                    (#"{"types": ["sam.*"]}"#, .unprocessableContent, "/url"),
                    (#"{"url": "\#(fixture.base)/x"}"#, .unprocessableContent, "/types"),
                    (#"{"url": "\#(fixture.base)/x", "types": ["SAM DMPP"]}"#, .unprocessableContent, "/types/0"),
                    (#"{"url": "\#(fixture.base)/x", "types": []}"#, .unprocessableContent, "/types"),
                    (
                        #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "filter": {"code": {"like": "1"}}}"#,
                        .unprocessableContent, "/filter"
                    ),
                    (
                        #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "payload": "fat"}"#, .unprocessableContent,
                        "/payload"
                    ),
                    (
                        #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "colour": "red"}"#, .unprocessableContent,
                        "/colour"
                    ),
                    (#"{"url": "ftp://example.org/x", "types": ["sam.*"]}"#, .unprocessableContent, "/url"),
                    (#"{"url": "http://10.1.2.3/x", "types": ["sam.*"]}"#, .unprocessableContent, "/url"),
                    (
                        #"{"url": "http://169.254.169.254/latest/meta-data", "types": ["sam.*"]}"#,
                        .unprocessableContent, "/url"
                    ),
                    (#"{"url": "http://[fd00::1]/x", "types": ["sam.*"]}"#, .unprocessableContent, "/url"),
                    (#"{"url": "http://user:pw@127.0.0.1/x", "types": ["sam.*"]}"#, .unprocessableContent, "/url"),
                    (
                        #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "after": -1}"#, .unprocessableContent,
                        "/after"
                    ),
                ]
                for (body, status, pointer) in cases {
                    let answer = try await api.call(.post, "/v1/subscriptions", token: token, body: body)
                    #expect(answer.status == status, "\(body)")
                    #expect(answer.json["pointer"] as? String == pointer, "\(body) → \(answer.json)")
                    #expect((answer.json["detail"] as? String)?.isEmpty == false)
                }
                #expect(
                    try await api.call(.post, "/v1/subscriptions", token: token, body: "{not json").status
                        == .badRequest)
                // NUL characters (which PostgreSQL text cannot hold) are refused, and the refusal is still audited.
                for body in [
                    #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "filter": {"a\u0000b": null}}"#,
                    #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "filter": {"code": {"in": ["\u0000"]}}}"#,
                    #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "description": "a\u0000b"}"#,
                ] {
                    let answer = try await api.call(.post, "/v1/subscriptions", token: token, body: body)
                    #expect(answer.status == .unprocessableContent, "\(body)")
                }
                let (_, admin) = try await fixture.token([.admin])
                #expect(try await api.call(.get, "/v1/audit?action=a%00b", token: admin).status == .badRequest)
                #expect(
                    try await api.call(.post, "/v1/subscriptions", token: token, body: "[1]").status
                        == .unprocessableContent)
                let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
                #expect(try await api.call(.post, "/v1/subscriptions", token: token, body: deep).status == .badRequest)
                let future = try await api.call(
                    .post, "/v1/subscriptions", token: token,
                    body: #"{"url": "\#(fixture.base)/x", "types": ["sam.*"], "after": 999999}"#)
                #expect(future.status == .gone)
                #expect(
                    try await api.call(.put, "/v1/subscriptions", token: token, body: "{}").status == .methodNotAllowed)
                let wrongMethod = try await api.call(.post, "/v1/medicines/cnk/0123456")
                #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.headers[.allow] == "GET, HEAD")
                #expect(try await api.call(.get, "/v1/subscriptions/sub_x'--", token: token).status == .notFound)
                #expect(
                    try await api.call(
                        .get, "/v1/subscriptions/sub_0123456789abcdef0123/deliveries?status=lost", token: token
                    )
                    .status == .notFound)
            }
            #expect(try await fixture.count("SELECT count(*) FROM subscription") == 0)
        }
    }

    @Test func deliveriesReplayRetryAndPingThroughTheAPI() async throws {
        let receiver = WebhookReceiver()
        try await DispatchFixture.with(seed: 71, receiver: receiver) { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            let firstCompany = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type = 'sam.company.created' ORDER BY seq LIMIT 1")[0]
            receiver.setScript { _, id, _ in
                id == firstCompany ? ReceiverAnswer(status: .serviceUnavailable, body: "down") : ReceiverAnswer()
            }
            let total = Int(
                try await fixture.count("SELECT count(*) FROM change_event WHERE type LIKE 'sam.company.%'"))
            try await fixture.api { api in
                let created = try await api.call(
                    .post, "/v1/subscriptions", token: token,
                    body: #"{"url": "\#(fixture.base)/hook", "types": ["sam.company.*"], "after": 0}"#)
                let id = try #require(created.json["id"] as? String)
                let secret = try #require(WebhookSecret(created.json["secret"] as? String ?? ""))

                let ping = try await api.call(.post, "/v1/subscriptions/\(id)/ping", token: token)
                #expect(ping.status == .ok)
                #expect(ping.json["delivered"] as? Bool == true)
                #expect(ping.json["statusCode"] as? Int == 204)
                let pinged = try #require(receiver.all.first)
                #expect(pinged.json?["type"] as? String == "webhook.ping")
                #expect(try await StandardWebhooksChecker.verify([pinged], secret: secret).ok == 1)

                try await fixture.dispatching([DispatchFixture.settings(schedule: "0.1s")]) {
                    #expect(await eventually { receiver.at("/hook").count >= total + 1 })
                    let dead = try await api.call(.get, "/v1/subscriptions/\(id)/deliveries?status=dead", token: token)
                    #expect(dead.status == .ok)
                    #expect(dead.items.count == 1)
                    let deadItem = try #require(dead.items.first)
                    #expect(deadItem["messageId"] as? String == firstCompany)
                    let log = (deadItem["attemptLog"] as? [[String: Any]]) ?? []
                    #expect(log.map { $0["statusCode"] as? Int } == [503, 503])
                    #expect(log.first?["responseBody"] as? String == "down")
                    // Operators see it in /metrics, read from the database (every dispatcher's work).
                    let (_, scraper) = try await fixture.token([.metricsRead])
                    let metrics = String(
                        decoding: try await api.call(.get, "/metrics", token: scraper).body, as: UTF8.self)
                    #expect(metrics.contains("registry_webhook_deliveries{status=\"dead\"} 1"))
                    #expect(metrics.contains("registry_webhook_subscriptions{status=\"active\"} 1"))
                    #expect(metrics.contains("registry_webhook_max_lag_events "))

                    let notDead = try await api.call(
                        .get, "/v1/subscriptions/\(id)/deliveries?status=succeeded&limit=1", token: token)
                    #expect(notDead.items.count == 1)
                    #expect((notDead.json["nextHref"] as? String)?.contains("before=") == true)
                    let succeededId = try #require(notDead.items.first?["id"] as? Int)
                    #expect(
                        try await api.call(
                            .post, "/v1/subscriptions/\(id)/deliveries/\(succeededId)/retry", token: token
                        )
                        .status == .conflict)

                    receiver.setScript { _, _, _ in ReceiverAnswer() }
                    let deadId = try #require(deadItem["id"] as? Int)
                    let retried = try await api.call(
                        .post, "/v1/subscriptions/\(id)/deliveries/\(deadId)/retry", token: token)
                    #expect(retried.status == .accepted)
                    #expect(await eventually { receiver.all.filter { $0.id == firstCompany }.count == 3 })

                    let replay = try await api.call(
                        .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"fromSeq": 1, "limit": 2}"#)
                    #expect(replay.status == .accepted)
                    #expect(replay.json["queued"] as? Int == 2)
                    #expect(await eventually { receiver.at("/hook").count >= total + 2 + 2 })
                    let badReplay = try await api.call(
                        .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"toSeq": 4}"#)
                    #expect(badReplay.status == .unprocessableContent)
                }
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct FullPayloadTests {
    @Test func fullPayloadsCarryTheEntityExactlyAsTheLookupAnswersItWithHistory() async throws {
        try await DispatchFixture.with(seed: 72) { fixture in
            let owner = try await fixture.client()
            let first = try await fixture.postgres.strings(
                "SELECT key ->> 'code' FROM change_event WHERE type = 'sam.amp.created' ORDER BY seq LIMIT 3")
            let filter = try SubscriptionFilter(
                json: .object(["code": .object(["in": .array(first.map(JSONValue.string))])]))
            _ = try await SubscriptionRepository(
                client: fixture.postgres, logger: fixture.logger, keys: DispatchFixture.keys
            ).create(
                clientId: owner.id,
                spec: SubscriptionSpec(
                    url: fixture.base + "/full",
                    types: [EventTypePattern("sam.amp.*")!, EventTypePattern("sam.dmpp.*")!],
                    filter: filter, payload: .full, description: nil, after: 0))
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= 3 })
            }
            let received = fixture.receiver.all
            #expect(received.count == 3)
            try await fixture.api { api in
                for webhook in received {
                    let data = try #require(webhook.json?["data"] as? [String: Any])
                    let href = try #require(data["href"] as? String)
                    let entity = try #require(data["entity"] as? [String: Any])
                    let lookup = try await api.call(.get, href + "?history=true")
                    #expect(lookup.status == .ok)
                    // Same members and values: compared as sorted-key JSON written by Foundation from both sides.
                    let sent = try JSONSerialization.data(withJSONObject: entity, options: [.sortedKeys])
                    let answered = try JSONSerialization.data(withJSONObject: lookup.json, options: [.sortedKeys])
                    #expect(sent == answered, "\(href)")
                    #expect(entity["history"] as? Bool == true)
                    #expect(((entity["amp"] as? [String: Any])?["slices"] as? [Any])?.isEmpty == false)
                }
            }
        }
    }
}
