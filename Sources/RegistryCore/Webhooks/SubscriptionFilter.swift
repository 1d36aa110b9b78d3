/// Which events of the chosen types a subscription receives, by the event's key fields.
///
/// `{"code": {"in": ["0123456", "0765432"]}, "deliveryEnvironment": {"in": ["H"]}, "atc": {"prefix": ["N05"]}}`:
/// every field must match (AND); a field matches when one of its values is in `in` or starts with
/// one of `prefix`. Fields are the event key's members (`code`, `ctiExtended`, `actorNr`, …) and
/// `atc`, the medicine's current ATC codes (AMP, AMPP and DMPP events).
package struct SubscriptionFilter: Sendable, Hashable {
    package enum Condition: Sendable, Hashable {
        case oneOf([String])
        case prefix([String])
    }

    package var fields: [String: Condition]

    package init(fields: [String: Condition] = [:]) { self.fields = fields }

    /// Fields derived by the registry rather than read from the key.
    package static let derivedFields: Set<String> = ["atc"]

    /// Reads the filter a client sent; the error says which member is wrong and what was expected.
    package init(json: JSONValue) throws(FilterError) {
        guard case .object(let members) = json else { throw FilterError("filter must be a JSON object") }
        guard members.count <= 20 else { throw FilterError("filter has more than 20 fields") }
        var fields: [String: Condition] = [:]
        for (field, value) in members {
            guard (1...64).contains(field.utf8.count), field.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
            else { throw FilterError("filter field \"\(field)\" must be 1-64 ASCII letters or digits") }
            guard case .object(let condition) = value, condition.count == 1, let (operation, operand) = condition.first
            else { throw FilterError("filter.\(field) must be {\"in\": [...]} or {\"prefix\": [...]}") }
            var values: [String]
            switch operand {
            case .string(let one): values = [one]
            case .array(let many):
                values = many.compactMap { if case .string(let text) = $0 { text } else { nil } }
                guard values.count == many.count else {
                    throw FilterError("filter.\(field).\(operation) must contain strings")
                }
            default: throw FilterError("filter.\(field).\(operation) must be a string or an array of strings")
            }
            guard values.allSatisfy({ $0.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } }) else {
                throw FilterError("filter.\(field).\(operation) values must not contain control characters")
            }
            guard (1...10_000).contains(values.count), values.allSatisfy({ (1...200).contains($0.utf8.count) }) else {
                throw FilterError("filter.\(field).\(operation) needs 1 to 10000 non-empty values of at most 200 bytes")
            }
            values = Array(Set(values)).sorted()
            switch operation {
            case "in": fields[field] = .oneOf(values)
            case "prefix": fields[field] = .prefix(values)
            default: throw FilterError("filter.\(field) has operator \"\(operation)\"; expected \"in\" or \"prefix\"")
            }
        }
        self.fields = fields
    }

    /// The normalised JSON stored with the subscription (and evaluated by SQL in the dispatcher).
    package var json: JSONValue {
        .object(
            fields.mapValues { condition in
                switch condition {
                case .oneOf(let values): .object(["in": .array(values.map(JSONValue.string))])
                case .prefix(let values): .object(["prefix": .array(values.map(JSONValue.string))])
                }
            })
    }

    /// Whether an event with these field values passes (values: a field's values; absent = none).
    package func matches(_ values: (String) -> [String]) -> Bool {
        fields.allSatisfy { field, condition in
            let candidates = values(field)
            switch condition {
            case .oneOf(let allowed): return candidates.contains { allowed.contains($0) }
            case .prefix(let prefixes):
                return candidates.contains { value in prefixes.contains { value.hasPrefix($0) } }
            }
        }
    }
}

package struct FilterError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
