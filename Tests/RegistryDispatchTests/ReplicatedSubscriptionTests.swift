import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryDispatch
import RegistryImport
import RegistryStore
import SAMReaders
import Testing

/// Writes through a node that reads from a hot standby go to the primary: a subscription created
/// there works (read back at once through the same node), and its deliveries arrive.
@Suite(.timeLimit(.minutes(5)))
struct ReplicatedSubscriptionTests {
    @Test func aSubscriptionMadeThroughAStandbyBackedNodeIsWrittenToThePrimaryAndDelivered() async throws {
        let export = try generatedExport(seed: 73)
        let receiver = WebhookReceiver()
        let logger = TestDatabase.logger
        try await ReplicatedClusters.with { clusters in
            try await receiver.run { base in
                try await withPostgresClient(clusters.primaryURL, logger: logger) { primary in
                    try await withPostgresClient(clusters.standbyURL, logger: logger) { standby in
                        var settings = ServerSettings(logLevel: .warning)
                        settings.webhooks = WebhookSettings(
                            addressPolicy: try TargetAddressPolicy.parse(allowList: "127.0.0.0/8,::1").get(),
                            timeouts: SendTimeouts(connect: .seconds(2), response: .seconds(2)))
                        settings.webhooks.secretKeys = DispatchFixture.keys
                        let app = try RegistryApplication.make(
                            client: primary, settings: settings, logger: logger, runsClient: false,
                            readDatabase: ReadDatabase(api: standby, background: standby))
                        let (_, token) = try await ClientRepository(client: primary, logger: logger).create(
                            name: "mirror", scopes: [.subscriptionsManage])
                        try await app.test(.router) { client in
                            let api = Routed(client: client)
                            let created = try await api.call(
                                .post, "/v1/subscriptions", token: token.text,
                                body: #"{"url": "\#(base)/mirror", "types": ["sam.amp.*"]}"#)
                            #expect(created.status == .created, "\(created.json)")
                            let id = try #require(created.json["id"] as? String)
                            // Read-your-writes: the next request sees it (the primary, not the standby).
                            let read = try await api.call(.get, "/v1/subscriptions/\(id)", token: token.text)
                            #expect(read.status == .ok, "\(read.json)")
                        }
                        #expect(
                            try await primary.scalar("SELECT count(*) FROM subscription", as: Int64.self) == 1)

                        // An import on the primary: its AMP events reach the receiver.
                        let summary = try await SAMImportPipeline(client: primary, logger: logger).run(
                            input: try SAMInput.resolve(paths: [export]))
                        #expect(summary.outcome == .applied)
                        let expected = try await primary.strings(
                            "SELECT id FROM change_event WHERE type LIKE 'sam.amp.%' ORDER BY seq")
                        #expect(!expected.isEmpty)
                        let dispatcher = Task {
                            try await Dispatcher(
                                client: primary, settings: DispatchFixture.settings(),
                                entities: LookupEntitySource(client: primary, logger: logger), logger: logger
                            ).run()
                        }
                        defer { dispatcher.cancel() }
                        #expect(
                            await eventually(timeout: .seconds(60)) { receiver.at("/mirror").count >= expected.count })
                        #expect(receiver.at("/mirror").map(\.id) == expected)
                    }
                }
            }
        }
    }
}
