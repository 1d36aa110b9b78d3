import DatabaseTestSupport
import Foundation
import TestDataGenerators
import PostgresNIO
import RegistryCore
import RegistryStore
import SAMReaders
import Testing

/// The feed under concurrent writers, and retention of delivery history.
@Suite(.timeLimit(.minutes(5)))
struct FeedOrderingTests {
    /// A SAM delta import and a writer of another domain (as the CoBRHA importer will be) commit
    /// while the dispatcher is sending: the subscriber of `*` gets every event once, in sequence order.
    @Test func concurrentWritersOfTwoDomainsAreDeliveredGapFreeInOrder() async throws {
        let base = try generatedExport(seed: 91, scale: 0.002)
        let next = try TestDatabase.temporaryDirectory()
        _ = try SAMExportGenerator.writeNextVersion(from: base, to: next, changes: 30, seed: 5)
        try await DispatchFixture.with { fixture in
            try await fixture.importSAM(base)
            _ = try await fixture.subscribe(types: ["*"], after: nil)
            let before: Int64 = try await fixture.postgres.scalar("SELECT last_seq FROM change_event_counter")
            try await fixture.dispatching {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await fixture.importSAM(next) }
                    group.addTask {
                        // Another domain's import: takes numbers from the same counter, holds them a moment.
                        for round in 0..<5 {
                            try await fixture.postgres.withTransaction(logger: fixture.logger) { connection in
                                try await connection.query(
                                    """
                                    WITH n AS (UPDATE change_event_counter SET last_seq = last_seq + 3 WHERE id = 1
                                               RETURNING last_seq - 3 AS base)
                                    INSERT INTO change_event (seq, id, type, entity_type, entity_key, key)
                                    SELECT n.base + i, 'evt_' || lpad((n.base + i)::text, 12, '0'), 'test.other.updated',
                                           'other', \(String(round)) || '-' || i, jsonb_build_object('n', i)
                                    FROM n, generate_series(1, 3) i
                                    """, logger: fixture.logger)
                                try await Task.sleep(for: .milliseconds(150))
                            }
                            try await fixture.postgres.execute("NOTIFY registry_deliveries", logger: fixture.logger)
                        }
                    }
                    try await group.waitForAll()
                }
                let last: Int64 = try await fixture.postgres.scalar("SELECT last_seq FROM change_event_counter")
                #expect(last - before > 15)
                #expect(await eventually { fixture.receiver.all.count >= Int(last - before) })
            }
            let seqs = fixture.receiver.all.compactMap(\.seq)
            let last: Int64 = try await fixture.postgres.scalar("SELECT last_seq FROM change_event_counter")
            #expect(seqs == Array((before + 1)...last))
            #expect(fixture.receiver.all.contains { $0.json?["type"] as? String == "test.other.updated" })
        }
    }

    @Test func pruningRemovesOldEventsAndFinishedDeliveriesButNeverQueuedOnes() async throws {
        try await DispatchFixture.with(seed: 92) { fixture in
            let (subscription, _) = try await fixture.subscribe(types: ["sam.company.*"])
            try await fixture.dispatching {
                #expect(
                    await eventually {
                        (try? await fixture.count("SELECT count(*) FROM delivery WHERE status = 'succeeded'")) ?? 0 > 0
                    })
            }
            try await fixture.postgres.execute(
                """
                INSERT INTO delivery (subscription_id, kind, message_id, event_type, status, created_at)
                VALUES (\(subscription.id), 'replay', 'evt_000000000001', 'sam.company.created', 'retrying',
                        now() - interval '200 days')
                """, logger: fixture.logger)
            try await fixture.postgres.execute(
                "UPDATE delivery SET created_at = now() - interval '100 days' WHERE status = 'succeeded'",
                logger: fixture.logger)
            try await fixture.postgres.execute(
                "UPDATE change_event SET occurred_at = now() - interval '91 days' WHERE seq <= 5",
                logger: fixture.logger)
            let removed = try await ChangeFeed(client: fixture.postgres, logger: fixture.logger).prune(
                olderThanDays: 90)
            #expect(removed == 5)
            #expect(try await fixture.count("SELECT min(seq) FROM change_event") == 6)
            #expect(try await fixture.count("SELECT count(*) FROM delivery WHERE status = 'succeeded'") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM delivery_attempt") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM delivery WHERE status = 'retrying'") == 1)
        }
    }
}
