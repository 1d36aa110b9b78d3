import Foundation

extension LocalDate {
    /// Built once: lookups without `at` and the effective-date emitter ask for today often.
    static let brusselsCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels") ?? TimeZone(secondsFromGMT: 3600)!
        return calendar
    }()

    /// The calendar date in Belgium at `now`: SAM validity dates are Belgian dates, and a slice
    /// starting on a day takes effect at 00:00 Europe/Brussels.
    package static func todayInBrussels(_ now: Date = Date()) -> LocalDate {
        let parts = brusselsCalendar.dateComponents([.year, .month, .day], from: now)
        return LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)!
    }
}
