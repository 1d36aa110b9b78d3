import Foundation
import Hummingbird
import RegistryCore

/// The query string of a request, checked against what the route accepts.
///
/// Unknown parameters are refused (400): a typo such as `enviroment=H` would otherwise silently
/// answer for the default environment, which for prices is the wrong answer.
struct QueryParameters {
    let values: [String: String]

    init(_ request: Request, allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                throw Problem.invalidParameter(
                    name,
                    "Unknown query parameter '\(name)'; this route accepts: \(allowed.sorted().joined(separator: ", "))."
                )
            }
            guard !value.isEmpty || name == "q" else {
                throw Problem.invalidParameter(
                    name, "Query parameter '\(name)' is empty; give a value or leave it out.")
            }
            guard !value.unicodeScalars.contains("\u{0}") else {
                throw Problem.invalidParameter(name, "Query parameter '\(name)' contains a NUL character.")
            }
            guard values[name] == nil else {
                throw Problem.invalidParameter(name, "Query parameter '\(name)' is given more than once.")
            }
            values[name] = String(value)
        }
        self.values = values
    }

    subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// `at=YYYY-MM-DD`, default today in Europe/Brussels (SAM validity dates are Belgian dates).
    func date(now: Date) throws -> LocalDate {
        guard let text = self["at"] else { return LocalDate.todayInBrussels(now) }
        guard text.utf8.count == 10, let date = LocalDate(iso: text), date.year >= 1 else {
            throw Problem.invalidParameter("at", "at must be a calendar date YYYY-MM-DD, got '\(text)'.")
        }
        return date
    }

    func language() throws -> DisplayLanguage {
        guard let text = self["lang"] else { return .fr }
        guard let language = DisplayLanguage(rawValue: text.lowercased()) else {
            throw Problem.invalidParameter("lang", "lang must be one of fr, nl, de, en, got '\(text)'.")
        }
        return language
    }

    func history() throws -> Bool {
        guard let text = self["history"] else { return false }
        switch text {
        case "true": return true
        case "false": return false
        default: throw Problem.invalidParameter("history", "history must be true or false, got '\(text)'.")
        }
    }

    /// The delivery environment of a DMPP: P public pharmacy, A ambulatory care in hospital, H hospital, R.
    func environment(default defaultValue: String?) throws -> String? {
        guard let text = self["env"] else { return defaultValue }
        guard ["P", "A", "H", "R"].contains(text) else {
            throw Problem.invalidParameter(
                "env",
                "env must be P (public pharmacy), A (ambulatory, hospital pharmacy), H (hospital) or R, got '\(text)'.")
        }
        return text
    }

    /// `before=ID` of a newest-first page: a positive id of the listed things (`what`), or nil.
    func before(_ what: String) throws -> Int64? {
        guard let text = self["before"] else { return nil }
        guard let value = Int64(text), value > 0 else {
            throw Problem.invalidParameter("before", "before must be \(what) (an integer > 0), got '\(text)'.")
        }
        return value
    }

    func limit(default defaultValue: Int = 20, maximum: Int = 100) throws -> Int {
        guard let text = self["limit"] else { return defaultValue }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw Problem.invalidParameter("limit", "limit must be an integer from 1 to \(maximum), got '\(text)'.")
        }
        return value
    }
}

/// Path parameters checked against their SAM formats.
enum PathIdentifier {
    static func value(_ context: some RequestContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name) else {
            throw Problem.invalidParameter(name, "Missing path parameter '\(name)'.")
        }
        return value
    }

    static func checked(_ context: some RequestContext, _ name: String, kind: SAMIdentifierKind) throws -> String {
        let text = try value(context, name)
        guard kind.isValid(text) else {
            throw Problem.invalidParameter(name, "\(name) must be \(kind.expectation), got '\(text)'.")
        }
        return text
    }

    /// VMP and VMP group codes are positive integers without leading zeros in SAM.
    static func number(_ context: some RequestContext, _ name: String) throws -> String {
        let text = try value(context, name)
        guard (1...9).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.first != "0"
        else {
            throw Problem.invalidParameter(
                name, "\(name) must be a positive integer of at most 9 digits without leading zeros, got '\(text)'.")
        }
        return text
    }
}
