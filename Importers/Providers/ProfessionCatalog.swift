import Foundation
import RegistryCore

/// The eHealth CD-HCPARTY codes with their labels, and which NIHII profession digit goes with
/// which profession (both bundled copies of tables in Mappings/providers/).
public struct ProfessionCatalog: Sendable {
    public struct Entry: Sendable, Hashable {
        public var code: String
        /// person | organization | department | other
        public var kind: String
        public var labels: [String: String]
    }

    public let entries: [String: Entry]
    /// Profession code → the NIHII first digits it may have (professions absent here are not checked).
    public let nihiiDigits: [String: Set<Character>]

    public init(hcpartyCSV: String, digitsCSV: String) {
        var entries: [String: Entry] = [:]
        for line in hcpartyCSV.split(whereSeparator: \.isNewline).dropFirst() {
            let f = CSVLine.fields(line)
            guard f.count >= 6 else { continue }
            entries[f[0]] = Entry(code: f[0], kind: f[1], labels: ["fr": f[2], "nl": f[3], "de": f[4], "en": f[5]])
        }
        var digits: [String: Set<Character>] = [:]
        for line in digitsCSV.split(whereSeparator: \.isNewline).dropFirst() {
            let f = CSVLine.fields(line)
            guard f.count >= 2, let digit = f[0].first else { continue }
            digits[f[1], default: []].insert(digit)
        }
        self.entries = entries
        self.nihiiDigits = digits
    }

    public static let bundled: ProfessionCatalog = {
        func text(_ name: String) -> String {
            guard let url = Bundle.module.url(forResource: name, withExtension: "csv") else { return "" }
            return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        }
        return ProfessionCatalog(hcpartyCSV: text("cd-hcparty"), digitsCSV: text("nihii-profession-digits"))
    }()

    public func isProfession(_ code: String) -> Bool { entries[code]?.kind == "person" }
    public func isOrganisationType(_ code: String) -> Bool { entries[code]?.kind == "organization" }

    /// False only when the table knows the profession and the digit is not one of its digits.
    public func digitMatches(_ nihii: NIHII, profession: String) -> Bool {
        guard let digit = nihii.professionDigit, let allowed = nihiiDigits[profession] else { return true }
        return allowed.contains(digit)
    }

    /// The first profession the table pairs with a digit (for generators and messages).
    public func professions(forDigit digit: Character) -> [String] {
        nihiiDigits.filter { $0.value.contains(digit) }.map(\.key).sorted()
    }
}
