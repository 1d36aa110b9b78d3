import DatabaseTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import Testing

/// Receivers whose answers cannot be stored as they are, and a database that refuses to record a
/// round: every attempt is recorded (or the subscription held off), never a tight resend loop.
@Suite(.timeLimit(.minutes(5)))
struct HostileReceiverTests {
    static func answer(_ kind: String) -> ReceiverAnswer {
        switch kind {
        case "nul": ReceiverAnswer(status: .internalServerError, bytes: Array("bad\0answer\0".utf8))
        case "invalid-utf8": ReceiverAnswer(status: .internalServerError, bytes: [0x62, 0xFF, 0xFE, 0xC3, 0x28, 0x00])
        case "huge": ReceiverAnswer(status: .internalServerError, bytes: [UInt8](repeating: 0x41, count: 10 << 20))
        case "broken": ReceiverAnswer(status: .ok, bytes: [UInt8](repeating: 0x42, count: 100_000), breakOffAfter: 10)
        default: ReceiverAnswer()
        }
    }

    /// Requests that reached `path` within `window` after the first one.
    static func requests(at path: String, _ receiver: WebhookReceiver, within window: Duration) -> Int {
        let arrivals = receiver.at(path).map(\.arrived)
        guard let first = arrivals.first else { return 0 }
        return arrivals.filter { $0 - first <= window }.count
    }

