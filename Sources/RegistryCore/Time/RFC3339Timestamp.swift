/// A strict RFC 3339 `date-time` (section 5.6): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `T`/`Z`
/// in either case, a real calendar date, hours 00–23, minutes 00–59, seconds 00–59 (leap seconds
/// are refused), up to nine fraction digits, an offset of at most ±23:59 as the grammar allows
/// (`time-hour ":" time-minute`), years 0001–9999 once in UTC.
public struct RFC3339Timestamp: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00:00Z (whole seconds; the fraction is kept as digits).
    public let epochSeconds: Int64
    /// The fraction digits as written (empty when there were none).
    public let fraction: String

    public init?(_ text: String) {
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
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second < 60
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
            Int64(Self.daysFromCivil(year: year, month: month, day: day)) * 86400
            + Int64(hour * 3600 + minute * 60 + second)
        let utc = local - Int64(offset)
        // 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z
        guard utc >= -62_135_596_800, utc < 253_402_300_800 else { return nil }
        self.epochSeconds = utc
        self.fraction = fraction
    }

    /// The instant in UTC, `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
    public var utcText: String {
        let days = Int(epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400)
        let secondsOfDay = Int(epochSeconds - Int64(days) * 86400)
        let (year, month, day) = Self.civil(fromDays: days)
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

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
