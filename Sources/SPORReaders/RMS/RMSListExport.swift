import Foundation
import RegistryCore

/// Quality rules of RMS list exports (stable ids).
package enum RMSQualityRules {
    package static let unreadable = QualityRule(
        id: "SPOR-RMS-FILE", severity: .fatal,
        summary: "The file is an RMS list export: a CSV (or a zip of one) with the portal's header row.")
    package static let repaired = QualityRule(
        id: "SPOR-RMS-COLUMNS-REPAIRED", severity: .warning,
        summary:
            "Unquoted commas inside 'Mapping Source Term ID' or 'Source Provided Name' shifted the later columns; "
            + "the row was realigned (one way only fits the number of sources).")
    package static let shifted = QualityRule(
        id: "SPOR-RMS-COLUMNS-SHIFTED", severity: .error,
        summary: "Columns are shifted and no single realignment fits: the row is not used.")
    package static let identifiers = QualityRule(
        id: "SPOR-RMS-ID", severity: .error,
        summary: "List ID and Term ID are 12-digit RMS identifiers; a row belongs to the file's list.")
    package static let status = QualityRule(
        id: "SPOR-RMS-STATUS", severity: .error,
        summary: "Term Status is CURRENT, NON_CURRENT, NULLIFIED or PROVISIONAL.")
    package static let name = QualityRule(
        id: "SPOR-RMS-NAME", severity: .warning, summary: "A term has an English name.")
    package static let replacement = QualityRule(
        id: "SPOR-RMS-REPLACEMENT", severity: .warning,
        summary: "A NON_CURRENT or NULLIFIED term names its current replacement, which is another term.")
    package static let mappings = QualityRule(
        id: "SPOR-RMS-MAPPINGS", severity: .warning,
        summary: "Every source mapping column has one value per mapping source ('¦'-separated).")
}

/// One RMS term with everything the export says about it, merged from its rows (one per language).
package struct RMSTerm: Sendable {
    package var listId: String
    package var termId: String
    package var status: String
    package var document: JSONValue
    /// (source id, code, main) of its source mappings, for look-ups by source code.
    package var sourceCodes: [(source: String, code: String, main: Bool)]
    /// (language, name) of its names.
    package var names: [(language: String, name: String)]
}

