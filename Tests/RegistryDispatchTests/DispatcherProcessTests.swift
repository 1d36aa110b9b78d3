import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `registry clients` and `registry dispatch` as processes on a real database, delivering to a
/// real receiver: several dispatchers at once, and one killed with SIGKILL mid-batch.
@Suite(.timeLimit(.minutes(5)))
struct DispatcherProcessTests {
    @Test func clientsCommandPrintsTheTokenOnceStoresOnlyItsHashAndRevokes() async throws {
        try await DispatchFixture.with { fixture in
            let created = try await RegistryBinary.run(
                ["clients", "create", "--name", "hospital pharmacy", "--scopes", "subscriptions:manage,admin"],
                databaseURL: fixture.url)
            #expect(created.status == 0, "\(created.output)")
            let token = try #require(
                created.output.split(separator: "\n").first { $0.hasPrefix("token:") }?.split(separator: " ").last
                    .map(String.init))
            let id = try #require(
                created.output.split(separator: "\n").first { $0.hasPrefix("client:") }?.split(separator: " ").last
                    .map(String.init))
            #expect(token.hasPrefix("rgt_"))
            let stored = try await fixture.postgres.strings(
                "SELECT token_hash || ' ' || array_to_string(scopes, ',') FROM api_client WHERE id = \(id)")
            #expect(stored == ["\(AccessToken(token)!.hash) admin,subscriptions:manage"])
            let dump = try await fixture.postgres.strings("SELECT row_to_json(c)::text FROM api_client c")
            #expect(!dump.joined().contains(token))

            let listed = try await RegistryBinary.run(["clients", "list"], databaseURL: fixture.url)
            #expect(listed.status == 0 && listed.output.contains(id) && !listed.output.contains(token))
            let revoked = try await RegistryBinary.run(["clients", "revoke", id], databaseURL: fixture.url)
            #expect(revoked.status == 0, "\(revoked.output)")
            #expect(
                try await ClientRepository(client: fixture.postgres, logger: fixture.logger).authenticate(
                    AccessToken(token)!) == nil)
            let unknownScope = try await RegistryBinary.run(
                ["clients", "create", "--name", "x", "--scopes", "everything"], databaseURL: fixture.url)
            #expect(unknownScope.status == 2)
            #expect(unknownScope.output.contains("unknown scope \"everything\""))
            let audit = try await fixture.postgres.strings(
                "SELECT action || ' ' || outcome FROM audit_entry ORDER BY id")
            #expect(audit == ["client.create succeeded", "client.revoke succeeded"])
        }
    }

    static func dispatch(_ fixture: DispatchFixture, extra: [String] = []) throws -> (Process, URL) {
        try RegistryBinary.launch(
            [
                "dispatch", "--allow-targets", "127.0.0.0/8", "--retry-schedule", "0.2s,0.2s,0.2s", "--lease-seconds",
                "8", "--connect-timeout", "1", "--response-timeout", "2", "--no-effective-events",
            ] + extra, databaseURL: fixture.url)
    }

    @Test func twoDispatcherProcessesDeliverEachEventExactlyOncePerSubscription() async throws {
        try await DispatchFixture.with(seed: 81) { fixture in
            for index in 0..<4 {
                _ = try await fixture.subscribe(path: "/p\(index)", types: ["sam.company.*", "sam.vmp.*"])
            }
            let expected = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type LIKE 'sam.company.%' OR type LIKE 'sam.vmp.%' ORDER BY seq")
            let one = try Self.dispatch(fixture, extra: ["--dispatch-concurrency", "2"])
            let two = try Self.dispatch(fixture, extra: ["--dispatch-concurrency", "2"])
            defer {
                one.0.terminate()
                two.0.terminate()
            }
            #expect(await eventually(timeout: .seconds(60)) { fixture.receiver.all.count >= expected.count * 4 })
            try await Task.sleep(for: .milliseconds(500))
            for index in 0..<4 {
                #expect(fixture.receiver.at("/p\(index)").map(\.id) == expected)
            }
            // SIGTERM: both stop gracefully.
            one.0.terminate()
            two.0.terminate()
            await one.0.exited()
            await two.0.exited()
            #expect(one.0.terminationStatus == 0, "\((try? String(contentsOf: one.1, encoding: .utf8)) ?? "")")
            #expect(two.0.terminationStatus == 0)
        }
    }

    @Test func aDispatcherKilledMidBatchLosesNothing() async throws {
        let receiver = WebhookReceiver { _, _, _ in ReceiverAnswer(delay: .milliseconds(100)) }
        try await DispatchFixture.with(seed: 82, receiver: receiver) { fixture in
            _ = try await fixture.subscribe(path: "/k", types: ["sam.company.*", "sam.vmp_group.*"])
            let expected = try await fixture.postgres.strings(
                "SELECT id FROM change_event WHERE type LIKE ANY ('{sam.company.%,sam.vmp\\\\_group.%}') ORDER BY seq")
            #expect(expected.count > 10)
            let first = try Self.dispatch(fixture)
            #expect(await eventually { receiver.all.count >= 5 })
            kill(first.0.processIdentifier, SIGKILL)
            await first.0.exited()
            // Requests the killed process had already written may still reach the receiver after
            // its exit (the kernel delivers what sat in the socket buffer): count once it is quiet.
            var delivered = receiver.all.count
            while true {
                try await Task.sleep(for: .milliseconds(500))
                let now = receiver.all.count
                if now == delivered { break }
                delivered = now
            }
            #expect(delivered < expected.count, "the kill came after the batch had finished")
            let second = try Self.dispatch(fixture)
            defer { second.0.terminate() }
            // The killed process's lease expires (8 s) and the second one takes over.
            #expect(
                await eventually(timeout: .seconds(60)) {
                    let succeeded = try? await fixture.count("SELECT count(*) FROM delivery WHERE status = 'succeeded'")
                    return Set(receiver.all.map(\.id)).isSuperset(of: expected) && succeeded == Int64(expected.count)
                })
            // At least once, in order: the first arrival of each event follows the sequence.
            var firstArrivals: [String] = []
            for webhook in receiver.all where !firstArrivals.contains(webhook.id) { firstArrivals.append(webhook.id) }
            #expect(firstArrivals == expected)
            // Only what the killed process had sent but not recorded comes twice.
            let duplicates = receiver.all.count - expected.count
            #expect(duplicates >= 0 && duplicates <= delivered)
        }
    }
}
