import DatabaseTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import Synchronization
import Testing

/// Names the tests' resolver knows; every other name (and every other spelling) is unknown to it,
/// and `.test` names are unknown to the system resolver too, so a request that reaches the
/// receiver went to the address the guard checked.
final class PinnedNames: Sendable {
    let answers: [String: [IPAddress]]
    let asked = Mutex<[String]>([])

    init(_ answers: [String: String]) {
        self.answers = answers.mapValues { [IPAddress($0)!] }
    }

    var lookUp: WebhookSender.LookUp {
        { name in
            self.asked.withLock { $0.append(name) }
            guard let addresses = self.answers[name] else {
                throw TestResolverMiss(name: name)
            }
            return addresses
        }
    }
}

struct TestResolverMiss: Error, CustomStringConvertible {
    var name: String
    var description: String { "the test resolver does not know \(name)" }
}

@Suite(.timeLimit(.minutes(5)))
struct TargetPinningTests {
    static let spellings = ["HOOK.PINNED.TEST", "Hook.Pinned.Test", "hook.pinned.test.", "HOOK.pinned.TEST."]

    func subscribe(_ fixture: DispatchFixture, urls: [String]) async throws -> [String] {
        let owner = try await fixture.client()
        let subscriptions = SubscriptionRepository(
            client: fixture.postgres, logger: fixture.logger, keys: DispatchFixture.keys)
        var ids: [String] = []
        for url in urls {
            let (record, _) = try await subscriptions.create(
                clientId: owner.id,
                spec: SubscriptionSpec(
                    url: url, types: [EventTypePattern("sam.company.*")!], filter: SubscriptionFilter(),
                    payload: .thin, description: nil, after: 0))
            ids.append(record.id)
        }
        return ids
    }

    @Test func aNamePinnedToAnAllowedAddressIsConnectedToItWhateverItsSpelling() async throws {
        try await DispatchFixture.with(seed: 94) { fixture in
            let port = fixture.base.split(separator: ":").last!
            let names = PinnedNames(["hook.pinned.test": "127.0.0.1"])
            _ = try await subscribe(
                fixture, urls: Self.spellings.enumerated().map { "http://\($1):\(port)/s\($0)" })
            var settings = DispatchFixture.settings()
            settings.addressPolicy = try TargetAddressPolicy.parse(allowList: "127.0.0.1/32").get()
            settings.lookUp = names.lookUp
            let total = try await fixture.count("SELECT count(*) FROM change_event WHERE type LIKE 'sam.company.%'")
            try await fixture.dispatching([settings]) {
                #expect(await fixture.succeeded(Int(total) * Self.spellings.count))
            }
            for index in Self.spellings.indices {
                #expect(fixture.receiver.at("/s\(index)").count == Int(total), "\(Self.spellings[index])")
            }
            let addresses = try await fixture.postgres.strings(
                "SELECT DISTINCT target_address FROM delivery_attempt")
            #expect(addresses == ["127.0.0.1"])
            #expect(Set(names.asked.withLock { $0 }) == ["hook.pinned.test"])
        }
    }

    @Test func everySpellingOfANameThatResolvesToLoopbackIsRefusedAtDelivery() async throws {
        try await DispatchFixture.with(seed: 95) { fixture in
            let port = fixture.base.split(separator: ":").last!
            let names = PinnedNames(["hook.pinned.test": "127.0.0.1"])
            let ids = try await subscribe(
                fixture, urls: Self.spellings.enumerated().map { "http://\($1):\(port)/r\($0)" })
            var settings = DispatchFixture.settings(schedule: "60s")
            settings.addressPolicy = TargetAddressPolicy()
            settings.lookUp = names.lookUp
            try await fixture.dispatching([settings]) {
                #expect(
                    await eventually {
                        ((try? await fixture.count("SELECT count(DISTINCT d.subscription_id) FROM delivery d")) ?? 0)
                            == Int64(ids.count)
                    })
            }
            #expect(fixture.receiver.all.isEmpty)
            let errors = try await fixture.postgres.strings(
                "SELECT a.error FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id")
            #expect(errors.count == ids.count)
            #expect(errors.allSatisfy { $0.contains("loopback") && !$0.contains("127.0.0.1") }, "\(errors)")
        }
    }

    @Test func subscriptionRefusalsNameTheKindOfAddressNeverTheAddress() async throws {
        try await DispatchFixture.with { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            let names = PinnedNames(["internal.corp.test": "10.20.30.40", "metadata.corp.test": "169.254.169.254"])
            try await fixture.api(configure: {
                $0.lookUp = names.lookUp; $0.addressPolicy = TargetAddressPolicy()
            }) {
                api in
                let cases = [
                    ("https://internal.corp.test/x", "private", "10.20.30.40"),
                    ("https://INTERNAL.corp.test./x", "private", "10.20.30.40"),
                    ("https://metadata.corp.test/x", "link-local", "169.254.169.254"),
                    ("https://[::ffff:0:7f00:1]/x", "loopback", "127.0.0.1"),
                    ("https://[64:ff9b:1::a00:1]/x", "local-use NAT64", "10.0.0.1"),
                ]
                for (url, kind, address) in cases {
                    let answer = try await api.call(
                        .post, "/v1/subscriptions", token: token, body: #"{"url": "\#(url)", "types": ["sam.*"]}"#)
                    #expect(answer.status == .unprocessableContent, "\(url)")
                    let detail = answer.json["detail"] as? String ?? ""
                    #expect(detail.contains(kind), "\(url): \(detail)")
                    #expect(!detail.contains(address), "\(url): \(detail)")
                }
            }
            // Nor does the audit log the client's admin can read.
            let details = try await fixture.postgres.strings("SELECT detail::text FROM audit_entry")
            #expect(!details.joined().contains("10.20.30.40"))
        }
    }

    @Test func replayTimestampsAreStrictRFC3339() async throws {
        try await DispatchFixture.with(seed: 96) { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            try await fixture.api { api in
                let created = try await api.call(
                    .post, "/v1/subscriptions", token: token,
                    body: #"{"url": "\#(fixture.base)/hook", "types": ["sam.company.*"]}"#)
                let id = try #require(created.json["id"] as? String)
                for bad in [
                    "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00+24:00", "2026-02-30T00:00:00Z",
                    "2026-01-01T00:00:00",
                ] {
                    let answer = try await api.call(
                        .post, "/v1/subscriptions/\(id)/replay", token: token, body: #"{"since": "\#(bad)"}"#)
                    #expect(answer.status == .unprocessableContent, "\(bad)")
                    #expect(answer.json["pointer"] as? String == "/since", "\(bad)")
                }
                let good = try await api.call(
                    .post, "/v1/subscriptions/\(id)/replay", token: token,
                    body: #"{"since": "2000-01-01T00:00:00+14:00", "until": "2999-12-31T23:59:59.5-12:00"}"#)
                #expect(good.status == .accepted)
                #expect((good.json["queued"] as? Int ?? 0) > 0)
            }
        }
    }
}
