import Foundation
/// Splits a SQL script into statements (PostgresNIO speaks only the extended protocol, one statement per query).
///
/// Understands `--` comments, `'…'` strings, `"…"` identifiers and `$tag$…$tag$` bodies, which is
/// all our migration files use.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current: [Character] = []
        let chars = Array(script)
        var i = 0
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            let meaningful = text.split(separator: "\n").contains {
                !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--")
                    && !$0.trimmingCharacters(in: .whitespaces).isEmpty
            }
            if meaningful { statements.append(text) }
            current = []
        }
        while i < chars.count {
            let c = chars[i]
            if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { current.append(chars[i]); i += 1 }
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c)
                i += 1
                while i < chars.count {
                    current.append(chars[i])
                    if chars[i] == c { i += 1; break }
                    i += 1
                }
                continue
            }
            if c == "$" {
                var j = i + 1
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = String(chars[i...j])
                    current.append(contentsOf: tag)
                    i = j + 1
                    while i < chars.count {
                        if chars[i] == "$", i + tag.count <= chars.count, String(chars[i..<(i + tag.count)]) == tag {
                            current.append(contentsOf: tag)
                            i += tag.count
                            break
                        }
                        current.append(chars[i])
                        i += 1
                    }
                    continue
                }
            }
            if c == ";" {
                flush()
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        flush()
        return statements
    }
}
