import Foundation
import RegistryCore
import Testing

@Suite struct WebhookHardeningTests {
    @Test(arguments: [
        "::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1", "::ffff:0:169.254.169.254", "64:ff9b:1::127.0.0.1",
        "64:ff9b:1::a00:1", "64:ff9b:1:ffff::1", "64:ff9b:1:7f00:1::",
    ])
    func translatedAndLocalUseNAT64FormsAreRefused(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(TargetAddressPolicy().refusal(of: address) != nil, "\(text)")
    }

    @Test func aPublicAddressInTheTranslatedFormIsAllowed() throws {
        #expect(TargetAddressPolicy().refusal(of: try #require(IPAddress("::ffff:0:8.8.8.8"))) == nil)
    }

    @Test func refusalsSayWhatKindOfAddressButNotWhichOne() throws {
        let refusal = try #require(
            TargetAddressPolicy().check(
                scheme: "https", host: "internal.example", addresses: [IPAddress("10.20.30.40")!]))
        #expect(refusal.description.contains("private"))
        #expect(!refusal.description.contains("10.20.30.40"))
        #expect(refusal.logDescription.contains("10.20.30.40"))
        let mapped = try #require(
            TargetAddressPolicy().check(
                scheme: "https", host: "mapped.example", addresses: [IPAddress("::ffff:0:127.0.0.1")!]))
        #expect(mapped.description.contains("loopback") && !mapped.description.contains("127.0.0.1"))
    }

    @Test func hostNamesHaveOneSpellingAndTheRequestUsesIt() throws {
        for text in ["http://HOOK.Example.ORG:8080/x?y=1", "http://hook.example.org.:8080/x?y=1"] {
            let target = try WebhookTarget.parse(text).get()
            #expect(target.host == "hook.example.org", "\(text)")
            #expect(target.requestURL == "http://hook.example.org:8080/x?y=1", "\(text)")
        }
        #expect(try WebhookTarget.parse("https://EXAMPLE.org").get().requestURL == "https://example.org/")
        #expect(try WebhookTarget.parse("http://[::1]:81/a").get().requestURL == "http://[::1]:81/a")
        for bad in ["http://./", "http://example.org../"] {
            if case .success = WebhookTarget.parse(bad) { Issue.record("accepted \(bad)") }
        }
    }

    @Test func storableTextHasNoNULAndIsBounded() {
        let text = StorableText.decode([0x61, 0x00, 0x62, 0xFF, 0xC3], maxBytes: 100)
        #expect(!text.unicodeScalars.contains("\0"))
        #expect(text == "a\u{FFFD}b\u{FFFD}\u{FFFD}")
        let long = StorableText.clean(String(repeating: "é", count: 3000), maxBytes: 4096)
        #expect(long.utf8.count == 4096 && long.count == 2048)
        #expect(StorableText.clean("ab€", maxBytes: 4) == "ab")
    }

    @Test(arguments: [
        ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z"), ("2026-11-27t11:30:00+01:30", "2026-11-27T10:00:00Z"),
        ("2026-11-27T10:00:00.123456-00:00", "2026-11-27T10:00:00.123456Z"),
        ("2024-02-29T23:00:00-23:59", "2024-03-01T22:59:00Z"), ("1970-01-01T00:00:00+01:00", "1969-12-31T23:00:00Z"),
    ])
    func rfc3339TimestampsAreReadAndWrittenInUTC(_ text: String, _ utc: String) throws {
        #expect(try #require(RFC3339Timestamp(text)).utcText == utc)
    }

    @Test(arguments: [
        "2026-11-27T10:00:00+99:99", "2026-11-27T10:00:00+24:00", "2026-11-27T10:00:00+01:60",
        "2026-11-27T10:00:00+0100", "2026-11-27T10:00:00", "2026-02-29T10:00:00Z", "2026-13-01T10:00:00Z",
        "2026-11-27T24:00:00Z", "2026-11-27T10:00:60Z", "2026-11-27 10:00:00Z", "2026-11-27T10:00:00.Z",
        "0001-01-01T00:00:00+01:00", "2026-11-27T10:00:00Z ", "２０２６-11-27T10:00:00Z",
    ])
    func malformedTimestampsAreRefused(_ text: String) {
        #expect(RFC3339Timestamp(text) == nil, "\(text)")
    }
}

@Suite struct SecretKeyringTests {
    let secret = WebhookSecret.generate()

    @Test func sealedSecretsHoldNoPlainTextAndOpenOnlyForTheirSubscription() throws {
        let (key, _) = SecretKey.generate()
        let keys = SecretKeyring(current: key)
        let stored = try keys.seal(secret, subscriptionId: "sub_a")
        #expect(stored.hasPrefix("enc:v1:\(key.id):"))
        #expect(!stored.contains("whsec_") && !stored.contains(secret.text.dropFirst(6)))
        #expect(try keys.open(stored, subscriptionId: "sub_a") == secret)
        #expect(throws: SecretKeyringError.undecryptable(keyId: key.id)) {
            try keys.open(stored, subscriptionId: "sub_b")
        }
        // Two seals of one secret differ (random nonce).
        #expect(try keys.seal(secret, subscriptionId: "sub_a") != stored)
    }

    @Test func previousKeysDecryptAndRotationIsNeededUntilUnderTheCurrentKey() throws {
        let (old, _) = SecretKey.generate()
        let (new, _) = SecretKey.generate()
        let stored = try SecretKeyring(current: old).seal(secret, subscriptionId: "sub_a")
        let rotated = SecretKeyring(current: new, previous: [old])
        #expect(try rotated.open(stored, subscriptionId: "sub_a") == secret)
        #expect(rotated.needsRotation(stored) && rotated.needsRotation(secret.text))
        #expect(!rotated.needsRotation(try rotated.seal(secret, subscriptionId: "sub_a")))
        #expect(throws: SecretKeyringError.unknownKey(old.id)) {
            try SecretKeyring(current: new).open(stored, subscriptionId: "sub_a")
        }
        // Plain rows (from before encryption at rest) are still read.
        #expect(try SecretKeyring(current: new).open(secret.text, subscriptionId: "sub_a") == secret)
    }

    @Test func theEnvironmentMustGiveAKeyUnlessPlainStorageIsChosen() throws {
        let (key, text) = SecretKey.generate()
        #expect(throws: SecretKeyConfigurationError.missing) {
            try SecretKeyring.fromEnvironment([:], plaintextAllowed: false)
        }
        #expect(try SecretKeyring.fromEnvironment([:], plaintextAllowed: true).encrypts == false)
        #expect(throws: SecretKeyConfigurationError.invalid("REGISTRY_SECRET_KEY")) {
            try SecretKeyring.fromEnvironment(["REGISTRY_SECRET_KEY": "c2hvcnQ="], plaintextAllowed: true)
        }
        let keys = try SecretKeyring.fromEnvironment(
            ["REGISTRY_SECRET_KEY": text, "REGISTRY_SECRET_KEY_PREVIOUS": SecretKey.generate().base64],
            plaintextAllowed: false)
        #expect(keys.current?.id == key.id && keys.keyIds.count == 2)
        #expect(SecretKeyConfigurationError.missing.description.contains("--plaintext-secrets"))
    }
}
