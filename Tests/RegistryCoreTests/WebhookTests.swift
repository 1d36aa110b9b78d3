import Foundation
import Testing

@testable import RegistryCore

@Suite struct WebhookSigningTests {
    /// The example of the Standard Webhooks specification (and its reference libraries' tests).
    @Test func signatureMatchesTheSpecificationExample() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = WebhookSigner.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secret: secret)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func bothSecretsSignDuringARotationAndEitherVerifies() {
        let old = WebhookSecret.generate()
        let new = WebhookSecret.generate()
        #expect(old != new && old.text.hasPrefix("whsec_") && old.key.count == 32)
        let body = Array("{}".utf8)
        let header = WebhookSigner.header(id: "evt_1", timestamp: 1, body: body, secrets: [new, old])
        #expect(header.split(separator: " ").count == 2)
        #expect(WebhookSigner.verify(header: header, id: "evt_1", timestamp: 1, body: body, secret: old))
        #expect(WebhookSigner.verify(header: header, id: "evt_1", timestamp: 1, body: body, secret: new))
        #expect(!WebhookSigner.verify(header: header, id: "evt_2", timestamp: 1, body: body, secret: new))
        #expect(!WebhookSigner.verify(header: header, id: "evt_1", timestamp: 2, body: body, secret: new))
        #expect(String(describing: new) == "whsec_…")
    }

    @Test func malformedSecretsAreRefused() {
        #expect(WebhookSecret("whsec_") == nil)
        #expect(WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
        #expect(WebhookSecret("whsec_not base64!") == nil)
    }
}

@Suite struct RetryPolicyTests {
    @Test func theDefaultScheduleSpansMoreThanThreeDaysThenDeadLetters() {
        let policy = RetryPolicy.standard
        let total = policy.delays.reduce(0, +)
        #expect(total > 3 * 86400)
        #expect(policy.afterFailure(attempts: 1, random: 0) == 5)
        #expect(policy.afterFailure(attempts: 1, random: 1) == 6)  // 20% jitter at most
        #expect(policy.afterFailure(attempts: 10, random: 0) == 86400)
        #expect(policy.afterFailure(attempts: 11, random: 0) == nil)
        // Retry-After wins when it asks for longer, never when shorter.
        #expect(policy.afterFailure(attempts: 1, retryAfter: 120, random: 0) == 120)
        #expect(policy.afterFailure(attempts: 2, retryAfter: 1, random: 0) == 60)
    }

    @Test func schedulesParseWithUnits() {
        #expect(RetryPolicy(schedule: "5s,1m, 2h,1d,0.5")?.delays == [5, 60, 7200, 86400, 0.5])
        #expect(RetryPolicy(schedule: "") == nil)
        #expect(RetryPolicy(schedule: "5x") == nil)
        #expect(RetryPolicy(schedule: "-1s") == nil)
    }
}

@Suite struct DeliveryVerdictTests {
    @Test func statusesMapToVerdicts() {
        #expect(DeliveryVerdict.classify(status: 200, retryAfter: nil) == .accepted)
        #expect(DeliveryVerdict.classify(status: 204, retryAfter: nil) == .accepted)
        #expect(DeliveryVerdict.classify(status: 410, retryAfter: nil) == .gone)
        #expect(
            DeliveryVerdict.classify(status: 301, retryAfter: nil)
                == .failed(reason: "HTTP 301: redirects are not followed", notBefore: nil))
        #expect(DeliveryVerdict.classify(status: 500, retryAfter: "30") == .failed(reason: "HTTP 500", notBefore: nil))
        #expect(DeliveryVerdict.classify(status: 429, retryAfter: "30") == .failed(reason: "HTTP 429", notBefore: 30))
    }

    @Test func retryAfterReadsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(DeliveryVerdict.seconds(retryAfter: "120", now: now) == 120)
        #expect(DeliveryVerdict.seconds(retryAfter: "Tue, 14 Nov 2023 22:15:20 GMT", now: now) == 120)
        #expect(DeliveryVerdict.seconds(retryAfter: "999999999", now: now) == 86400)
        #expect(DeliveryVerdict.seconds(retryAfter: "soon", now: now) == nil)
    }
}

@Suite struct TargetAddressPolicyTests {
    let policy = TargetAddressPolicy()

    @Test(arguments: [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1", "::1", "::",
        "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
        "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2001:db8::1", "fec0::1",
    ])
    func hostileAddressesAreRefused(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(policy.refusal(of: address) != nil, "\(text)")
    }

    @Test(arguments: ["8.8.8.8", "193.191.208.1", "2a00:1450:4001:80e::200e", "::ffff:8.8.8.8"])
    func publicAddressesAreAllowed(_ text: String) throws {
        #expect(policy.refusal(of: try #require(IPAddress(text))) == nil, "\(text)")
    }

