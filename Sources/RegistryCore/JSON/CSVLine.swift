/// The fields of one line of a CSV table as our derived tables write it (RFC 4180 quoting, `""`
/// for a quote inside a quoted field, no line breaks inside fields).
package enum CSVLine {
    package static func fields(_ line: some StringProtocol) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var previous: Character?
        for character in line {
            if character == "\"" {
                // A quote right after the closing one is an escaped quote inside the field.
                if !quoted, previous == "\"" { current.append("\"") }
                quoted.toggle()
            } else if character == ",", !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(character)
            }
            previous = character
        }
        out.append(current)
        return out
    }
}