    @Test(arguments: ["nul", "invalid-utf8", "huge", "broken"])
    func everyAttemptIsRecordedWithBackoff(kind: String) async throws {
        let receiver = WebhookReceiver { path, _, _ in Self.answer(String(path.dropFirst())) }
        try await DispatchFixture.with(seed: 91, receiver: receiver) { fixture in
            let (subscription, _) = try await fixture.subscribe(path: "/\(kind)", types: ["sam.company.*"])
            try await fixture.dispatching([DispatchFixture.settings(schedule: "2s,2s,2s,2s,2s,2s")]) {
                #expect(await eventually { receiver.at("/\(kind)").count >= 1 })
                try await Task.sleep(for: .seconds(5))
                // Retries every 2 s: at most 3 requests in 5 s (a resend loop made thousands).
                #expect(Self.requests(at: "/\(kind)", receiver, within: .seconds(5)) <= 3)
                #expect(
                    await eventually {
                        let attempts = try? await fixture.count(
                            """
                            SELECT count(*) FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id
                            WHERE d.subscription_id = \(subscription.id)
                            """)
                        return (attempts ?? 0) >= 2
                    })
            }
            let rows = try await fixture.postgres.query(
                """
                SELECT d.status, d.attempts, d.next_attempt_at > max(a.at), count(a.*),
                       coalesce(max(octet_length(a.response_body)), 0), bool_and(\(kind) <> 'nul' OR coalesce(strpos(a.response_body, 'bad\u{FFFD}answer') > 0, false))
                FROM delivery d JOIN delivery_attempt a ON a.delivery_id = d.id
                WHERE d.subscription_id = \(subscription.id) GROUP BY d.id
                """, logger: fixture.logger)
            var seen = 0
            for try await (status, attempts, later, count, longest, kept) in rows.decode(
                (String, Int, Bool, Int64, Int32, Bool).self)
            {
                seen += 1
                #expect(status == "retrying" && attempts >= 2 && Int64(attempts) == count)
                #expect(later, "the next attempt is scheduled after the last one")
                #expect(longest <= 4096)
                #expect(kept, "the answer is kept with its NUL replaced")
            }
            #expect(seen == 1)
        }
    }

    @Test func aPingToAReceiverAnsweringNULReportsItsAnswer() async throws {
        let receiver = WebhookReceiver { path, _, _ in Self.answer(String(path.dropFirst())) }
        try await DispatchFixture.with(receiver: receiver) { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            // Generous timeouts: the whole suite shares two cores, and a timeout is not what is tested.
            try await fixture.api(configure: {
                $0.timeouts = SendTimeouts(connect: .seconds(10), response: .seconds(20))
            }) {
                api in
                for kind in ["nul", "invalid-utf8", "huge", "broken"] {
                    let created = try await api.call(
                        .post, "/v1/subscriptions", token: token,
                        body: #"{"url": "\#(fixture.base)/\#(kind)", "types": ["sam.*"]}"#)
                    let id = try #require(created.json["id"] as? String)
                    let ping = try await api.call(.post, "/v1/subscriptions/\(id)/ping", token: token)
                    #expect(ping.status == .ok, "\(kind): \(String(decoding: ping.body, as: UTF8.self))")
                    #expect(ping.json["delivered"] as? Bool == false, "\(kind)")
                    let log = try await api.call(.get, "/v1/subscriptions/\(id)/deliveries", token: token)
                    let attempt = (log.items.first?["attemptLog"] as? [[String: Any]])?.first
                    #expect(attempt != nil, "\(kind): the ping is recorded")
                    if kind == "nul" {
                        #expect(ping.json["statusCode"] as? Int == 500, "\(ping.json)")
                        #expect(attempt?["responseBody"] as? String == "bad\u{FFFD}answer\u{FFFD}")
                    }
                }
            }
        }
    }

    @Test func aRoundTheDatabaseRefusesToRecordIsHeldOffNotResent() async throws {
        try await DispatchFixture.with(seed: 92) { fixture in
            // Every attempt record is refused, as a full disk or a broken constraint would.
            try await fixture.postgres.execute(
                """
                CREATE FUNCTION refuse_attempts() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'attempts cannot be recorded'; END $$
                """, logger: fixture.logger)
            try await fixture.postgres.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON delivery_attempt FOR EACH ROW EXECUTE FUNCTION refuse_attempts()",
                logger: fixture.logger)
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"])
            var settings = DispatchFixture.settings()
            settings.holdOff = .seconds(2)
            try await fixture.dispatching([settings]) {
                #expect(await eventually { fixture.receiver.all.count >= 1 })
                try await Task.sleep(for: .seconds(5))
                // Held off 2 s, then 4 s: the first event is sent at most 3 times in 5 s (each round
                // sends a batch; without the hold-off, rounds followed each other in a resend loop).
                let first = try #require(fixture.receiver.all.first?.id)
                let sends = fixture.receiver.all.filter { $0.id == first }.map(\.arrived)
                #expect(sends.filter { $0 - sends[0] <= .seconds(5) }.count <= 3, "\(sends.count) sends")
                let leaseUntil: Bool = try await fixture.postgres.scalar(
                    "SELECT lease_until > now() FROM subscription WHERE id = \(subscription.id)")
                #expect(leaseUntil, "the subscription is held off")
                // Once the database records again, the events are delivered and recorded.
                try await fixture.postgres.execute("DROP TRIGGER refuse ON delivery_attempt", logger: fixture.logger)
                #expect(
                    await eventually {
                        let delivered = try? await fixture.count(
                            "SELECT count(*) FROM delivery WHERE subscription_id = \(subscription.id) AND status = 'succeeded'"
                        )
                        return (delivered ?? 0) >= 1
                    })
            }
        }
    }

    @Test func whenAnAnswerCannotBeStoredTheAttemptIsRecordedWithoutIt() async throws {
        let receiver = WebhookReceiver { _, _, _ in ReceiverAnswer(status: .internalServerError, body: "poison") }
        try await DispatchFixture.with(seed: 93, receiver: receiver) { fixture in
            // The database refuses this answer (as it refused NUL before answers were cleaned).
            try await fixture.postgres.execute(
                """
                ALTER TABLE delivery_attempt ADD CONSTRAINT no_poison
                CHECK (response_body IS NULL OR strpos(response_body, 'poison') = 0)
                """, logger: fixture.logger)
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"])
            try await fixture.dispatching([DispatchFixture.settings(schedule: "1s,1s,1s,1s,1s,1s")]) {
                #expect(
                    await eventually {
                        let attempts = try? await fixture.count(
                            "SELECT max(attempts) FROM delivery WHERE subscription_id = \(subscription.id)")
                        return (attempts ?? 0) >= 2
                    })
            }
            let errors = try await fixture.postgres.strings(
                """
                SELECT coalesce(a.error, '') || '|' || coalesce(a.response_body, 'null') FROM delivery_attempt a
                JOIN delivery d ON d.id = a.delivery_id WHERE d.subscription_id = \(subscription.id) ORDER BY a.attempt
                """)
            #expect(errors.count >= 2)
            #expect(errors.allSatisfy { $0 == "the details of this attempt could not be stored|null" }, "\(errors)")
        }
    }
}
