/// What changes about an entity when a day begins: SAM publishes prices, statuses and closures
/// ahead of time as slices starting (or ending) on a future date.
package enum EffectiveChange {
    /// The fields whose value on `day` differs from the day before (`validity` when the entity
    /// starts or stops being valid that day), or nil when nothing changes that day.
    package static func fields(of entity: StoredSAMEntity, on day: LocalDate) -> [String]? {
        let before = entity.slice(at: day.adding(days: -1))
        let after = entity.slice(at: day)
        switch (before, after) {
        case (nil, nil): return nil
        case (let old?, let new?):
            // Same slice on both days (it neither starts nor ends here): nothing happens.
            if old.from == new.from, old.to == new.to { return nil }
            let changed = differingFields(old.fields, new.fields)
            return changed.isEmpty ? nil : changed
        case (nil, let new?): return ["validity"] + fieldNames(new.fields)
        case (let old?, nil): return ["validity"] + fieldNames(old.fields)
        }
    }

    static func fieldNames(_ fields: JSONValue) -> [String] {
        guard case .object(let members) = fields else { return [] }
        return members.keys.sorted()
    }

    static func differingFields(_ old: JSONValue, _ new: JSONValue) -> [String] {
        guard case .object(let a) = old, case .object(let b) = new else { return old == new ? [] : ["fields"] }
        return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }
}
