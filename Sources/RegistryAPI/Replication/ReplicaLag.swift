/// How far a hot standby is behind its primary, in time.
///
/// PostgreSQL gives positions, not times: the primary's WAL position (`pg_current_wal_lsn`) and
/// the standby's replayed one (`pg_last_wal_replay_lsn`). The estimator samples the primary's
/// position over time; a standby that has replayed up to sample *i* but not *i+1* has everything
/// the primary had at sample *i*'s time, so its lag is at most the age of that sample. A standby
/// at or past the newest sample has no lag. The resolution is the sampling interval.
/// (`now() - pg_last_xact_replay_timestamp()` alone would call an idle primary's standby "behind".)
package struct ReplicaLagEstimator: Sendable {
    /// The primary's positions, oldest first, from the oldest one the standby may not have passed.
    private(set) var samples: [(at: ContinuousClock.Instant, position: UInt64)] = []
    /// Samples kept at most (a standby stuck for a long time must not grow memory).
    static let maximumSamples = 4096

    package init() {}

    /// Records that the primary was at `position` (or beyond) at `instant` (taken before the
    /// query that read the position).
    package mutating func record(primary position: UInt64, at instant: ContinuousClock.Instant) {
        if let last = samples.last, last.position >= position { return }
        samples.append((instant, position))
        if samples.count > Self.maximumSamples { samples.removeFirst(samples.count - Self.maximumSamples) }
    }

    /// The lag of a standby that has replayed up to `replayed`, or nil when it is behind every
    /// sample (the caller falls back on the age of its last replayed commit).
    package mutating func lag(replayed: UInt64, now: ContinuousClock.Instant) -> Duration? {
        guard let newest = samples.last else { return .zero }
        if replayed >= newest.position {
            samples = [newest]
            return .zero
        }
        guard let caughtUpTo = samples.lastIndex(where: { $0.position <= replayed }) else { return nil }
        samples.removeFirst(caughtUpTo)
        return now - samples[0].at
    }

    /// `16/B374D848` → its 64-bit position; nil for anything else.
    package static func position(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...8).contains(parts[0].count), (1...8).contains(parts[1].count),
            let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16)
        else { return nil }
        return high << 32 | low
    }
}
