/// A calendar date without time zone, as SAM uses for `Data from/to`.
///
/// Stored as days since 1970-01-01 so comparisons and overlap checks are integer operations.
package struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let year: Int
    package let month: Int
    package let day: Int

    package init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= LocalDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` strictly (no time part, no offset).
    package init?(iso text: some StringProtocol) {
        // Every slice of an export has one or two dates: parsed in place, without a copy.
        guard
            let parsed = text.utf8.withContiguousStorageIfAvailable({ LocalDate.parseISO($0) })
                ?? LocalDate.parseISO(Array(text.utf8))
        else { return nil }
        self = parsed
    }

    static func parseISO<Bytes: RandomAccessCollection<UInt8>>(_ u: Bytes) -> LocalDate? where Bytes.Index == Int {
        guard u.count == 10 else { return nil }
        let base = u.startIndex
        guard u[base + 4] == UInt8(ascii: "-"), u[base + 7] == UInt8(ascii: "-") else { return nil }
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                let b = u[base + i]
                guard b >= 0x30, b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            return v
        }
        guard let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10) else { return nil }
        return LocalDate(year: y, month: m, day: d)
    }

    package static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian), from Howard Hinnant's `days_from_civil`.
    package var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    package init(dayNumber z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    package func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + days) }

    package static func < (a: LocalDate, b: LocalDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    package var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        writeISO(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD` (what `description` returns) as UTF-8: the import writes two per slice.
    package func writeISO(into out: inout [UInt8]) {
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
    }
}

/// A business validity period: `from` inclusive, `to` inclusive and optional (open-ended).
///
/// SAM's `to` is the last day the data is valid, so a one-day slice has `from == to`.
package struct ValidityPeriod: Sendable, Hashable, CustomStringConvertible {
    package var from: LocalDate
    package var to: LocalDate?

    package init(from: LocalDate, to: LocalDate?) {
        self.from = from
        self.to = to
    }

    package var isWellOrdered: Bool { to.map { from <= $0 } ?? true }

    package func contains(_ day: LocalDate) -> Bool {
        day >= from && (to.map { day <= $0 } ?? true)
    }

    package func overlaps(_ other: ValidityPeriod) -> Bool {
        let aEndsBeforeB = to.map { $0 < other.from } ?? false
        let bEndsBeforeA = other.to.map { $0 < from } ?? false
        return !aEndsBeforeB && !bEndsBeforeA
    }

    package var description: String { "\(from)..\(to.map(\.description) ?? "")" }
}
