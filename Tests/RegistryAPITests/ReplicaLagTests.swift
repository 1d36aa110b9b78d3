import Testing

@testable import RegistryAPI

/// The lag of a standby in time, from the primary's WAL positions sampled over time.
struct ReplicaLagTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test func positionsParseAsPostgreSQLPrintsThem() {
        #expect(ReplicaLagEstimator.position("0/0") == 0)
        #expect(ReplicaLagEstimator.position("16/B374D848") == 0x16_B374_D848)
        #expect(ReplicaLagEstimator.position("FFFFFFFF/FFFFFFFF") == UInt64.max)
        for bad in ["", "16", "16/", "/1", "G/1", "1/2/3", "123456789/1", " 1/2", "1/-2"] {
            #expect(ReplicaLagEstimator.position(bad) == nil, "\(bad)")
        }
    }

    @Test func aStandbyAtOrPastTheNewestSampleHasNoLag() {
        var estimator = ReplicaLagEstimator()
        #expect(estimator.lag(replayed: 5, now: at(0)) == .zero)  // nothing known about the primary
        estimator.record(primary: 100, at: at(1))
        estimator.record(primary: 200, at: at(2))
        #expect(estimator.lag(replayed: 200, now: at(10)) == .zero)
        #expect(estimator.lag(replayed: 250, now: at(10)) == .zero)
    }

    @Test func aStandbyBehindIsAsOldAsTheLastSampleItPassed() {
        var estimator = ReplicaLagEstimator()
        estimator.record(primary: 100, at: at(1))
        estimator.record(primary: 200, at: at(2))
        estimator.record(primary: 300, at: at(3))
        // Replayed 250: it has what the primary had at 2 s, not at 3 s.
        #expect(estimator.lag(replayed: 250, now: at(5)) == .seconds(3))
        // The lag keeps growing while it stays there, and drops when it catches up.
        #expect(estimator.lag(replayed: 250, now: at(9)) == .seconds(7))
        #expect(estimator.lag(replayed: 300, now: at(9)) == .zero)
    }

    @Test func aStandbyBehindEverySampleIsUnknownForTheCallerToEstimate() {
        var estimator = ReplicaLagEstimator()
        estimator.record(primary: 100, at: at(1))
        #expect(estimator.lag(replayed: 50, now: at(2)) == nil)
    }

    @Test func anIdlePrimaryAddsNoSamplesAndMemoryStaysBounded() {
        var estimator = ReplicaLagEstimator()
        for second in 0..<10 { estimator.record(primary: 100, at: at(Double(second))) }
        #expect(estimator.samples.count == 1)
        for position in 1...(ReplicaLagEstimator.maximumSamples * 2) {
            estimator.record(primary: UInt64(position), at: at(Double(position)))
        }
        #expect(estimator.samples.count == ReplicaLagEstimator.maximumSamples)
    }
}
