import Foundation

/// When a failed request is tried again: on 5xx, 408, 429 and network errors, never on other
/// 4xx; after an exponentially growing, jittered delay, or the server's `Retry-After`.
package struct DownloadRetryPolicy: Sendable, Equatable {
    package var maxAttempts: Int
    package var baseDelay: Double
    package var maxDelay: Double

    package init(maxAttempts: Int, baseDelay: Double, maxDelay: Double) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Whether an HTTP status is worth another attempt.
    package static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1): `baseDelay · 2^(attempt-1)`,
    /// scaled by a random factor in 0.5..<1 ("equal jitter", so that clients that failed together
    /// do not retry together), capped at `maxDelay`; a `Retry-After` the server sent wins (capped too).
    package func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter { return min(max(0, retryAfter), maxDelay) }
        let exponential = baseDelay * pow(2, Double(max(0, attempt - 1)))
        return min(maxDelay, exponential * (0.5 + random / 2))
    }

    /// `Retry-After` as seconds from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    package static func parseRetryAfter(_ value: String, now: Date) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return Double(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
