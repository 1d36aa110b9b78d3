/// The national number (SSIN, "numéro de registre national" / "rijksregisternummer") and the
/// BIS number of people without one: YYMMDD, a 3-digit serial, and a mod-97 check.
///
/// The check is `97 - (first nine digits mod 97)` for people born before 2000 and the same over
/// `2` followed by the nine digits for people born from 2000 on; the number itself does not say
/// which century, so either rule may validate it. A BIS number adds 20 (sex unknown) or 40 (sex
/// known) to the month. Month and day may be 00 when the birth date is unknown.
package struct SSIN: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable { case national, bis }

    package let digits: String
    package let kind: Kind
    /// True when only the born-from-2000 rule validates the check digits.
    package let bornFrom2000: Bool

    package init?(_ text: some StringProtocol) {
        let digits = String(text.filter { $0 != "." && $0 != "-" && $0 != " " })
        guard digits.utf8.count == 11, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let body = Int(digits.prefix(9)), let check = Int(digits.suffix(2))
        else { return nil }
        let month = Int(digits.dropFirst(2).prefix(2))!
        let day = Int(digits.dropFirst(4).prefix(2))!
        let kind: Kind
        let birthMonth: Int
        switch month {
        case 0...12: (kind, birthMonth) = (.national, month)
        case 20...32: (kind, birthMonth) = (.bis, month - 20)
        case 40...52: (kind, birthMonth) = (.bis, month - 40)
        default: return nil
        }
        guard day <= 31, birthMonth > 0 || day == 0 || kind == .bis else { return nil }
        let before2000 = 97 - body % 97 == check
        let from2000 = 97 - (2_000_000_000 + body) % 97 == check
        guard before2000 || from2000 else { return nil }
        self.digits = digits
        self.kind = kind
        self.bornFrom2000 = from2000 && !before2000
    }

    /// Never the number itself: an SSIN is personal data and must not end up in logs.
    package var description: String { "SSIN(…\(digits.suffix(2)))" }
}

/// An enterprise number of the Crossroads Bank for Enterprises (CBE/KBO/BCE): 10 digits starting
/// with 0 or 1, the last two `97 - (first eight mod 97)`, which is 97 when the remainder is 0.
package struct CBENumber: Sendable, Hashable, CustomStringConvertible {
    package let digits: String

    package init?(_ text: some StringProtocol) {
        var digits = String(text.filter { $0 != "." && $0 != " " })
        if digits.hasPrefix("BE") { digits.removeFirst(2) }
        if digits.utf8.count == 9 { digits = "0" + digits }  // old 9-digit form
        guard digits.utf8.count == 10, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            digits.first == "0" || digits.first == "1", let body = Int(digits.prefix(8)),
            let check = Int(digits.suffix(2))
        else { return nil }
        guard 97 - body % 97 == check else { return nil }
        self.digits = digits
    }

    /// `0403.019.261`, as the CBE writes it.
    package var formatted: String {
        let d = Array(digits)
        return String(d[0..<4]) + "." + String(d[4..<7]) + "." + String(d[7..<10])
    }

    package var description: String { digits }
}
