/// A RIZIV/INAMI number (NIHII): 11 digits for a person (profession digit, 5-digit number,
/// 2 check digits, 3-digit competence code: `1-23456-78-901`), 8 for an organisation.
///
/// The check digits are commonly `97 - (first six digits mod 97)`, but RIZIV does not publish the
/// rule, so ``checkDigitsValid`` is reported as a warning by the importers, never used to refuse.
package struct NIHII: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable { case person, organisation }

    package let digits: String
    package let kind: Kind

    package init?(_ text: some StringProtocol) {
        let digits = String(text.filter { $0 != "-" && $0 != "." && $0 != " " && $0 != "/" })
        guard digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        switch digits.utf8.count {
        case 11: kind = .person
        case 8: kind = .organisation
        default: return nil
        }
        self.digits = digits
    }

    /// The first digit of a person's number, which names the profession group (1 physicians, ...).
    package var professionDigit: Character? { kind == .person ? digits.first : nil }

    package var checkDigitsValid: Bool {
        let body = Int(digits.prefix(6))!
        let check = Int(digits.dropFirst(6).prefix(2))!
        return Self.checkDigits(body) == check
    }

    /// `97 - (body mod 97)`, 97 when the remainder is 0.
    package static func checkDigits(_ body: Int) -> Int { 97 - body % 97 }

    /// A person's number from its parts, with the check digits.
    package static func person(professionDigit: Int, number: Int, competence: Int) -> NIHII {
        let body = professionDigit * 100_000 + number % 100_000
        let text = String(body) + twoDigits(checkDigits(body)) + threeDigits(competence)
        return NIHII(text)!
    }

    /// An organisation's number (category digits and number in the first six).
    package static func organisation(body: Int) -> NIHII {
        let padded = String(repeating: "0", count: max(0, 6 - String(body).count)) + String(body)
        return NIHII(padded + twoDigits(checkDigits(body)))!
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
    static func threeDigits(_ value: Int) -> String {
        let text = String(value % 1000)
        return String(repeating: "0", count: 3 - text.count) + text
    }

    package var description: String { digits }
}

/// An eHealth platform number of an organisation (EHP): 10 digits, no published check.
package struct EHPNumber: Sendable, Hashable, CustomStringConvertible {
    package let digits: String

    package init?(_ text: some StringProtocol) {
        let digits = String(text.filter { $0 != " " && $0 != "." })
        guard digits.utf8.count == 10, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.digits = digits
    }

    package var description: String { digits }
}
