import DatabaseTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import Testing

/// Delivery to a real HTTP receiver on loopback, with the dispatcher on a real PostgreSQL.
@Suite(.timeLimit(.minutes(5)))
struct DeliveryTests {
    @Test func everyMatchingEventArrivesOnceInOrderSignedAsStandardWebhooksSays() async throws {
        try await DispatchFixture.with(seed: 61) { fixture in
            let (subscription, secret) = try await fixture.subscribe(types: ["sam.company.*", "sam.vmp_group.*"])
            let expected = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type LIKE 'sam.company.%' OR type LIKE 'sam.vmp\\_group.%' ORDER BY seq"
            )
            #expect(expected.count > 10)
            try await fixture.dispatching {
                #expect(
                    await eventually {
                        let recorded = try? await fixture.count(
                            "SELECT count(*) FROM delivery WHERE subscription_id = \(subscription.id) AND status = 'succeeded'"
                        )
                        return recorded == Int64(expected.count)
                    })
            }
            let received = fixture.receiver.all
            #expect(received.map(\.id) == expected)
            // The body is the feed's envelope of that event.
            for webhook in received.prefix(5) {
                let json = try #require(webhook.json)
                #expect(json["id"] as? String == webhook.id)
                #expect(
                    (json["type"] as? String).map { $0.hasPrefix("sam.company.") || $0.hasPrefix("sam.vmp_group.") }
                        == true)
                #expect((json["data"] as? [String: Any])?["key"] != nil)
            }
            // Our own check and the independent Python library agree that every signature is valid.
            for webhook in received {
                #expect(
                    WebhookSigner.verify(
                        header: webhook.signature, id: webhook.id, timestamp: Int64(webhook.timestamp)!,
                        body: webhook.body, secret: secret))
            }
            let verdict = try await StandardWebhooksChecker.verify(received, secret: secret)
            #expect(verdict.ok == received.count, "\(verdict.bad)")
            // A tampered body fails both.
            var tampered = received[0]
            tampered.body += Array(" ".utf8)
            #expect(try await StandardWebhooksChecker.verify([tampered], secret: secret).ok == 0)
            #expect(
                !WebhookSigner.verify(
                    header: tampered.signature, id: tampered.id, timestamp: Int64(tampered.timestamp)!,
                    body: tampered.body, secret: secret))
            // Every delivery is recorded as succeeded with its attempt.
            let succeeded = try await fixture.count(
                "SELECT count(*) FROM delivery WHERE subscription_id = \(subscription.id) AND status = 'succeeded'")
            let attempts = try await fixture.count(
                """
                SELECT count(*) FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id
                WHERE d.subscription_id = \(subscription.id) AND a.status_code = 204 AND a.latency_ms > 0
                """)
            #expect(succeeded == Int64(expected.count))
            #expect(attempts == Int64(expected.count))
        }
    }

    @Test func aFailingReceiverGetsRetriesWithTheSameIdAndNoEventOvertakesAnother() async throws {
        let receiver = WebhookReceiver { _, _, seen in
            seen < 2 ? ReceiverAnswer(status: .internalServerError, body: "try later") : ReceiverAnswer()
        }
        try await DispatchFixture.with(seed: 62, receiver: receiver) { fixture in
            let actors = try await fixture.postgres.strings(
                "SELECT key ->> 'actorNr' FROM change_event WHERE type = 'sam.company.created' ORDER BY seq LIMIT 3")
            let filter = try SubscriptionFilter(
                json: .object(["actorNr": .object(["in": .array(actors.map(JSONValue.string))])]))
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"], filter: filter)
            let expected = try await fixture.postgres.strings(
                """
                SELECT id FROM change_event WHERE type LIKE 'sam.company.%' AND key ->> 'actorNr' = ANY(\(actors)) ORDER BY seq
                """)
            #expect(expected.count == 3)
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= 9 })
                #expect(await fixture.succeeded(3))
            }
            // Three tries each, same webhook-id, and the next event only after the previous one was
            // accepted. Under the full suite's load an answer can miss the dispatcher's deadline: it
            // then records a transport failure (no status) and tries again, so the receiver may
            // see an event a fourth time, still before the next one.
            let received = fixture.receiver.all.map(\.id)
            var runs: [(id: String, count: Int)] = []
            for id in received {
                if runs.last?.id == id { runs[runs.count - 1].count += 1 } else { runs.append((id, 1)) }
            }
            #expect(runs.map(\.id) == expected, "\(received)")
            #expect(runs.allSatisfy { $0.count >= 3 }, "\(received)")
            let rows = try await fixture.postgres.query(
                """
                SELECT d.status, d.attempts, array_agg(coalesce(a.status_code, 0) ORDER BY a.attempt),
                       array_agg(coalesce(a.response_body, '') ORDER BY a.attempt)
                FROM delivery d JOIN delivery_attempt a ON a.delivery_id = d.id
                WHERE d.subscription_id = \(subscription.id) GROUP BY d.id ORDER BY d.id
                """, logger: fixture.logger)
            var seen = 0
            for try await (status, attempts, codes, bodies) in rows.decode((String, Int, [Int], [String]).self) {
                seen += 1
                #expect(status == "succeeded" && attempts == codes.count)
                #expect(codes.filter { $0 != 0 } == [500, 500, 204], "\(codes)")
                #expect(bodies[0] == "try later")
            }
            #expect(seen == 3)
        }
    }

    @Test func aDeadLetterLetsTheQueueMoveOnAndAManualRetryDeliversIt() async throws {
        let receiver = WebhookReceiver()
        try await DispatchFixture.with(seed: 63, receiver: receiver) { fixture in
            let first = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type = 'sam.company.created' ORDER BY seq LIMIT 2")
            receiver.setScript { _, id, _ in id == first[0] ? ReceiverAnswer(status: .badGateway) : ReceiverAnswer() }
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"])
            let total = try await fixture.count("SELECT count(*) FROM change_event WHERE type LIKE 'sam.company.%'")
            try await fixture.dispatching([DispatchFixture.settings(schedule: "0.1s,0.1s")]) {
                #expect(await eventually { receiver.all.count >= Int(total) + 2 })
                let dead = try await fixture.postgres.strings(
                    "SELECT message_id FROM delivery WHERE subscription_id = \(subscription.id) AND status = 'dead'")
                #expect(dead == [first[0]])
                // The first try and two retries, then the second event.
                #expect(receiver.all.prefix(4).map(\.id) == [first[0], first[0], first[0], first[1]])
                let deliveries = DeliveryRepository(client: fixture.postgres, logger: fixture.logger)
                let deadId: Int64 = try await fixture.postgres.scalar(
                    "SELECT id FROM delivery WHERE subscription_id = \(subscription.id) AND status = 'dead'")
                receiver.setScript { _, _, _ in ReceiverAnswer() }
                #expect(try await deliveries.retry(subscriptionId: subscription.id, deliveryId: deadId) == .queued)
                #expect(await eventually { receiver.all.filter { $0.id == first[0] }.count == 4 })
                #expect(
                    await eventually {
                        (try? await fixture.postgres.strings(
                            "SELECT status || ':' || attempts FROM delivery WHERE id = \(deadId)")) == ["succeeded:4"]
                    })
                // Only dead letters can be retried by hand.
                #expect(
                    try await deliveries.retry(subscriptionId: subscription.id, deliveryId: deadId)
                        == .notDead(status: "succeeded"))
                #expect(try await deliveries.retry(subscriptionId: "sub_nope", deliveryId: deadId) == .notFound)
            }
        }
    }

    @Test func goneDisablesRedirectsAreNotFollowedAndRetryAfterIsHonoured() async throws {
        let receiver = WebhookReceiver { path, _, _ in
            switch path {
            case "/gone": return ReceiverAnswer(status: .gone)
            case "/redirect": return ReceiverAnswer(status: .found, headers: [.location: "/target"])
            case "/throttle": return ReceiverAnswer(status: .tooManyRequests, headers: [.retryAfter: "4"])
            default: return ReceiverAnswer()
            }
        }
        try await DispatchFixture.with(seed: 64, receiver: receiver) { fixture in
            let (gone, _) = try await fixture.subscribe(path: "/gone", types: ["sam.company.*"])
            let (redirect, _) = try await fixture.subscribe(path: "/redirect", types: ["sam.company.*"])
            let (throttle, _) = try await fixture.subscribe(path: "/throttle", types: ["sam.company.*"])
            try await fixture.dispatching {
                #expect(
                    await eventually {
                        let status = try? await fixture.postgres.strings(
                            "SELECT status FROM subscription WHERE id = \(gone.id)")
                        return receiver.at("/redirect").count >= 2 && receiver.at("/throttle").count >= 1
                            && status == ["disabled"]
                    })
                try await Task.sleep(for: .seconds(1))
            }
            #expect(receiver.at("/gone").count == 1)
            #expect(receiver.at("/target").isEmpty)
            let reason = try await fixture.postgres.strings(
                "SELECT status_reason FROM subscription WHERE id = \(gone.id)")
            #expect(reason.first?.contains("410") == true)
            let redirectErrors = try await fixture.postgres.strings(
                """
                SELECT a.error FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id
                WHERE d.subscription_id = \(redirect.id) AND a.status_code = 302
                """)
            #expect(!redirectErrors.isEmpty && redirectErrors.allSatisfy { $0.contains("redirect") })
            // Retry-After: 4 outweighs the 0.2 s schedule: one try so far, the next not before 4 s.
            #expect(receiver.at("/throttle").count == 1)
            let wait: Double = try await fixture.postgres.scalar(
                """
                SELECT extract(epoch FROM d.next_attempt_at - a.at)::float8 FROM delivery d
                JOIN delivery_attempt a ON a.delivery_id = d.id WHERE d.subscription_id = \(throttle.id)
                """)
            #expect(wait >= 3.9 && wait < 6)
        }
    }

    @Test func aSubscriptionFailingWithoutASuccessForTooLongIsDisabled() async throws {
        let receiver = WebhookReceiver { _, _, _ in ReceiverAnswer(status: .internalServerError) }
        try await DispatchFixture.with(seed: 70, receiver: receiver) { fixture in
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"])
            // Failing for more than 1.5 s (the production default is 5 days) with retries every 0.3 s.
            var settings = DispatchFixture.settings(
                schedule: Array(repeating: "0.3s", count: 30).joined(separator: ","))
            settings.retryPolicy.disableAfterSeconds = 1.5
            try await fixture.dispatching([settings]) {
                #expect(
                    await eventually(timeout: .seconds(20)) {
                        (try? await fixture.postgres.strings(
                            "SELECT status FROM subscription WHERE id = \(subscription.id)")) == ["disabled"]
                    })
            }
            let reason = try await fixture.postgres.strings(
                "SELECT status_reason FROM subscription WHERE id = \(subscription.id)")
            #expect(reason == ["deliveries failed without a success for too long"])
            // It failed for at least that long first (retries of the first event only) before the verdict.
            #expect(receiver.all.count >= 2)
            #expect(Set(receiver.all.map(\.id)).count == 1)
            let failedFor: Double = try await fixture.postgres.scalar(
                """
                SELECT extract(epoch FROM s.updated_at - min(a.at))::float8
                FROM subscription s JOIN delivery d ON d.subscription_id = s.id
                JOIN delivery_attempt a ON a.delivery_id = d.id
                WHERE s.id = \(subscription.id) GROUP BY s.updated_at
                """)
            #expect(failedFor >= 1.5)
            // Re-activating it clears the verdict; the queued event is delivered once the receiver is back.
            var patch = SubscriptionPatch()
            patch.status = .active
            let resumed = try await SubscriptionRepository(
                client: fixture.postgres, logger: fixture.logger, keys: DispatchFixture.keys
            ).update(
                id: subscription.id, clientId: nil, patch: patch)
            #expect(resumed?.status == .active && resumed?.statusReason == nil && resumed?.failingSince == nil)
            receiver.setScript { _, _, _ in ReceiverAnswer() }
            try await fixture.dispatching([settings]) {
                #expect(
                    await eventually {
                        let head = try? await fixture.postgres.strings(
                            "SELECT status FROM delivery WHERE subscription_id = \(subscription.id) ORDER BY id LIMIT 1"
                        )
                        return head == ["succeeded"]
                    })
            }
        }
    }

    @Test func aReceiverThatTimesOutDoesNotDelayTheOthers() async throws {
        let receiver = WebhookReceiver { path, _, _ in
            path == "/slow" ? ReceiverAnswer(delay: .seconds(4)) : ReceiverAnswer()
        }
        try await DispatchFixture.with(seed: 65, receiver: receiver) { fixture in
            let (slow, _) = try await fixture.subscribe(path: "/slow", types: ["sam.company.*"])
            _ = try await fixture.subscribe(path: "/fast", types: ["sam.company.*"])
            let total = try await fixture.count("SELECT count(*) FROM change_event WHERE type LIKE 'sam.company.%'")
            var settings = DispatchFixture.settings(schedule: "30s")
            settings.timeouts = SendTimeouts(connect: .seconds(1), response: .seconds(1))
            try await fixture.dispatching([settings]) {
                #expect(await eventually(timeout: .seconds(10)) { receiver.at("/fast").count >= Int(total) })
                #expect(
                    await eventually {
                        (try? await fixture.postgres.strings(
                            """
                            SELECT a.error FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id
                            WHERE d.subscription_id = \(slow.id)
                            """)) == ["timed out"]
                    })
            }
            #expect(receiver.at("/slow").count == 1)
        }
    }

    @Test func replayResendsARangeInOrderWithTheOriginalIds() async throws {
        try await DispatchFixture.with(seed: 66) { fixture in
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*", "sam.vmp_group.*"])
            let ids = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type LIKE ANY ('{sam.company.%,sam.vmp\\_group.%}') ORDER BY seq")
            let seqs = try await fixture.eventSeqs(like: ["sam.company.%", "sam.vmp\\_group.%"])
            #expect(seqs.count > 6)
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= ids.count })
                let queued = try await DeliveryRepository(client: fixture.postgres, logger: fixture.logger).replay(
                    subscriptionId: subscription.id, fromSeq: seqs[2], toSeq: seqs[5], since: nil, until: nil,
                    limit: 1000)
                #expect(queued == .queued(4))
                #expect(await eventually { fixture.receiver.all.count >= ids.count + 4 })
                #expect(await fixture.succeeded(4, kind: "replay"))
            }
            #expect(fixture.receiver.all.map(\.id) == ids + ids[2...5])
            let kinds = try await fixture.postgres.strings(
                "SELECT kind FROM delivery WHERE subscription_id = \(subscription.id) AND kind = 'replay' AND status = 'succeeded'"
            )
            #expect(kinds.count == 4)
        }
    }

    @Test func duringARotationBothSignaturesAreSentAndThenOnlyTheNewOne() async throws {
        try await DispatchFixture.with(seed: 67) { fixture in
            let (subscription, old) = try await fixture.subscribe(types: ["sam.company.*"])
            let seqs = try await fixture.eventSeqs(like: ["sam.company.%"])
            let subscriptions = SubscriptionRepository(
                client: fixture.postgres, logger: fixture.logger, keys: DispatchFixture.keys)
            let replays = DeliveryRepository(client: fixture.postgres, logger: fixture.logger)
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= seqs.count })
                let (new, _) = try #require(
                    try await subscriptions.rotateSecret(id: subscription.id, clientId: nil, overlapSeconds: 6))
                _ = try await replays.replay(
                    subscriptionId: subscription.id, fromSeq: seqs[0], toSeq: seqs[0], since: nil, until: nil, limit: 1)
                #expect(await eventually { fixture.receiver.all.count >= seqs.count + 1 })
                let during = fixture.receiver.all.last!
                #expect(during.signature.split(separator: " ").count == 2)
                #expect(try await StandardWebhooksChecker.verify([during], secret: old).ok == 1)
                #expect(try await StandardWebhooksChecker.verify([during], secret: new).ok == 1)
                // The overlap leaves room for a loaded machine (the whole suite runs in parallel).
                try await Task.sleep(for: .milliseconds(6200))
                _ = try await replays.replay(
                    subscriptionId: subscription.id, fromSeq: seqs[1], toSeq: seqs[1], since: nil, until: nil, limit: 1)
                #expect(await eventually { fixture.receiver.all.count >= seqs.count + 2 })
                let after = fixture.receiver.all.last!
                #expect(after.signature.split(separator: " ").count == 1)
                #expect(try await StandardWebhooksChecker.verify([after], secret: old).ok == 0)
                #expect(try await StandardWebhooksChecker.verify([after], secret: new).ok == 1)
            }
        }
    }

    @Test func twoDispatchersDeliverEachEventExactlyOncePerSubscription() async throws {
        try await DispatchFixture.with(seed: 68) { fixture in
            for index in 0..<6 {
                _ = try await fixture.subscribe(path: "/s\(index)", types: ["sam.company.*", "sam.vmp.*"])
            }
            let expected = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type LIKE 'sam.company.%' OR type LIKE 'sam.vmp.%' ORDER BY seq")
            // Three subscriptions at a time each, so both take a share of the six.
            var one = DispatchFixture.settings(worker: "one")
            one.concurrency = 3
            var two = DispatchFixture.settings(worker: "two")
            two.concurrency = 3
            try await fixture.dispatching([one, two]) {
                #expect(await eventually { fixture.receiver.all.count >= expected.count * 6 })
                #expect(await fixture.succeeded(expected.count * 6))
            }
            for index in 0..<6 {
                #expect(fixture.receiver.at("/s\(index)").map(\.id) == expected)
            }
            // Both did part of the work.
            let workers = try await fixture.postgres.strings(
                "SELECT DISTINCT dispatcher FROM delivery_attempt ORDER BY 1")
            #expect(workers == ["one", "two"])
        }
    }

    @Test func targetsOnForbiddenAddressesAreRefusedAtDeliveryTime() async throws {
        try await DispatchFixture.with(seed: 69) { fixture in
            let port = fixture.base.split(separator: ":").last!
            let owner = try await fixture.client()
            let subscriptions = SubscriptionRepository(
                client: fixture.postgres, logger: fixture.logger, keys: DispatchFixture.keys)
            var ids: [String] = []
            for url in [
                "http://127.0.0.1:\(port)/a", "http://localhost:\(port)/b", "http://[::ffff:127.0.0.1]:\(port)/c",
                "http://[::1]:\(port)/d", "http://2130706433:\(port)/e", "https://127.0.0.1:\(port)/f",
            ] {
                let (record, _) = try await subscriptions.create(
                    clientId: owner.id,
                    spec: SubscriptionSpec(
                        url: url, types: [EventTypePattern("sam.company.*")!], filter: SubscriptionFilter(),
                        payload: .thin, description: nil, after: 0))
                ids.append(record.id)
            }
            var settings = DispatchFixture.settings(schedule: "60s")
            settings.addressPolicy = TargetAddressPolicy()
            try await fixture.dispatching([settings]) {
                #expect(
                    await eventually {
                        ((try? await fixture.count("SELECT count(DISTINCT d.subscription_id) FROM delivery d")) ?? 0)
                            == 6
                    })
            }
            #expect(fixture.receiver.all.isEmpty)
            let errors = try await fixture.postgres.strings(
                "SELECT a.error FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id ORDER BY d.subscription_id"
            )
            #expect(errors.count == 6)
            #expect(errors.allSatisfy { $0.contains("loopback") }, "\(errors)")
        }
    }
}
