import Foundation

/// The current instant and today's date in Brussels, from one injectable source: answers that
/// depend on "today" (SAM validity, active practices) take it from here, so a test can run them
/// at a chosen moment, such as a minute before midnight in Brussels.
package struct RegistryClock: Sendable {
    package let now: @Sendable () -> Date

    package init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// The system's clock.
    package static let system = RegistryClock { Date() }

    /// A clock stopped at `instant`.
    package static func fixed(_ instant: Date) -> RegistryClock { RegistryClock { instant } }

    /// Today in Europe/Brussels (SAM validity dates are Belgian dates).
    package var today: LocalDate { LocalDate.todayInBrussels(now()) }
}
