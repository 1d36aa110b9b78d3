import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryCore
import RegistryImport
import RegistryStore
import Testing

/// The one import-run driver every pipeline runs under: for each domain, an applied run commits
/// its data with its run record and notifies; a refused run changes no data and is recorded with
/// its reason and findings; a failed run is recorded and rethrown; a second run of a domain waits
/// for the lock while another domain's run proceeds.
@Suite(.timeLimit(.minutes(5)))
struct ImportRunDriverTests {
    static let logger = TestDatabase.logger

    /// A change the body makes inside the run's transaction: visible only if it committed.
    static func touchCounter(_ run: ImportRun) async throws {
        try await run.connection.execute(
            "UPDATE change_event_counter SET last_seq = last_seq + 1000 WHERE id = 1", logger: logger)
    }

    static func counter(_ postgres: PostgresClient) async throws -> Int64 {
        try await postgres.scalar("SELECT last_seq FROM change_event_counter WHERE id = 1", as: Int64.self)
    }

    @Test(arguments: ImportDomain.allCases)
    func appliedRunCommitsItsDataWithItsRecordAndNotifies(domain: ImportDomain) async throws {
        try await TestDatabase.with { postgres, _ in
            let before = try await Self.counter(postgres)
            let payloads = try await postgres.withConnection { listener in
                try await listener.listen(on: "registry_data") { notifications in
                    let summary = try await ImportRunDriver(client: postgres, logger: Self.logger).run(
                        domain, source: "test-source"
                    ) { run in
                        run.findings = [
                            QualityFinding(
                                rule: QualityRule(id: "TEST-1", severity: .warning, summary: "test"), message: "noted")
                        ]
                        try await run.transaction { try await Self.touchCounter(run) }
                    }
                    #expect(summary.outcome == .applied)
                    #expect(summary.label == domain.label)
                    #expect(summary.findingsBySeverity[.warning] == 1)
                    var received: [String] = []
                    for try await notification in notifications {
                        received.append(notification.payload)
                        break
                    }
                    return (received, summary.runId)
                }
            }
            // The payload names the run, whose change events the API's cache listener reads.
            #expect(payloads.0 == ["\(domain.rawValue):\(payloads.1)"])
            #expect(try await Self.counter(postgres) == before + 1000)
            let row = try await postgres.strings(
                """
                SELECT domain || ' ' || source || ' ' || outcome || ' ' || findings_total || ' '
                       || (finished_at IS NOT NULL)::text
                FROM import_run
                """)
            #expect(row == ["\(domain.rawValue) test-source applied 1 true"])
            #expect(try await postgres.scalar("SELECT count(*) FROM import_finding", as: Int64.self) == 1)
        }
    }

    @Test(arguments: ImportDomain.allCases)
    func refusedRunChangesNothingAndIsRecordedWithItsReason(domain: ImportDomain) async throws {
        try await TestDatabase.with { postgres, _ in
            let before = try await Self.counter(postgres)
            let finding = QualityFinding(
                rule: QualityRule(id: "TEST-GATE", severity: .fatal, summary: "gate"), entityKey: "k1",
                message: "too much")
            await #expect {
                _ = try await ImportRunDriver(client: postgres, logger: Self.logger).run(domain, source: "s") { run in
                    try await run.transaction {
                        try await Self.touchCounter(run)
                        run.findings = [finding]
                        throw run.refusal("the gate says no")
                    }
                }
            } throws: { error in
                guard case ImportError.refused(let summary) = error else { return false }
                return summary.outcome == .refused && summary.refusalReason == "the gate says no"
                    && summary.findingsBySeverity[.fatal] == 1 && summary.runId > 0
            }
            #expect(try await Self.counter(postgres) == before, "the refused run's change was rolled back")
            #expect(
                try await postgres.strings(
                    "SELECT outcome || ' ' || refusal_reason || ' ' || findings_total FROM import_run")
                    == ["refused the gate says no 1"])
            #expect(
                try await postgres.strings("SELECT rule || ' ' || entity_key || ' ' || message FROM import_finding")
                    == ["TEST-GATE k1 too much"])
        }
    }

    struct Broken: Error {}

    /// A body that does nothing (and never opens the run's transaction).
    static func nothing() throws {}

    @Test func failedRunIsRecordedAndItsErrorRethrown() async throws {
        try await TestDatabase.with { postgres, _ in
            let before = try await Self.counter(postgres)
            await #expect(throws: Broken.self) {
                _ = try await ImportRunDriver(client: postgres, logger: Self.logger).run(.cobrha, source: "s") { run in
                    try await run.transaction {
                        try await Self.touchCounter(run)
                        throw Broken()
                    }
                }
            }
            #expect(try await Self.counter(postgres) == before)
            let outcome = try await postgres.strings("SELECT outcome || ' ' || refusal_reason FROM import_run")
            #expect(outcome.count == 1 && outcome[0].hasPrefix("failed ") && outcome[0].contains("Broken"))
        }
    }

    @Test func aBodyThatNeverAppliesIsAFailureNotASilentSuccess() async throws {
        try await TestDatabase.with { postgres, _ in
            await #expect(throws: ImportError.self) {
                _ = try await ImportRunDriver(client: postgres, logger: Self.logger).run(.practices, source: "s") {
                    _ in try Self.nothing()
                }
            }
            let outcomes = try await postgres.strings("SELECT outcome FROM import_run")
            #expect(outcomes == ["failed"])
        }
    }

    @Test func aSecondRunOfADomainIsRefusedWhileAnotherDomainProceeds() async throws {
        try await TestDatabase.with { postgres, _ in
            let driver = ImportRunDriver(client: postgres, logger: Self.logger)
            let (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
            let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await driver.run(.sporRMS, source: "first") { run in
                    enteredContinuation.yield()
                    for await _ in release { break }
                    try await run.transaction {}
                }
            }
            for await _ in entered { break }
            await #expect {
                _ = try await driver.run(.sporRMS, source: "second") { run in try await run.transaction {} }
            } throws: { error in
                guard case ImportError.alreadyRunning(let label) = error else { return false }
                return label == ImportDomain.sporRMS.label
            }
            let other = try await driver.run(.sporSMS, source: "other") { run in try await run.transaction {} }
            #expect(other.outcome == .applied)
            releaseContinuation.yield()
            #expect(try await holder.value.outcome == .applied)
            // The lock is released with the run: the domain imports again.
            let again = try await driver.run(.sporRMS, source: "again") { run in try await run.transaction {} }
            #expect(again.outcome == .applied)
        }
    }
}
