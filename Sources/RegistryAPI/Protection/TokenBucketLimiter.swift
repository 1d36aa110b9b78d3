import Synchronization

/// Token buckets by key (a client id, a source address), in process: each key may spend `burst`
/// requests at once and `ratePerSecond` more every second.
///
/// The table is bounded: when it holds `maximumKeys` buckets, the full ones (idle keys) are
/// dropped first, then every bucket, so a sweep of forged addresses cannot grow memory.
package final class TokenBucketLimiter: Sendable {
    package struct Limit: Sendable, Equatable {
        package var ratePerSecond: Double
        package var burst: Double

        package init(ratePerSecond: Double, burst: Double) {
            self.ratePerSecond = ratePerSecond
            self.burst = burst
        }

        /// No limit at all (rate 0 in configuration).
        package var isUnlimited: Bool { ratePerSecond <= 0 }
    }

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let maximumKeys: Int
    let buckets = Mutex<[String: Bucket]>([:])

    package init(maximumKeys: Int = 100_000) {
        self.maximumKeys = maximumKeys
    }

    /// Takes one token from `key`'s bucket: nil when the request may go, else how long until a
    /// token is available (the `Retry-After`).
    package func take(_ key: String, limit: Limit, now: ContinuousClock.Instant = .now) -> Duration? {
        guard !limit.isUnlimited else { return nil }
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, seconds) * limit.ratePerSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return .milliseconds(Int64(((1 - bucket.tokens) / limit.ratePerSecond * 1000).rounded(.up)))
            }
            bucket.tokens -= 1
            if buckets[key] == nil, buckets.count >= maximumKeys {
                buckets = buckets.filter { $0.value.tokens < limit.burst - 1 }
                if buckets.count >= maximumKeys { buckets.removeAll(keepingCapacity: true) }
            }
            buckets[key] = bucket
            return nil
        }
    }

    package var keyCount: Int { buckets.withLock { $0.count } }
}
