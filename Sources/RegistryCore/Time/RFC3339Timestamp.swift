/// A strict RFC 3339 `date-time` (section 5.6): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `T`/`Z`
/// in either case, a real calendar date, hours 00–23, minutes 00–59, seconds 00–59 (leap seconds
/// are refused), up to nine fraction digits, an offset of at most ±23:59 as the grammar allows
/// (`time-hour ":" time-minute`), years 0001–9999 once in UTC.
package struct RFC3339Timestamp: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00:00Z (whole seconds; the fraction is kept as digits).
    package let epochSeconds: Int64
    /// The fraction digits as written (empty when there were none).
    package let fraction: String

    package init?(_ text: String) {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        func byte(_ i: Int, _ allowed: String) -> Bool { i < b.count && allowed.utf8.contains(b[i]) }
        guard b.count >= 20, let year = digits(0..<4), byte(4, "-"), let month = digits(5..<7), byte(7, "-"),
            let day = digits(8..<10), byte(10, "Tt"), let hour = digits(11..<13), byte(13, ":"),
            let minute = digits(14..<16), byte(16, ":"), let second = digits(17..<19)
        else { return nil }
        guard let date = LocalDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction = ""
        if byte(i, ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard (1...9).contains(i - start) else { return nil }
            fraction = String(decoding: b[start..<i], as: UTF8.self)
        }
        var offset = 0
        if byte(i, "Zz") {
            i += 1
        } else if byte(i, "+-") {
            guard let offsetHours = digits(i + 1..<i + 3), byte(i + 3, ":"), let offsetMinutes = digits(i + 4..<i + 6),
                offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offset = (offsetHours * 60 + offsetMinutes) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let local =
            Int64(date.dayNumber) * 86400
            + Int64(hour * 3600 + minute * 60 + second)
        let utc = local - Int64(offset)
        // 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z
        guard utc >= -62_135_596_800, utc < 253_402_300_800 else { return nil }
        self.epochSeconds = utc
        self.fraction = fraction
    }

    /// The instant in UTC, `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
    package var utcText: String {
        let days = Int(epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400)
        let secondsOfDay = Int(epochSeconds - Int64(days) * 86400)
        let date = LocalDate(dayNumber: days)
        let (year, month, day) = (date.year, date.month, date.day)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2))"
        if !fraction.isEmpty { text += "." + fraction }
        return text + "Z"
    }
}
