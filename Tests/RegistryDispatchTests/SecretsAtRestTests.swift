import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore
import Testing

/// Webhook signing secrets are encrypted at rest (REGISTRY_SECRET_KEY), keep verifying with an
/// independent Standard Webhooks library, and survive a change of encryption key.
@Suite(.timeLimit(.minutes(5)))
struct SecretsAtRestTests {
    @Test func theStoredSecretIsEncryptedAndSignaturesStillVerify() async throws {
        try await DispatchFixture.with(seed: 99) { fixture in
            let (_, token) = try await fixture.token([.subscriptionsManage])
            try await fixture.api { api in
                let created = try await api.call(
                    .post, "/v1/subscriptions", token: token,
                    body: #"{"url": "\#(fixture.base)/hook", "types": ["sam.company.*"], "after": 0}"#)
                let id = try #require(created.json["id"] as? String)
                let rotated = try await api.call(
                    .post, "/v1/subscriptions/\(id)/secret/rotate", token: token, body: #"{"overlapSeconds": 0}"#)
                let secretText = try #require(rotated.json["secret"] as? String)
                let rows = try await fixture.postgres.strings(
                    "SELECT secret FROM subscription_secret WHERE subscription_id = \(id)")
                #expect(!rows.isEmpty)
                let keyId = try #require(DispatchFixture.keys.current?.id)
                for row in rows {
                    #expect(!row.contains("whsec_") && !row.contains(secretText.dropFirst(6)), "\(row)")
                    #expect(row.hasPrefix("enc:v1:\(keyId):"))
                }
                let dump = try await fixture.postgres.strings("SELECT row_to_json(x)::text FROM subscription_secret x")
                #expect(!dump.joined().contains("whsec_"))
                let secret = try #require(WebhookSecret(secretText))
                try await fixture.dispatching {
                    #expect(await eventually { fixture.receiver.at("/hook").count >= 3 })
                }
                let received = fixture.receiver.at("/hook")
                let verdict = try await StandardWebhooksChecker.verify(received, secret: secret)
                #expect(verdict.ok == received.count, "\(verdict.bad)")
                // The ping is signed with the decrypted secret too.
                let ping = try await api.call(.post, "/v1/subscriptions/\(id)/ping", token: token)
                #expect(ping.json["delivered"] as? Bool == true)
                let pinged = try #require(fixture.receiver.at("/hook").last)
                #expect(try await StandardWebhooksChecker.verify([pinged], secret: secret).ok == 1)
            }
        }
    }

    @Test func rotatingTheEncryptionKeyReencryptsEveryRowAndOldRowsStillDecryptMeanwhile() async throws {
        try await DispatchFixture.with(seed: 100) { fixture in
            let (oldKey, oldText) = SecretKey.generate()
            let (newKey, newText) = SecretKey.generate()
            let owner = try await fixture.client()
            func create(_ keys: SecretKeyring, path: String) async throws -> (String, WebhookSecret) {
                let (record, secret) = try await SubscriptionRepository(
                    client: fixture.postgres, logger: fixture.logger, keys: keys
                ).create(
                    clientId: owner.id,
                    spec: SubscriptionSpec(
                        url: fixture.base + path, types: [EventTypePattern("sam.company.*")!],
                        filter: SubscriptionFilter(), payload: .thin, description: nil, after: 0))
                return (record.id, secret)
            }
            // One row from before encryption at rest, one under the old key.
            let (plainId, plainSecret) = try await create(.plaintext, path: "/plain")
            let (oldId, oldSecret) = try await create(SecretKeyring(current: oldKey), path: "/old")
            #expect(
                try await fixture.postgres.strings(
                    "SELECT secret FROM subscription_secret WHERE subscription_id = \(plainId)") == [plainSecret.text])

            // The new key is current, the old one previous: both rows still sign.
            var settings = DispatchFixture.settings()
            settings.secretKeys = SecretKeyring(current: newKey, previous: [oldKey])
            try await fixture.dispatching([settings]) {
                #expect(
                    await eventually {
                        !fixture.receiver.at("/plain").isEmpty && !fixture.receiver.at("/old").isEmpty
                    })
            }
            #expect(
                try await StandardWebhooksChecker.verify(fixture.receiver.at("/plain"), secret: plainSecret).bad
                    .isEmpty)
            #expect(
                try await StandardWebhooksChecker.verify(fixture.receiver.at("/old"), secret: oldSecret).bad.isEmpty)

            // Without the old key, `rotate` refuses and changes nothing.
            let refused = try await RegistryBinary.run(
                ["secrets", "rotate"], databaseURL: fixture.url, environment: ["REGISTRY_SECRET_KEY": newText])
            #expect(refused.status == 1, "\(refused.output)")
            #expect(refused.output.contains(oldKey.id), "\(refused.output)")
            let rotated = try await RegistryBinary.run(
                ["secrets", "rotate"], databaseURL: fixture.url,
                environment: ["REGISTRY_SECRET_KEY": newText, "REGISTRY_SECRET_KEY_PREVIOUS": oldText])
            #expect(rotated.status == 0, "\(rotated.output)")
            #expect(rotated.output.contains("1 were plain, 1 under a previous key"), "\(rotated.output)")
            let stored = try await fixture.postgres.strings(
                "SELECT subscription_id || ' ' || secret FROM subscription_secret ORDER BY 1")
            #expect(stored.count == 2)
            #expect(stored.allSatisfy { $0.contains(" enc:v1:\(newKey.id):") }, "\(stored)")
            // The new key alone now reads both.
            let newOnly = SecretKeyring(current: newKey)
            for (id, secret) in [(plainId, plainSecret), (oldId, oldSecret)] {
                let row = try #require(stored.first { $0.hasPrefix(id + " ") }?.split(separator: " ").last)
                #expect(try newOnly.open(String(row), subscriptionId: id) == secret)
            }
            let status = try await RegistryBinary.run(
                ["secrets", "status"], databaseURL: fixture.url, environment: ["REGISTRY_SECRET_KEY": newText])
            #expect(status.output.contains("\(newKey.id)\t2\tcurrent key"), "\(status.output)")
        }
    }

    @Test func withoutAKeyServeAndDispatchRefuseToStartUnlessPlainStorageIsChosen() async throws {
        try await DispatchFixture.with { fixture in
            for command in [["serve", "--port", "1"], ["dispatch"]] {
                let refused = try await RegistryBinary.run(
                    command, databaseURL: fixture.url, environment: ["REGISTRY_SECRET_KEY": ""])
                #expect(refused.status == 2, "\(command): \(refused.output)")
                #expect(refused.output.contains("REGISTRY_SECRET_KEY is not set"), "\(command): \(refused.output)")
                #expect(refused.output.contains("--plaintext-secrets"), "\(command): \(refused.output)")
            }
            let malformed = try await RegistryBinary.run(
                ["dispatch"], databaseURL: fixture.url, environment: ["REGISTRY_SECRET_KEY": "c2hvcnQ="])
            #expect(malformed.status == 2 && malformed.output.contains("exactly 32 bytes"), "\(malformed.output)")
            // Chosen explicitly, plain storage runs.
            let (process, log) = try RegistryBinary.launch(
                ["dispatch", "--no-effective-events"], databaseURL: fixture.url,
                environment: ["REGISTRY_SECRET_KEY": "", "REGISTRY_PLAINTEXT_SECRETS": "1"])
            try await Task.sleep(for: .seconds(2))
            #expect(process.isRunning, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            process.terminate()
            await process.exited()
            #expect(process.terminationStatus == 0)
        }
    }
}
