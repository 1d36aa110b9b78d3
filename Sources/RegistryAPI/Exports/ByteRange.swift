/// A `Range: bytes=…` request header resolved against a file's size (RFC 9110 §14): one range is
/// served as 206; several ranges, another unit or a malformed header are ignored (the whole file,
/// 200, as the RFC allows); a well-formed range that starts past the end is 416.
enum ByteRange: Equatable {
    case whole
    case part(ClosedRange<Int64>)
    case unsatisfiable

    static func resolve(_ header: String?, size: Int64) -> ByteRange {
        guard let header else { return .whole }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("bytes="), text.utf8.count <= 200 else { return .whole }
        let spec = text.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces)
        let last = parts[1].trimmingCharacters(in: .whitespaces)
        func number(_ text: String) -> Int64? {
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            return Int64(text)
        }
        if first.isEmpty {
            // A suffix: the last N bytes.
            guard let length = number(last) else { return .whole }
            guard length > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - length)...(size - 1))
        }
        guard let start = number(first) else { return .whole }
        let end: Int64
        if last.isEmpty {
            end = size - 1
        } else {
            guard let value = number(last), value >= start else { return .whole }
            end = min(value, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .part(start...end)
    }
}
