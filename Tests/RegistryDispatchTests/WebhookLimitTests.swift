import DatabaseTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryDispatch
import RegistryStore
import Testing

/// What one client can make the database hold: subscriptions, events per replay, queued deliveries.
@Suite(.timeLimit(.minutes(5)))
struct WebhookLimitTests {
    /// The refusals counted for `limit` in /metrics.
    static func refusals(_ api: Routed, _ limit: String, token: String) async throws -> Int {
        let text = String(decoding: try await api.call(.get, "/metrics", token: token).body, as: UTF8.self)
        let prefix = "registry_webhook_limit_refusals_total{limit=\"\(limit)\"} "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(Double(line.dropFirst(prefix.count)) ?? 0)
    }

    @Test func aClientCannotHaveMoreSubscriptionsThanTheLimit() async throws {
        try await DispatchFixture.with { fixture in
            let (_, alice) = try await fixture.token([.subscriptionsManage])
            let (_, scraper) = try await fixture.token([.metricsRead])
            let (_, bob) = try await fixture.token([.subscriptionsManage])
            try await fixture.api(configure: { $0.maxSubscriptionsPerClient = 2 }) { api in
                let before = try await Self.refusals(api, "subscriptions_per_client", token: scraper)
                let body = #"{"url": "\#(fixture.base)/hook", "types": ["sam.*"]}"#
                for _ in 0..<2 {
                    #expect(try await api.call(.post, "/v1/subscriptions", token: alice, body: body).status == .created)
                }
                let third = try await api.call(.post, "/v1/subscriptions", token: alice, body: body)
                #expect(third.status == .unprocessableContent)
                #expect(third.headers[.contentType] == "application/problem+json")
                #expect(
                    third.json["type"] as? String == "https://registry.example.be/problems/subscription-limit-reached")
                #expect(third.json["limit"] as? Int == 2)
                #expect((third.json["detail"] as? String)?.contains("2") == true)
                // Another client has its own allowance; deleting one makes room again.
                #expect(try await api.call(.post, "/v1/subscriptions", token: bob, body: body).status == .created)
                let mine = try await api.call(.get, "/v1/subscriptions", token: alice)
                let first = try #require(mine.items.first?["id"] as? String)
                #expect(try await api.call(.delete, "/v1/subscriptions/\(first)", token: alice).status == .noContent)
                #expect(try await api.call(.post, "/v1/subscriptions", token: alice, body: body).status == .created)
                #expect(try await Self.refusals(api, "subscriptions_per_client", token: scraper) >= before + 1)
            }
            #expect(try await fixture.count("SELECT count(*) FROM subscription") == 3)
        }
    }

    @Test func replaysAreCappedInEventsAndInQueuedDeliveries() async throws {
        try await DispatchFixture.with(seed: 97) { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            let (_, scraper) = try await fixture.token([.metricsRead])
            try await fixture.api(configure: {
                $0.replayMaxEvents = 5
                $0.maxQueuedDeliveries = 8
            }) { api in
                let created = try await api.call(
                    .post, "/v1/subscriptions", token: token,
                    body: #"{"url": "\#(fixture.base)/hook", "types": ["sam.*"]}"#)
                let id = try #require(created.json["id"] as? String)
                let replayEventsBefore = try await Self.refusals(api, "replay_events", token: scraper)
                let queueBefore = try await Self.refusals(api, "queued_deliveries", token: scraper)

                let tooMany = try await api.call(
                    .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"fromSeq": 1, "limit": 6}"#)
                #expect(tooMany.status == .unprocessableContent)
                #expect(tooMany.json["pointer"] as? String == "/limit")
                #expect(tooMany.json["limit"] as? Int == 5)
                // Without a limit, the maximum applies.
                let first = try await api.call(
                    .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"fromSeq": 1}"#)
                #expect(first.status == .accepted)
                #expect(first.json["queued"] as? Int == 5)
                // 5 queued + 5 more would be 10 > 8: refused whole, nothing queued.
                let full = try await api.call(
                    .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"fromSeq": 1}"#)
                #expect(full.status == .tooManyRequests)
                #expect(full.headers[.retryAfter] == "60")
                #expect(full.headers[.contentType] == "application/problem+json")
                #expect(full.json["type"] as? String == "https://registry.example.be/problems/delivery-queue-full")
                #expect(full.json["queued"] as? Int == 5 && full.json["limit"] as? Int == 8)
                #expect(try await fixture.count("SELECT count(*) FROM delivery WHERE subscription_id = \(id)") == 5)
                // What still fits is accepted.
                let fits = try await api.call(
                    .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"fromSeq": 1, "limit": 3}"#)
                #expect(fits.status == .accepted && fits.json["queued"] as? Int == 3)
                #expect(try await Self.refusals(api, "replay_events", token: scraper) >= replayEventsBefore + 1)
                #expect(try await Self.refusals(api, "queued_deliveries", token: scraper) >= queueBefore + 1)
            }
        }
    }

    @Test func concurrentReplaysTogetherStayUnderTheQueueLimit() async throws {
        try await DispatchFixture.with(seed: 98) { fixture in
            let (subscription, _) = try await fixture.subscribe(types: ["sam.*"])
            let deliveries = DeliveryRepository(client: fixture.postgres, logger: fixture.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        _ = try await deliveries.replay(
                            subscriptionId: subscription.id, fromSeq: 1, toSeq: nil, since: nil, until: nil, limit: 4,
                            maxQueued: 10)
                    }
                }
                try await group.waitForAll()
            }
            #expect(
                try await fixture.count("SELECT count(*) FROM delivery WHERE subscription_id = \(subscription.id)")
                    == 8)
        }
    }
}
