/// A subscriber's choice of event types: `sam.dmpp.updated`, `sam.dmpp.*`, `sam.*.deleted`, `*`.
///
/// `*` stands for any run of characters (dots included), so `sam.*` is every SAM event.
package struct EventTypePattern: Sendable, Hashable, CustomStringConvertible {
    package let text: String

    /// Letters, digits, `_`, `.` and `*`; at most 100 characters.
    package init?(_ text: String) {
        guard (1...100).contains(text.utf8.count),
            text.utf8.allSatisfy({
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*")
            })
        else { return nil }
        self.text = text
    }

    package var description: String { text }

    /// The same pattern for SQL `LIKE` (`_` escaped, `*` → `%`).
    package var likePattern: String {
        text.replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "*", with: "%")
    }

    package func matches(_ type: String) -> Bool {
        let parts = text.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return type == text }
        var rest = Substring(type)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
