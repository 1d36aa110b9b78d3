/// One SAM entity as stored: its canonical document `{"key","attributes","slices":[{"from","to","fields"}]}`.
package struct StoredSAMEntity: Sendable {
    package var type: String
    package var key: String
    package var parentType: String?
    package var parentKey: String?
    package let document: JSONValue
    package var changedRunId: Int64?
    /// Slices as (period, fields), oldest first; a slice without `from` counts as valid since ever.
    /// Parsed once: a lookup asks for the slice at a date several times per entity.
    package let slices: [(from: LocalDate?, to: LocalDate?, fields: JSONValue)]

    package init(
        type: String, key: String, parentType: String?, parentKey: String?, document: JSONValue, changedRunId: Int64?
    ) {
        self.type = type
        self.key = key
        self.parentType = parentType
        self.parentKey = parentKey
        self.document = document
        self.changedRunId = changedRunId
        if case .array(let items) = document["slices"] ?? .null {
            slices = items.map { slice in
                (
                    slice["from"]?.stringValue.flatMap { LocalDate(iso: $0) },
                    slice["to"]?.stringValue.flatMap { LocalDate(iso: $0) }, slice["fields"] ?? .object([:])
                )
            }.sorted { ($0.from?.dayNumber ?? Int.min) < ($1.from?.dayNumber ?? Int.min) }
        } else {
            slices = []
        }
    }

    /// The slice valid on `day` (`to` inclusive). SAM slices of one entity do not overlap; if bad
    /// data ever made them, the latest-starting one wins.
    package func slice(at day: LocalDate) -> (from: LocalDate?, to: LocalDate?, fields: JSONValue)? {
        slices.last { covers(from: $0.from, to: $0.to, day: day) }
    }

    /// The slice period closest to `day`, for "not valid at that date" answers.
    package func nearestPeriod(to day: LocalDate) -> (from: LocalDate?, to: LocalDate?)? {
        let distances = slices.map { slice -> (Int, LocalDate?, LocalDate?) in
            if let from = slice.from, day < from { return (from.dayNumber - day.dayNumber, slice.from, slice.to) }
            if let to = slice.to, to < day { return (day.dayNumber - to.dayNumber, slice.from, slice.to) }
            return (0, slice.from, slice.to)
        }
        return distances.min { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }
}

package func covers(from: LocalDate?, to: LocalDate?, day: LocalDate) -> Bool {
    if let from, day < from { return false }
    if let to, to < day { return false }
    return true
}
