import Foundation
import RegistryCore

/// Quality rules of SMS substance lists (stable ids).
package enum SMSQualityRules {
    package static let unreadable = QualityRule(
        id: "SPOR-SMS-FILE", severity: .fatal,
        summary: "The file is an SMS substance list: a CSV whose header names the substance id and name columns.")
    package static let identifier = QualityRule(
        id: "SPOR-SMS-ID", severity: .error, summary: "A substance id is an SMS identifier (9 to 15 digits).")
    package static let name = QualityRule(
        id: "SPOR-SMS-NAME", severity: .error, summary: "A substance has a name.")
    package static let duplicate = QualityRule(
        id: "SPOR-SMS-DUPLICATE", severity: .warning,
        summary: "A substance id has one preferred name; further rows add synonyms.")
    package static let moiety = QualityRule(
        id: "SPOR-SMS-MOIETY", severity: .warning, summary: "A moiety code comes with its moiety name.")
    package static let encoding = QualityRule(
        id: "SPOR-SMS-ENCODING", severity: .error, summary: "The text is valid UTF-8.")
}

/// One SMS substance: its id, preferred name, further names and moiety.
package struct SMSSubstance: Sendable {
    package var substanceId: String
    package var name: String
    package var synonyms: [String]
    package var moiety: (code: String, name: String)?

    /// The canonical document stored, hashed and served.
    package var document: JSONValue {
        var object: [String: JSONValue] = ["substanceId": .string(substanceId), "name": .string(name)]
        if !synonyms.isEmpty { object["synonyms"] = .array(synonyms.map(JSONValue.string)) }
        if let moiety { object["moiety"] = .object(["code": .string(moiety.code), "name": .string(moiety.name)]) }
        return .object(object)
    }
}

/// Reads SMS substance lists as CSV: UNICOM's extract (`substance_code,substance_name,moiety_code,
/// moiety_name`, one row per substance) or the SMS extract's own columns (`SMS_ID,Substance_Name,
/// Is_Preferred_Name`, one row per name). Headers are matched case-insensitively, a leading `#`
/// ignored; rows of one id are merged (the preferred name first, the others as synonyms).
package struct SMSSubstanceList {
    static let idColumns = ["substance_code", "sms_id", "substance_id"]
    static let nameColumns = ["substance_name", "name"]

    package init() {}

    package struct Result: Sendable {
        package var substances: [SMSSubstance]
        package var findings: [QualityFinding]
        package var rows: Int
    }

    package func read(_ bytes: [UInt8], file: String) throws -> Result {
        let records = CSVRecords.parse(bytes)
        guard let header = records.first?.fields else {
            throw SPORFileError(file: file, reason: "the file is empty")
        }
        var column: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            let normalized = name.trimmingCharacters(in: .whitespaces).lowercased().trimmingPrefix("#")
            if column[String(normalized)] == nil { column[String(normalized)] = index }
        }
        guard let idColumn = Self.idColumns.lazy.compactMap({ column[$0] }).first,
            let nameColumn = Self.nameColumns.lazy.compactMap({ column[$0] }).first
        else {
            throw SPORFileError(
                file: file,
                reason:
                    "the header (\(header.prefix(6).joined(separator: ","))) names no substance id column (\(Self.idColumns.joined(separator: "/"))) or no name column (\(Self.nameColumns.joined(separator: "/")))"
            )
        }
        let preferredColumn = column["is_preferred_name"]
        let moietyCode = column["moiety_code"]
        let moietyName = column["moiety_name"]

        var findings: [QualityFinding] = []
        var order: [String] = []
        var byId: [String: SMSSubstance] = [:]
        var hasPreferred: Set<String> = []
        func field(_ record: CSVRecords.Record, _ index: Int?) -> String {
            guard let index, index < record.fields.count else { return "" }
            return record.fields[index].trimmingCharacters(in: .whitespaces)
        }
        for record in records.dropFirst() where !(record.fields.count == 1 && record.fields[0].isEmpty) {
            let id = field(record, idColumn)
            let name = field(record, nameColumn)
            func finding(_ rule: QualityRule, _ message: String) {
                findings.append(
                    QualityFinding(
                        rule: rule, entityType: "sms-substance", entityKey: id.isEmpty ? nil : id, file: file,
                        line: record.line, message: message))
            }
            guard id.count >= 9, id.count <= 15, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                finding(SMSQualityRules.identifier, "substance id '\(id)' is not 9 to 15 digits; row not used")
                continue
            }
            guard !name.isEmpty else {
                finding(SMSQualityRules.name, "substance \(id) has no name; row not used")
                continue
            }
            guard !name.unicodeScalars.contains("\u{FFFD}") else {
                finding(SMSQualityRules.encoding, "the name of substance \(id) is not valid UTF-8; row not used")
                continue
            }
            let preferred = preferredColumn.map { ["y", "yes", "true", "1"].contains(field(record, $0).lowercased()) }
            var moiety: (code: String, name: String)?
            let code = field(record, moietyCode)
            if !code.isEmpty {
                let moietyText = field(record, moietyName)
                if moietyText.isEmpty {
                    finding(SMSQualityRules.moiety, "moiety \(code) of substance \(id) has no name; moiety not kept")
                } else {
                    moiety = (code, moietyText)
                }
            }
            guard var substance = byId[id] else {
                byId[id] = SMSSubstance(substanceId: id, name: name, synonyms: [], moiety: moiety)
                order.append(id)
                if preferred == true { hasPreferred.insert(id) }
                continue
            }
            if preferred == true, !hasPreferred.contains(id) {
                // The preferred name comes later than another name: it becomes the name.
                substance.synonyms.insert(substance.name, at: 0)
                substance.name = name
                hasPreferred.insert(id)
            } else if name != substance.name, !substance.synonyms.contains(name) {
                if preferredColumn == nil || preferred == true {
                    finding(
                        SMSQualityRules.duplicate,
                        "substance \(id) appears again as '\(name)' (first '\(substance.name)'); kept as a synonym")
                }
                substance.synonyms.append(name)
            }
            if substance.moiety == nil { substance.moiety = moiety }
            byId[id] = substance
        }
        return Result(substances: order.compactMap { byId[$0] }, findings: findings, rows: records.count - 1)
    }
}

/// A SPOR file that is not what its command reads (refuses the run).
package struct SPORFileError: Error, CustomStringConvertible {
    package let file: String
    package let reason: String
    package var description: String { "\(file): \(reason)" }
}
