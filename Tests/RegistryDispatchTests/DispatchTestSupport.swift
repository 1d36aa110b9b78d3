import DatabaseTestSupport
import Foundation
import RegistryImport
import Logging
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryDispatch
import RegistryStore
import SAMReaders

/// A fresh database (optionally with a generated export imported), a receiver, and helpers.
struct DispatchFixture: Sendable {
    let postgres: PostgresClient
    let url: DatabaseURL
    let receiver: WebhookReceiver
    let base: String
    let logger = TestDatabase.logger

    static func with(
        seed: UInt64? = nil, scale: Double = 0.002, receiver: WebhookReceiver = WebhookReceiver(),
        _ body: @Sendable (DispatchFixture) async throws -> Void
    ) async throws {
        let export = try seed.map { try generatedExport(seed: $0, scale: scale) }
        try await TestDatabase.with { postgres, url in
            try await receiver.run { base in
                let fixture = DispatchFixture(postgres: postgres, url: url, receiver: receiver, base: base)
                if let export { try await fixture.importSAM(export) }
                try await body(fixture)
            }
        }
    }

    func importSAM(_ path: String) async throws {
        let summary = try await SAMImportPipeline(client: postgres, logger: logger).run(
            input: try SAMInput.resolve(paths: [path]))
        precondition(summary.outcome == .applied, "import of \(path) was not applied")
    }

    /// The key the tests encrypt signing secrets with (as `registry serve` does with REGISTRY_SECRET_KEY).
    static let keys = SecretKeyring(current: SecretKey(base64: RegistryBinary.testSecretKey)!)

    /// Settings that make tests quick: loopback allowed, a short schedule, short lease and timeouts.
    static func settings(
        worker: String = "test-\(UUID().uuidString.prefix(8))", schedule: String = "0.2s,0.2s,0.2s,0.2s,0.2s"
    ) -> DispatcherSettings {
        var settings = DispatcherSettings(workerId: worker)
        settings.pollInterval = .milliseconds(100)
        settings.leaseSeconds = 10
        settings.retryPolicy = RetryPolicy(schedule: schedule, jitter: 0)!
        settings.addressPolicy = try! TargetAddressPolicy.parse(allowList: "127.0.0.0/8,::1").get()
        settings.timeouts = SendTimeouts(connect: .seconds(2), response: .seconds(2))
        // Effective-date events for the real today would add events the tests do not expect.
        settings.effectiveDateCheck = nil
        settings.secretKeys = keys
        return settings
    }

    /// Runs dispatchers for the duration of `body`.
    func dispatching<T: Sendable>(
        _ settings: [DispatcherSettings] = [DispatchFixture.settings()], _ body: @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for setting in settings {
                group.addTask {
                    try await Dispatcher(
                        client: postgres, settings: setting,
                        entities: LookupEntitySource(client: postgres, logger: logger), logger: logger
                    ).run()
                }
            }
            do {
                let result = try await body()
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    func client(scopes: [Scope] = [.subscriptionsManage]) async throws -> APIClientRecord {
        try await ClientRepository(client: postgres, logger: logger).create(name: "test", scopes: scopes).0
    }

    /// A subscription of a new client to `types`, delivering to `path` on the receiver.
    func subscribe(
        path: String = "/hook", types: [String] = ["sam.*"], filter: SubscriptionFilter = SubscriptionFilter(),
        after: Int64? = 0
    ) async throws -> (SubscriptionRecord, WebhookSecret) {
        let owner = try await client()
        return try await SubscriptionRepository(client: postgres, logger: logger, keys: Self.keys).create(
            clientId: owner.id,
            spec: SubscriptionSpec(
                url: base + path, types: types.map { EventTypePattern($0)! }, filter: filter, payload: .thin,
                description: nil, after: after))
    }

    func count(_ sql: PostgresQuery) async throws -> Int64 { try await postgres.scalar(sql) }

    /// Waits until `count` deliveries are recorded as succeeded (the receiver may have them a
    /// moment before the dispatcher records them); true when they are.
    func succeeded(_ count: Int, kind: String? = nil) async -> Bool {
        await eventually {
            let recorded = try? await self.count(
                "SELECT count(*) FROM delivery WHERE status = 'succeeded' AND (\(kind)::text IS NULL OR kind = \(kind))"
            )
            return recorded == Int64(count)
        }
    }

    /// Event seqs of the given type patterns (SQL LIKE), in order.
    func eventSeqs(like patterns: [String] = ["sam.%"]) async throws -> [Int64] {
        var seqs: [Int64] = []
        let rows = try await postgres.query(
            "SELECT seq FROM change_event WHERE type LIKE ANY (\(patterns)) ORDER BY seq", logger: logger)
        for try await seq in rows.decode(Int64.self) { seqs.append(seq) }
        return seqs
    }
}
