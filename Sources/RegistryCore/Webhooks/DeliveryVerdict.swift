import Foundation

/// What a receiver's answer means for a delivery (Standard Webhooks semantics plus ours).
package enum DeliveryVerdict: Sendable, Hashable {
    /// 2xx: delivered.
    case accepted
    /// 410 Gone: the receiver wants no more; the subscription is disabled.
    case gone
    /// Anything else, timeouts and refused targets: try again later (`notBefore`: seconds the
    /// receiver asked for with `Retry-After` on a 429 or 503).
    case failed(reason: String, notBefore: Double?)

    /// `now` is used to turn an HTTP-date `Retry-After` into seconds.
    package static func classify(status: Int, retryAfter: String?, now: Date = Date()) -> DeliveryVerdict {
        switch status {
        case 200...299: return .accepted
        case 410: return .gone
        case 300...399:
            return .failed(reason: "HTTP \(status): redirects are not followed", notBefore: nil)
        case 429, 503:
            return .failed(
                reason: "HTTP \(status)", notBefore: retryAfter.flatMap { seconds(retryAfter: $0, now: now) })
        default: return .failed(reason: "HTTP \(status)", notBefore: nil)
        }
    }

    /// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at one day.
    package static func seconds(retryAfter text: String, now: Date) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return Double(min(seconds, 86400)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return min(max(date.timeIntervalSince(now), 0), 86400)
    }
}
