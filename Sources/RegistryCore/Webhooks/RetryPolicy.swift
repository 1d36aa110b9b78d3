import Foundation

/// When a failed delivery is tried again, when it becomes a dead letter, and when a subscription
/// that keeps failing is disabled.
///
/// The default spreads nine retries over about three days (5 s … 24 h), each delay stretched by
/// up to `jitter` (a share of the delay) so that receivers coming back from an outage are not hit
/// by every subscription in the same second.
package struct RetryPolicy: Sendable, Hashable {
    /// Delay before retry n (n = 1 is the first retry), in seconds.
    package var delays: [Double]
    /// Up to this share of each delay is added at random.
    package var jitter: Double
    /// A subscription whose deliveries have failed without a success for this long is disabled.
    package var disableAfterSeconds: Double

    package static let standard = RetryPolicy(
        delays: [5, 60, 300, 1800, 7200, 21600, 43200, 86400, 86400, 86400], jitter: 0.2, disableAfterSeconds: 5 * 86400
    )

    package init(delays: [Double], jitter: Double, disableAfterSeconds: Double) {
        self.delays = delays
        self.jitter = jitter
        self.disableAfterSeconds = disableAfterSeconds
    }

    /// Parses `5s,1m,5m,30m,2h,6h,12h,24h,24h,24h` (units s, m, h, d; a bare number is seconds).
    package init?(schedule: String, jitter: Double = 0.2, disableAfterSeconds: Double = 5 * 86400) {
        var delays: [Double] = []
        for part in schedule.split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let last = text.last else { return nil }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            var number = Substring(text)
            var unit: Double = 1
            if last.isLetter {
                guard let known = units[last] else { return nil }
                unit = known
                number = number.dropLast()
            }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            delays.append(value * unit)
        }
        guard !delays.isEmpty, (0...1).contains(jitter), disableAfterSeconds > 0 else { return nil }
        self.init(delays: delays, jitter: jitter, disableAfterSeconds: disableAfterSeconds)
    }

    /// What to do after the `attempts`-th attempt failed: wait `seconds` (at least what the
    /// receiver asked for with `Retry-After`), or give up (dead letter) when the schedule is spent.
    package func afterFailure(attempts: Int, retryAfter: Double? = nil, random: Double) -> Double? {
        guard attempts >= 1, attempts <= delays.count else { return nil }
        let base = delays[attempts - 1]
        let delay = base + base * jitter * min(max(random, 0), 1)
        return max(delay, retryAfter ?? 0)
    }
}