    @Test func allowListsOpenBlocksIncludingTheirMappedForms() throws {
        let loopback = try TargetAddressPolicy.parse(allowList: "127.0.0.0/8, ::1").get()
        #expect(loopback.refusal(of: IPAddress("127.0.0.1")!) == nil)
        #expect(loopback.refusal(of: IPAddress("::ffff:127.0.0.1")!) == nil)
        #expect(loopback.refusal(of: IPAddress("10.0.0.1")!) != nil)
        if case .success = TargetAddressPolicy.parse(allowList: "127.0.0.0/33") { Issue.record("accepted /33") }
        if case .success = TargetAddressPolicy.parse(allowList: "localhost") { Issue.record("accepted a name") }
    }

    @Test func httpsIsRequiredExceptForAllowListedAddresses() throws {
        let loopback = try TargetAddressPolicy.parse(allowList: "127.0.0.0/8").get()
        #expect(loopback.check(scheme: "http", host: "localhost", addresses: [IPAddress("127.0.0.1")!]) == nil)
        #expect(
            policy.check(scheme: "http", host: "example.org", addresses: [IPAddress("93.184.216.34")!])
                == .httpsRequired("example.org"))
        #expect(policy.check(scheme: "https", host: "example.org", addresses: [IPAddress("93.184.216.34")!]) == nil)
        // One bad address among good ones refuses the target.
        #expect(
            policy.check(
                scheme: "https", host: "mixed.example",
                addresses: [IPAddress("93.184.216.34")!, IPAddress("10.0.0.1")!])
                != nil)
        #expect(
            policy.check(scheme: "https", host: "nowhere.example", addresses: []) == .unresolvable("nowhere.example"))
    }

    @Test func targetURLsAreParsedStrictly() throws {
        let ok = try WebhookTarget.parse("https://Hooks.Example.org:8443/x?y=1").get()
        #expect(ok.host == "hooks.example.org" && ok.port == 8443 && ok.scheme == "https")
        let v6 = try WebhookTarget.parse("http://[::ffff:127.0.0.1]:81/").get()
        #expect(v6.host == "::ffff:127.0.0.1" && v6.port == 81)
        for bad in [
            "ftp://x/", "//x/", "http://user@x/", "http://x/#f", "http://x:0/", "http://x:99999/", "http:// x/",
            "http://[::1/", "http:///path", "http://exämple.org/",
        ] {
            if case .success = WebhookTarget.parse(bad) { Issue.record("accepted \(bad)") }
        }
    }
}

@Suite struct SubscriptionFilterTests {
    @Test func fieldsMustAllMatchByValueOrPrefix() throws {
        let filter = try SubscriptionFilter(
            json: try JSONValue.parse(#"{"code": {"in": ["0123456", "7654321"]}, "atc": {"prefix": "N05"}}"#))
        #expect(filter.matches { $0 == "code" ? ["0123456"] : ["N05AD01"] })
        #expect(!filter.matches { $0 == "code" ? ["0123456"] : ["C09AA02"] })
        #expect(!filter.matches { $0 == "code" ? ["1111111"] : ["N05AD01"] })
        #expect(!filter.matches { $0 == "code" ? ["0123456"] : [] })
        #expect(SubscriptionFilter().matches { _ in [] })
        // Stored normalised: prefix always a list, values sorted and unique.
        #expect(filter.json.canonicalText == #"{"atc":{"prefix":["N05"]},"code":{"in":["0123456","7654321"]}}"#)
    }

    @Test(arguments: [
        #"[]"#, #"{"code": "x"}"#, #"{"code": {"like": ["x"]}}"#, #"{"code": {"in": []}}"#,
        #"{"code": {"in": [1]}}"#, #"{"code": {"in": ["a"], "prefix": ["b"]}}"#, #"{"a b": {"in": ["x"]}}"#,
    ])
    func malformedFiltersAreRefusedWithAReason(_ text: String) throws {
        #expect(throws: FilterError.self) { try SubscriptionFilter(json: try JSONValue.parse(text)) }
    }
}

@Suite struct AccessTokenTests {
    @Test func tokensAreRandomAndOnlyTheirHashIsKept() {
        let a = AccessToken.generate()
        let b = AccessToken.generate()
        #expect(a != b && a.text.hasPrefix("rgt_") && a.text.count == 47)
        #expect(a.hash.count == 64 && a.hash != b.hash && !a.hash.contains(a.text))
        #expect(AccessToken("rgt_short") == nil)
        #expect(AccessToken("Bearer rgt_" + String(repeating: "a", count: 43)) == nil)
        #expect(AccessToken("rgt_" + String(repeating: "a", count: 43) + "!") == nil)
    }

    @Test func scopesParseAndUnknownOnesAreNamed() throws {
        #expect(try Scope.parseList("admin, subscriptions:manage").get() == [.admin, .subscriptionsManage])
        guard case .failure(let unknown) = Scope.parseList("admin,root") else {
            Issue.record("accepted root")
            return
        }
        #expect(unknown.name == "root")
    }
}