/// Reads an RMS list export as EMA's portal produces it: one CSV per list (`<LISTID>.csv`, or a zip
/// holding it), UTF-8 with a BOM, one row per term and language, multi-valued columns joined with
/// `¦`, and the portal's known defect: commas inside "Mapping Source Term ID" (or "Source Provided
/// Name") are not quoted, which shifts every later column of the row. Such rows are realigned when
/// exactly one realignment fits (see ``realign(_:header:)``), else reported and not used.
package struct RMSListExport {
    /// The multi-value separator of the portal's exports (U+00A6 BROKEN BAR).
    package static let separator: Character = "¦"

    package init() {}

    package struct Result: Sendable {
        package var listId: String?
        package var terms: [RMSTerm]
        package var findings: [QualityFinding]
        package var rows: Int
        package var repairedRows: Int
    }

    /// Terms and findings of one export's CSV bytes; throws when it is not an export at all.
    package func read(_ bytes: [UInt8], file: String) throws -> Result {
        let records = CSVRecords.parse(bytes)
        // The export is UTF-8; a line that is not is a damaged file, not a term to skip.
        if let damaged = records.first(where: { !$0.isValidUTF8 }) {
            throw RMSExportError(file: file, reason: "line \(damaged.line) is not valid UTF-8")
        }
        guard let header = records.first?.fields, header.first == "List ID", header.count > 1, header[1] == "Term ID"
        else {
            throw RMSExportError(file: file, reason: "the first row is not the RMS export header (List ID,Term ID,...)")
        }
        var column: [String: Int] = [:]
        for (index, name) in header.enumerated() where column[name] == nil { column[name] = index }
        for required in ["Language", "Term Name", "Term Status", "Mapping Source ID", "Mapping Source Term ID"]
        where column[required] == nil {
            throw RMSExportError(file: file, reason: "the header has no '\(required)' column")
        }
        var findings: [QualityFinding] = []
        var rowsByTerm: [String: [[String]]] = [:]
        var termOrder: [String] = []
        var listId: String?
        var repairedRows = 0
        for record in records.dropFirst() {
            var fields = record.fields
            let termKey = fields.count > 1 ? fields[1] : ""
            switch Self.realign(fields, header: column) {
            case .aligned: break
            case .repaired(let repaired):
                fields = repaired
                repairedRows += 1
                findings.append(
                    QualityFinding(
                        rule: RMSQualityRules.repaired, entityType: "rms-term", entityKey: termKey, file: file,
                        line: record.line,
                        message:
                            "columns realigned after unquoted commas in the source mapping columns (language \(fields[column["Language"]!]))"
                    ))
            case .unrepairable(let reason):
                findings.append(
                    QualityFinding(
                        rule: RMSQualityRules.shifted, entityType: "rms-term", entityKey: termKey, file: file,
                        line: record.line, message: reason))
                continue
            }
            let list = fields[0]
            guard RMSVocabulary.isRMSId(list), RMSVocabulary.isRMSId(termKey), listId == nil || listId == list else {
                findings.append(
                    QualityFinding(
                        rule: RMSQualityRules.identifiers, entityType: "rms-term", entityKey: termKey, file: file,
                        line: record.line,
                        message:
                            "expected 12-digit List ID\(listId.map { " \($0)" } ?? "") and Term ID, got '\(list)' and '\(termKey)'"
                    ))
                continue
            }
            listId = list
            if rowsByTerm[termKey] == nil { termOrder.append(termKey) }
            rowsByTerm[termKey, default: []].append(fields)
        }
        var terms: [RMSTerm] = []
        for termId in termOrder {
            if let term = makeTerm(rowsByTerm[termId]!, column: column, file: file, findings: &findings) {
                terms.append(term)
            }
        }
        return Result(
            listId: listId, terms: terms, findings: findings, rows: records.count - 1, repairedRows: repairedRows)
    }

    package enum Alignment: Equatable {
        case aligned
        case repaired([String])
        case unrepairable(String)
    }

    /// Realigns a row whose source-mapping columns were split by unquoted commas. With n mapping
    /// sources (the `¦`-parts of "Mapping Source ID"), "Is Main Term Source" must be n `Y`/`N`:
    /// the first later field that is one marks the shift; the fields between "Mapping Source Term
    /// ID" and it are two columns cut at commas. A cut fits when each side has n−1 `¦`; a piece
    /// starting with a space continues the previous one (the commas were written ", "). Exactly one
    /// fitting cut repairs the row; none or several leave it unrepairable.
    package static func realign(_ fields: [String], header column: [String: Int]) -> Alignment {
        guard let sourceColumn = column["Mapping Source ID"], let termColumn = column["Mapping Source Term ID"],
            let mainColumn = column["Is Main Term Source"], mainColumn == termColumn + 2,
            sourceColumn < fields.count
        else { return .aligned }
        let sources = fields[sourceColumn]
        guard !sources.isEmpty else { return .aligned }
        let n = sources.split(separator: separator, omittingEmptySubsequences: false).count
        func isMainFlags(_ text: String) -> Bool {
            let parts = text.split(separator: separator, omittingEmptySubsequences: false)
            return parts.count == n && parts.allSatisfy { $0 == "Y" || $0 == "N" }
        }
        if mainColumn < fields.count, isMainFlags(fields[mainColumn]) { return .aligned }
        guard let anchor = (mainColumn + 1..<fields.count).first(where: { isMainFlags(fields[$0]) }) else {
            return .unrepairable(
                "no column after 'Source Provided Name' holds the \(n) Y/N flags of 'Is Main Term Source'")
        }
        let pieces = Array(fields[termColumn..<anchor])
        func bars(_ slice: ArraySlice<String>) -> Int {
            slice.joined(separator: ",").filter { $0 == separator }.count
        }
        let cuts = (1..<pieces.count).filter { cut in
            bars(pieces[..<cut]) == n - 1 && bars(pieces[cut...]) == n - 1 && !pieces[cut].hasPrefix(" ")
        }
        guard cuts.count == 1, let cut = cuts.first else {
            return .unrepairable(
                "\(pieces.count) pieces for 'Mapping Source Term ID' and 'Source Provided Name' with \(n) sources: "
                    + "\(cuts.count) ways to cut them fit")
        }
        var repaired = Array(fields[..<termColumn])
        repaired.append(pieces[..<cut].joined(separator: ","))
        repaired.append(pieces[cut...].joined(separator: ","))
        repaired.append(contentsOf: fields[anchor...])
        return .repaired(repaired)
    }

    func makeTerm(_ rows: [[String]], column: [String: Int], file: String, findings: inout [QualityFinding])
        -> RMSTerm?
    {
        func value(_ row: [String], _ name: String) -> String {
            guard let index = column[name], index < row.count else { return "" }
            return row[index]
        }
        let first = rows.first { value($0, "Language") == "en" } ?? rows[0]
        let listId = first[0]
        let termId = first[1]
        let status = value(first, "Term Status")
        guard RMSVocabulary.statuses.contains(status) else {
            findings.append(
                QualityFinding(
                    rule: RMSQualityRules.status, entityType: "rms-term", entityKey: termId, file: file,
                    message:
                        "Term Status '\(status)' is none of \(RMSVocabulary.statuses.sorted().joined(separator: ", "))")
            )
            return nil
        }
        func text(_ string: String) -> JSONValue { string.isEmpty ? .null : .string(string) }
        var names: [String: JSONValue] = [:]
        var nameList: [(String, String)] = []
        for row in rows {
            let language = value(row, "Language")
            guard !language.isEmpty else { continue }
            let name = value(row, "Term Name")
            if !name.isEmpty { nameList.append((language, name)) }
            names[language] = .object([
                "name": text(name), "translationStatus": text(value(row, "Term Name Translation Status")),
                "shortName": text(value(row, "Short Name")), "description": text(value(row, "Term Description")),
            ])
        }
        if names["en"] == nil {
            findings.append(
                QualityFinding(
                    rule: RMSQualityRules.name, entityType: "rms-term", entityKey: termId, file: file,
                    message: "no English name (languages: \(names.keys.sorted().joined(separator: ", ")))"))
        }
        let replacement = value(first, "Current Term ID")
        if status == "NON_CURRENT" || status == "NULLIFIED", replacement == termId {
            findings.append(
                QualityFinding(
                    rule: RMSQualityRules.replacement, entityType: "rms-term", entityKey: termId, file: file,
                    message: "a \(status) term names itself as its current term"))
        }
        // Source mappings: parallel '¦'-separated columns, one value per source.
        func parts(_ name: String) -> [String] {
            let text = value(first, name)
            return text.isEmpty
                ? [] : text.split(separator: Self.separator, omittingEmptySubsequences: false).map(String.init)
        }
        let sourceIds = parts("Mapping Source ID")
        let columns = [
            "Mapping Source Term ID", "Source Provided Name", "Is Main Term Source", "Mapping Source Version",
            "Mapping Source Term Status",
        ].map(parts)
        if columns.contains(where: { !$0.isEmpty && $0.count != sourceIds.count }) {
            findings.append(
                QualityFinding(
                    rule: RMSQualityRules.mappings, entityType: "rms-term", entityKey: termId, file: file,
                    message:
                        "\(sourceIds.count) mapping sources but \(columns.map(\.count)) values in the mapping columns"))
        }
        var mappings: [JSONValue] = []
        var sourceCodes: [(String, String, Bool)] = []
        for (index, source) in sourceIds.enumerated() {
            func at(_ c: Int) -> String { index < columns[c].count ? columns[c][index] : "" }
            let code = at(0)
            mappings.append(
                .object([
                    "sourceId": .string(source), "source": text(RMSMappingSources.name(of: source) ?? ""),
                    "code": text(code), "providedName": text(at(1)), "main": .bool(at(2) == "Y"),
                    "version": text(at(3)), "status": text(at(4)),
                ]))
            if !code.isEmpty { sourceCodes.append((source, code, at(2) == "Y")) }
        }
        var attributes: [JSONValue] = []
        for n in 1...10 {
            let name = value(first, "Attribute \(n)")
            if !name.isEmpty {
                attributes.append(
                    .object(["name": .string(name), "value": text(value(first, "Attribute Value \(n)"))]))
            }
        }
        let document = JSONValue.object([
            "listId": .string(listId), "termId": .string(termId), "status": .string(status),
            "currentTermId": text(replacement), "domainId": text(value(first, "Domain ID")),
            "parentId": text(value(first, "Parent ID")), "symbol": text(value(first, "Term Symbol")),
            "version": text(value(first, "Version Number")), "createdOn": text(value(first, "Term Created On")),
            "modifiedOn": text(value(first, "Term Modified On")), "names": .object(names),
            "sourceMappings": .array(mappings), "attributes": .array(attributes),
        ])
        return RMSTerm(
            listId: listId, termId: termId, status: status, document: document, sourceCodes: sourceCodes,
            names: nameList)
    }
}

package struct RMSExportError: Error, CustomStringConvertible {
    package let file: String
    package let reason: String
    package var description: String { "\(file): \(reason)" }
}
