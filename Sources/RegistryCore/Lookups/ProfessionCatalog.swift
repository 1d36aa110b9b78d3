import Foundation

/// The eHealth CD-HCPARTY codes with their labels, and which NIHII profession digit goes with
/// which profession (both bundled copies of tables in Mappings/providers/).
package struct ProfessionCatalog: Sendable {
    package struct Entry: Sendable, Hashable {
        package var code: String
        /// person | organization | department | other
        package var kind: String
        package var labels: [String: String]
    }

    package let entries: [String: Entry]
    /// Profession code → the NIHII first digits it may have (professions absent here are not checked).
    package let nihiiDigits: [String: Set<Character>]

    package init(hcpartyCSV: String, digitsCSV: String) {
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

    package static let bundled: ProfessionCatalog = {
        func text(_ name: String) -> String {
            guard let url = Bundle.module.url(forResource: name, withExtension: "csv") else { return "" }
            return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        }
        return ProfessionCatalog(hcpartyCSV: text("cd-hcparty"), digitsCSV: text("nihii-profession-digits"))
    }()

    package func isProfession(_ code: String) -> Bool { entries[code]?.kind == "person" }
    package func isOrganisationType(_ code: String) -> Bool { entries[code]?.kind == "organization" }

    /// False only when the table knows the profession and the digit is not one of its digits.
    package func digitMatches(_ nihii: NIHII, profession: String) -> Bool {
        guard let digit = nihii.professionDigit, let allowed = nihiiDigits[profession] else { return true }
        return allowed.contains(digit)
    }

    /// The first profession the table pairs with a digit (for generators and messages).
    package func professions(forDigit digit: Character) -> [String] {
        nihiiDigits.filter { $0.value.contains(digit) }.map(\.key).sorted()
    }
}
