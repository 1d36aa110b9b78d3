import NIOCore
import RegistryCore

/// The limits that keep one client from exhausting the server (README, "Limits").
package struct ProtectionSettings: Sendable {
    /// Requests per second (and burst) per source address of requests without a known token.
    package var perAddress = TokenBucketLimiter.Limit(ratePerSecond: 200, burst: 400)
    /// Requests per second (and burst) per API client (bearer token).
    package var perClient = TokenBucketLimiter.Limit(ratePerSecond: 1000, burst: 2000)
    /// Source addresses never rate limited: loopback by default, where a local reverse proxy (which
    /// then limits by its own client addresses) and the benchmarks connect from.
    package var exempt: [IPNetwork] = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
    /// A connection must deliver a complete request head this long after its first byte.
    package var headerTimeout: TimeAmount = .seconds(10)
    /// An idle keep-alive connection (nothing read or written) is closed after this long.
    package var idleTimeout: TimeAmount = .seconds(60)
    /// A request (body read, handler, answer) must finish within this long, else 503; long polls
    /// (`/v1/changes?wait=`, at most 30 s) fit inside the default. nil: no deadline.
    package var requestTimeout: Duration? = .seconds(45)
    /// Longest an API read's SQL statement may run (PostgreSQL `statement_timeout`; 0 = none).
    package var statementTimeout: Duration = .seconds(10)
    /// Unauthenticated refusals written to the audit log: a burst, then one per this many seconds;
    /// the rest are counted (in the next written row and in `/metrics`).
    package var unauthenticatedAuditBurst = 10
    package var unauthenticatedAuditIntervalSeconds = 10.0

    package init() {}

    /// `rate[/burst]` per second, e.g. `200/400`; `0` turns the limit off.
    package static func parseLimit(_ text: String) -> TokenBucketLimiter.Limit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate >= 0, rate.isFinite else { return nil }
        let burst = parts.count == 2 ? Double(parts[1]) : rate * 2
        guard let burst, burst >= 1 || rate == 0, burst.isFinite else { return nil }
        return .init(ratePerSecond: rate, burst: burst)
    }
}
