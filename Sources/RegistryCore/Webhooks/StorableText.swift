/// Text from outside (a receiver's answer, an error that quotes one) made storable: PostgreSQL
/// `text` refuses U+0000 and `jsonb` refuses the `\u0000` escape, so a receiver answering a NUL
/// byte must not be able to make a delivery impossible to record.
package enum StorableText {
    /// What stands for each NUL character.
    package static let nulReplacement: Unicode.Scalar = "\u{FFFD}"

    /// Bytes read as UTF-8 (each invalid sequence becomes U+FFFD), NUL replaced, at most
    /// `maxBytes` of UTF-8 cut at a character boundary.
    package static func decode(_ bytes: some Collection<UInt8>, maxBytes: Int) -> String {
        clean(String(decoding: bytes, as: UTF8.self), maxBytes: maxBytes)
    }

    /// `text` with NUL replaced, at most `maxBytes` of UTF-8 cut at a character boundary.
    package static func clean(_ text: String, maxBytes: Int) -> String {
        var scalars = String.UnicodeScalarView()
        var size = 0
        for scalar in text.unicodeScalars {
            let kept = scalar == "\0" ? nulReplacement : scalar
            let width = UTF8.width(kept)
            guard size + width <= maxBytes else { break }
            scalars.append(kept)
            size += width
        }
        return String(scalars)
    }

    /// `clean` for optional text.
    package static func clean(_ text: String?, maxBytes: Int) -> String? {
        text.map { clean($0, maxBytes: maxBytes) }
    }
}
