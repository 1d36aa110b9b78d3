/// What happened to one entity between two imports.
package enum ChangeKind: String, Sendable, Codable {
    case created, updated, deleted
}

/// The description of one entity change, as carried by a change event.
package struct EntityChange: Sendable, Hashable {
    package var kind: ChangeKind
    /// Names of the fields (or attributes) whose value differs on at least one day.
    package var changedFields: [String]
    /// The first day on which the entity differs (for creations: its earliest slice start).
    package var effectiveFrom: String?

    package init(kind: ChangeKind, changedFields: [String], effectiveFrom: String?) {
        self.kind = kind
        self.changedFields = changedFields
        self.effectiveFrom = effectiveFrom
    }
}

/// Compares two stored entity documents (`{"key","attributes","slices"}`) and says what changed.
///
/// Fields are compared as functions of the date: a field "changed" when its value on some day
/// differs between the versions. So a new future price slice (old slice closed the day before)
/// reports `Price` from that day, not every field of the closed slice; closing a slice reports its
/// fields from the day after its new end.
package enum EntityDiff {
    package static func compare(old: JSONValue?, new: JSONValue?) -> EntityChange? {
        switch (old, new) {
        case (nil, nil):
            return nil
        case (nil, let new?):
            let slices = sliceList(new)
            let fields = Set(slices.flatMap { $0.fields.keys }).union(attributeNames(new))
            let earliest = slices.compactMap(\.from).min().map(\.description)
            return EntityChange(kind: .created, changedFields: fields.sorted(), effectiveFrom: earliest)
        case (.some, nil):
            return EntityChange(kind: .deleted, changedFields: [], effectiveFrom: nil)
        case (let old?, let new?):
            if old == new { return nil }
            var changed = Set<String>()
            let oldAttributes = old["attributes"] ?? .object([:])
            let newAttributes = new["attributes"] ?? .object([:])
            for name in attributeNames(old).union(attributeNames(new)) where oldAttributes[name] != newAttributes[name]
            {
                changed.insert(name)
            }
            let oldSlices = sliceList(old)
            let newSlices = sliceList(new)
            // Every day where some slice starts or ends (+1) bounds a segment on which both versions are constant.
            var boundaries = Set<Int>([Int.min])
            for s in oldSlices + newSlices {
                if let f = s.from { boundaries.insert(f.dayNumber) }
                if let t = s.to { boundaries.insert(t.dayNumber + 1) }
            }
            let fieldNames = Set(oldSlices.flatMap { $0.fields.keys }).union(newSlices.flatMap { $0.fields.keys })
            var earliest: Int?
            for day in boundaries.sorted() {
                let a = slice(in: oldSlices, at: day)
                let b = slice(in: newSlices, at: day)
                var differs = false
                for name in fieldNames where a?.fields[name] != b?.fields[name] {
                    changed.insert(name)
                    differs = true
                }
                if differs && earliest == nil { earliest = day }
            }
            if changed.isEmpty { changed.insert("validity") }
            let effective = earliest.flatMap { $0 == Int.min ? nil : LocalDate(dayNumber: $0).description }
            return EntityChange(kind: .updated, changedFields: changed.sorted(), effectiveFrom: effective)
        }
    }

    struct Slice: Hashable {
        var from: LocalDate?
        var to: LocalDate?
        var fields: [String: JSONValue]

        func contains(_ day: Int) -> Bool {
            (from.map { $0.dayNumber <= day } ?? true) && (to.map { day <= $0.dayNumber } ?? true)
        }
    }

    static func slice(in slices: [Slice], at day: Int) -> Slice? {
        slices.first { $0.contains(day) }
    }

    static func attributeNames(_ doc: JSONValue) -> Set<String> {
        if case .object(let members)? = doc["attributes"] { return Set(members.keys) }
        return []
    }

    static func sliceList(_ doc: JSONValue) -> [Slice] {
        guard case .array(let items)? = doc["slices"] else { return [] }
        return items.map { item in
            var fields: [String: JSONValue] = [:]
            if case .object(let f)? = item["fields"] { fields = f }
            return Slice(
                from: item["from"]?.stringValue.flatMap { LocalDate(iso: $0) },
                to: item["to"]?.stringValue.flatMap { LocalDate(iso: $0) }, fields: fields)
        }
    }
}
