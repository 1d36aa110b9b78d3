import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryCore
import RegistryStore
import Testing

/// `sam.<entity>.effective`: emitted on the day a future slice takes effect, exactly once, with
/// catch-up after downtime, and delivered like any event.
@Suite(.timeLimit(.minutes(5)))
struct EffectiveDateTests {
    @Test func aFutureSliceBecomesAnEffectiveEventOnItsDayExactlyOnceAndAfterDowntime() async throws {
        try await DispatchFixture.with(seed: 93, scale: 0.004) { fixture in
            // The earliest future-dated DMPP slice of the generated export, and the packs it concerns.
            let firstFuture = try await fixture.postgres.strings(
                """
                SELECT min(s ->> 'from') FROM sam_entity, jsonb_array_elements(document -> 'slices') s
                WHERE entity_type = 'dmpp' AND s ->> 'from' > to_char(now(), 'YYYY-MM-DD')
                """)
            let day = try #require(firstFuture.first.flatMap { LocalDate(iso: $0) })
            let starting = Set(
                try await fixture.postgres.strings(
                    """
                    SELECT entity_key FROM sam_entity
                    WHERE entity_type = 'dmpp' AND jsonb_path_exists(document, '$.slices[*] ? (@.from == $d)',
                                                                      jsonb_build_object('d', \(day.description)::text))
                    """))
            #expect(!starting.isEmpty)
            let emitter = EffectiveDateEmitter(client: fixture.postgres, logger: fixture.logger)
            let (subscription, _) = try await fixture.subscribe(types: ["sam.dmpp.effective"], after: nil)

            // First run two days before: starts there, emits nothing for the day.
            let firstRun = try await emitter.catchUp(today: day.adding(days: -2))
            #expect(firstRun.map(\.0) == [day.adding(days: -2)])
            // Down for three days, back the day after: each missed day once, in order.
            let catchUp = try await emitter.catchUp(today: day.adding(days: 1))
            #expect(catchUp.map(\.0) == [day.adding(days: -1), day, day.adding(days: 1)])
            // Again the same day, and two processes at once: nothing more.
            async let one = emitter.catchUp(today: day.adding(days: 1))
            async let two = emitter.catchUp(today: day.adding(days: 1))
            let (first, second) = try await (one, two)
            #expect(first.isEmpty && second.isEmpty)

            let rows = try await fixture.postgres.query(
                """
                SELECT entity_key, effective_from::text, changed FROM change_event
                WHERE type = 'sam.dmpp.effective' AND effective_from = \(day.description)::date
                """, logger: fixture.logger)
            var keys: [String] = []
            for try await (key, from, changed) in rows.decode((String, String, [String]).self) {
                keys.append(key)
                #expect(from == day.description)
                #expect(!changed.isEmpty)
            }
            // Every pack with a slice starting that day has exactly one event, unless the new slice
            // repeats the old values (then nothing changes).
            #expect(Set(keys).count == keys.count)
            #expect(Set(keys).isSubset(of: starting))
            #expect(!keys.isEmpty)
            let priceChanges = try await fixture.count(
                """
                SELECT count(*) FROM change_event WHERE type = 'sam.dmpp.effective' AND 'Price' = ANY (changed)
                """)
            #expect(priceChanges > 0)

            // They are delivered like every event, with the lookup link.
            let total = try await fixture.count("SELECT count(*) FROM change_event WHERE type = 'sam.dmpp.effective'")
            try await fixture.dispatching {
                #expect(await eventually { fixture.receiver.all.count >= Int(total) })
                // A receipt comes before its round is recorded: wait for the records too.
                #expect(await fixture.succeeded(Int(total)))
            }
            let sample = try #require(fixture.receiver.all.first?.json?["data"] as? [String: Any])
            #expect((sample["href"] as? String)?.hasPrefix("/v1/medicines/cnk/") == true)
            #expect(sample["effectiveFrom"] as? String != nil)
            #expect(
                try await fixture.count("SELECT count(*) FROM delivery WHERE subscription_id = \(subscription.id)")
                    == total)
        }
    }
}
