import RegistryCore

/// The snapshot rows of one stored SAM entity, by table: what the snapshot builder inserts and what
/// a delta line carries, from the same function, so applying a delta writes what a build writes.
package struct SAMSQLiteRows: Sendable, Equatable {
    /// Table name → rows, each in the table's column order (`SQLiteTable.allColumnNames`, or the
    /// fixed columns of `other_entity` and `medicine_name`).
    package var byTable: [(table: String, rows: [[SQLiteValue]])]

    package static func == (lhs: SAMSQLiteRows, rhs: SAMSQLiteRows) -> Bool {
        lhs.byTable.map(\.table) == rhs.byTable.map(\.table) && lhs.byTable.map(\.rows) == rhs.byTable.map(\.rows)
    }

    package init(_ entity: StoredSAMEntity) {
        byTable = []
        let slices = entity.slices
        let key = entity.document["key"] ?? .object([:])
        let attributes = entity.document["attributes"] ?? .object([:])
        if let table = SAMSQLiteSchema.tableByEntityType[entity.type] {
            let rows = slices.map { slice -> [SQLiteValue] in
                var row: [SQLiteValue] = [.text(entity.key)]
                for column in table.columns {
                    let value: JSONValue?
                    switch column.source {
                    case .key(let member): value = key[member]
                    case .attribute(let member): value = attributes[member]
                    case .parentKey: value = entity.parentKey.map(JSONValue.string)
                    case .field(let path): value = Self.value(at: path, in: slice.fields)
                    }
                    row.append(Self.sqlValue(value, kind: column.kind))
                }
                row.append(slice.from.map { .text($0.description) } ?? .null)
                row.append(slice.to.map { .text($0.description) } ?? .null)
                row.append(.text(slice.fields.canonicalText))
                return row
            }
            byTable.append((table.name, rows))
        } else {
            let keyText = SQLiteValue.text(key.canonicalText)
            let attributesText = SQLiteValue.text(attributes.canonicalText)
            let rows = slices.map { slice -> [SQLiteValue] in
                [
                    .text(entity.type), .text(entity.key), entity.parentType.map(SQLiteValue.text) ?? .null,
                    entity.parentKey.map(SQLiteValue.text) ?? .null, keyText, attributesText,
                    slice.from.map { .text($0.description) } ?? .null, slice.to.map { .text($0.description) } ?? .null,
                    .text(slice.fields.canonicalText),
                ]
            }
            byTable.append((SAMSQLiteSchema.otherTable, rows))
        }
        if let fields = SAMSQLiteSchema.searchedNames[entity.type] {
            var seen = Set<[String]>()
            var names: [[SQLiteValue]] = []
            for slice in slices {
                for field in fields {
                    guard let value = slice.fields[field] else { continue }
                    var pairs: [(String, String)] = []
                    if case .object(let members) = value {
                        for (language, text) in members.sorted(by: { $0.key < $1.key }) {
                            if let text = text.stringValue { pairs.append((language.lowercased(), text)) }
                        }
                    } else if let text = value.stringValue {
                        pairs.append(("", text))
                    }
                    for (language, text) in pairs where !text.isEmpty && seen.insert([language, text]).inserted {
                        names.append([.text(entity.type), .text(entity.key), .text(language), .text(text)])
                    }
                }
            }
            byTable.append(("medicine_name", names))
        }
    }

    /// The member at `path`; `#text` of a plain string is the string itself (SAM writes a strength
    /// with or without a unit attribute).
    static func value(at path: [String], in fields: JSONValue) -> JSONValue? {
        var current = fields
        for member in path {
            if member == "#text", case .string = current { return current }
            guard let next = current[member] else { return nil }
            current = next
        }
        return current
    }

    static func sqlValue(_ value: JSONValue?, kind: SQLiteColumn.Kind) -> SQLiteValue {
        guard let value else { return .null }
        switch kind {
        case .flag:
            switch value.stringValue {
            case "true", "1": return .integer(1)
            case "false", "0": return .integer(0)
            default: return .null
            }
        case .text:
            if case .null = value { return .null }
            if let text = value.stringValue { return .text(text) }
            if let text = value["#text"]?.stringValue { return .text(text) }
            return .text(value.canonicalText)
        }
    }
}
