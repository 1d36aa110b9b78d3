import Foundation

/// When a source is checked: every `interval` seconds give or take a random `jitter` share (so
/// that many registries do not poll the source at the same second), or at the times a cron-like
/// expression names, in Brussels time.
package enum SyncSchedule: Sendable, Equatable {
    case interval(seconds: Double, jitter: Double)
    case cron(CronExpression)

    /// The next check after `now`; `random` is a number in 0..<1 (injected for tests).
    package func nextCheck(after now: Date, random: Double) -> Date {
        switch self {
        case .interval(let seconds, let jitter):
            let spread = seconds * jitter * (random * 2 - 1)
            return now.addingTimeInterval(max(0.05, seconds + spread))
        case .cron(let expression):
            return expression.nextMatch(after: now)
        }
    }
}

/// A five-field cron expression (`minute hour day-of-month month day-of-week`) with `*`, lists,
/// ranges and steps (`*/15`, `1-5`, `0,30`), evaluated in Europe/Brussels time, because that
/// is the clock of the operators and of the sources' publication times.
package struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    package let minutes: Set<Int>
    package let hours: Set<Int>
    package let daysOfMonth: Set<Int>
    package let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday (7 is accepted for Sunday too).
    package let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool
    package let description: String

    package struct ParseError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(parsing text: String) throws {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(
                description:
                    "cron expression \"\(text)\": expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)"
            )
        }
        func field(_ index: Int, _ name: String, _ range: ClosedRange<Int>) throws -> Set<Int> {
            try Self.parseField(fields[index], name: name, range: range, expression: text)
        }
        minutes = try field(0, "minute", 0...59)
        hours = try field(1, "hour", 0...23)
        daysOfMonth = try field(2, "day-of-month", 1...31)
        months = try field(3, "month", 1...12)
        daysOfWeek = Set(try field(4, "day-of-week", 0...7).map { $0 == 7 ? 0 : $0 })
        dayOfMonthRestricted = fields[2] != "*"
        dayOfWeekRestricted = fields[4] != "*"
        description = fields.joined(separator: " ")
    }

    static func parseField(_ field: String, name: String, range: ClosedRange<Int>, expression: String) throws -> Set<
        Int
    > {
        var values = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let base = pieces.first, !base.isEmpty else {
                throw ParseError(description: "cron expression \"\(expression)\": bad \(name) field \"\(field)\"")
            }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0, s <= range.upperBound else {
                    throw ParseError(description: "cron expression \"\(expression)\": bad step in \(name) \"\(part)\"")
                }
                step = s
            }
            var low = range.lowerBound
            var high = range.upperBound
            if base != "*" {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, let l = Int(bounds[0]), range.contains(l) else {
                    throw ParseError(
                        description:
                            "cron expression \"\(expression)\": \(name) \"\(part)\" is not a number in \(range.lowerBound)-\(range.upperBound)"
                    )
                }
                low = l
                high = pieces.count == 2 ? range.upperBound : l
                if bounds.count == 2 {
                    guard let h = Int(bounds[1]), range.contains(h), h >= l else {
                        throw ParseError(
                            description: "cron expression \"\(expression)\": bad \(name) range \"\(part)\"")
                    }
                    high = h
                }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    static let brussels: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels") ?? .gmt
        return calendar
    }()

    /// The first whole minute after `date` that matches (searching up to four years ahead).
    package func nextMatch(after date: Date) -> Date {
        let calendar = Self.brussels
        var candidate = calendar.date(bySetting: .second, value: 0, of: date.addingTimeInterval(60)) ?? date
        if candidate <= date { candidate = candidate.addingTimeInterval(60) }
        let limit = date.addingTimeInterval(4 * 366 * 86_400)
        while candidate < limit {
            let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: candidate)
            let (minute, hour, day, month) = (c.minute!, c.hour!, c.day!, c.month!)
            let weekday = c.weekday! - 1
            guard months.contains(month) else {
                candidate =
                    calendar.nextDate(
                        after: candidate, matching: DateComponents(day: 1, hour: 0, minute: 0),
                        matchingPolicy: .nextTime)
                    ?? limit
                continue
            }
            // As in cron: when both day fields are restricted, either may match.
            let dayMatches: Bool =
                switch (dayOfMonthRestricted, dayOfWeekRestricted) {
                case (true, true): daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
                case (true, false): daysOfMonth.contains(day)
                case (false, true): daysOfWeek.contains(weekday)
                case (false, false): true
                }
            guard dayMatches else {
                candidate =
                    calendar.nextDate(
                        after: candidate, matching: DateComponents(hour: 0, minute: 0), matchingPolicy: .nextTime)
                    ?? limit
                continue
            }
            guard hours.contains(hour) else {
                candidate =
                    calendar.nextDate(after: candidate, matching: DateComponents(minute: 0), matchingPolicy: .nextTime)
                    ?? limit
                continue
            }
            if minutes.contains(minute) { return candidate }
            candidate = candidate.addingTimeInterval(60)
        }
        return limit
    }
}
