import RegistryCore

/// The SAM quality rules. Ids are stable: scripts and subscribers filter on them.
///
/// `error` rejects the entity (its stored version stays in place), `warning` is recorded and
/// the entity accepted, `fatal` refuses the whole run.
package enum SAMQualityRules {
    package static let notWellFormed = QualityRule(
        id: "SAM-XML-WELLFORMED", severity: .fatal, summary: "the file must be well-formed XML (not truncated)")
    package static let doctypeRefused = QualityRule(
        id: "SAM-XML-DOCTYPE", severity: .fatal, summary: "DOCTYPE declarations are refused (XXE, entity bombs)")
    package static let inputLimit = QualityRule(
        id: "SAM-XML-LIMIT", severity: .fatal,
        summary: "an entity nests at most REGISTRY_MAX_NESTING levels and holds at most REGISTRY_MAX_ENTITY_MB")
    package static let unknownRoot = QualityRule(
        id: "SAM-FILE-UNKNOWN", severity: .fatal, summary: "the document element must be one of the SAM export roots")
    package static let missingFile = QualityRule(
        id: "SAM-FILE-MISSING", severity: .fatal, summary: "a full export must contain every expected file")
    package static let duplicateFile = QualityRule(
        id: "SAM-FILE-DUPLICATE", severity: .fatal, summary: "each export file may appear only once in a run")
    package static let unreadable = QualityRule(
        id: "SAM-FILE-UNREADABLE", severity: .fatal, summary: "the input (zip, file) must be readable and complete")
    package static let massDeletion = QualityRule(
        id: "SAM-GATE-MASS-DELETE", severity: .fatal,
        summary: "a run may not remove more than the configured share of the current entities of a type")
    package static let unknownElement = QualityRule(
        id: "SAM-XML-UNKNOWN-ELEMENT", severity: .warning, summary: "elements outside the SAM schema are ignored")
    package static let textTooLong = QualityRule(
        id: "SAM-XML-TEXT-TOO-LONG", severity: .error, summary: "a text value may not exceed the reader's limit")
    package static let invalidPeriod = QualityRule(
        id: "SAM-PERIOD-INVALID", severity: .error, summary: "Data from/to must be dates YYYY-MM-DD")
    package static let periodOrder = QualityRule(
        id: "SAM-PERIOD-ORDER", severity: .error, summary: "Data from must not be after to")
    package static let periodOverlap = QualityRule(
        id: "SAM-PERIOD-OVERLAP", severity: .error, summary: "the slices of one entity must not overlap")
    package static let duplicateEntity = QualityRule(
        id: "SAM-ENTITY-DUPLICATE", severity: .error, summary: "an entity key may appear only once per run")
    package static let cnkFormat = QualityRule(
        id: "SAM-ID-CNK", severity: .error, summary: "a CNK code has 7 digits")
    package static let dmppKey = QualityRule(
        id: "SAM-ID-DMPP", severity: .error,
        summary: "a DMPP has a delivery environment P/A/H/R and a code type CNK/PSEUDO")
    package static let ampCodeFormat = QualityRule(
        id: "SAM-ID-AMP", severity: .error, summary: "an AMP code is SAM + 6 digits + '-' + 2 digits")
    package static let ctiExtendedFormat = QualityRule(
        id: "SAM-ID-CTI-EXTENDED", severity: .error, summary: "a CTI-extended code is 6 digits + '-' + 2 digits")
    package static let actorNrFormat = QualityRule(
        id: "SAM-ID-ACTOR-NR", severity: .error, summary: "a company actorNr is 5 digits with leading zeros")
    package static let atcFormat = QualityRule(
        id: "SAM-ID-ATC", severity: .error, summary: "an ATC code follows the WHO levels (e.g. N05AD01)")
    package static let namesFrNl = QualityRule(
        id: "SAM-NAME-FR-NL", severity: .warning, summary: "names are given at least in French and Dutch")
    package static let decimalValue = QualityRule(
        id: "SAM-VALUE-DECIMAL", severity: .error, summary: "prices and amounts are decimal numbers")
    package static let dmppParent = QualityRule(
        id: "SAM-REF-DMPP-AMPP", severity: .error, summary: "a DMPP belongs to an AMPP")
    package static let ampVmp = QualityRule(
        id: "SAM-REF-AMP-VMP", severity: .warning, summary: "an AMP's vmpCode names a VMP of the export")
    package static let ampCompany = QualityRule(
        id: "SAM-REF-AMP-COMPANY", severity: .warning, summary: "an AMP's company is in the companies file")
    package static let amppAtc = QualityRule(
        id: "SAM-REF-AMPP-ATC", severity: .warning, summary: "an AMPP's ATC code is in the reference tables")
    package static let reimbursementDmpp = QualityRule(
        id: "SAM-REF-RMB-DMPP", severity: .warning,
        summary: "a reimbursement context names a DMPP of the AMP file (some real contexts do not)")

    package static let all: [QualityRule] = [
        notWellFormed, doctypeRefused, inputLimit, unknownRoot, missingFile, duplicateFile, unreadable, massDeletion,
        unknownElement,
        textTooLong, invalidPeriod, periodOrder, periodOverlap, duplicateEntity, cnkFormat, dmppKey, ampCodeFormat,
        ctiExtendedFormat, actorNrFormat, atcFormat, namesFrNl, decimalValue, dmppParent, ampVmp, ampCompany, amppAtc,
        reimbursementDmpp,
    ]

    /// Entity types whose slices carry a multilingual `Name` that must have Fr and Nl.
    static let namedTypes: Set<String> = ["amp", "vmp", "vtm", "vmp_group", "company_name"]

    /// Checks one entity on its own; cross-entity references are returned by ``references(of:)``.
    package static func check(_ entity: VersionedEntity) -> [QualityFinding] {
        var findings: [QualityFinding] = []
        func add(_ rule: QualityRule, _ message: String, line: Int? = nil) {
            findings.append(
                QualityFinding(
                    rule: rule, entityType: entity.type, entityKey: entity.key, file: entity.file,
                    line: line ?? entity.line, message: message))
        }
        func checkIdentifier(_ kind: SAMIdentifierKind, _ rule: QualityRule, _ attribute: String) {
            let value = entity.keyValue(attribute) ?? ""
            if !kind.isValid(value) {
                add(rule, "\(attribute) '\(value)' is not valid; expected \(kind.expectation)")
            }
        }
        switch entity.type {
        case "amp": checkIdentifier(.ampCode, ampCodeFormat, "code")
        case "ampp": checkIdentifier(.ctiExtended, ctiExtendedFormat, "ctiExtended")
        case "company": checkIdentifier(.actorNr, actorNrFormat, "actorNr")
        case "atc_classification": checkIdentifier(.atcCode, atcFormat, "code")
        case "dmpp":
            let env = entity.keyValue("deliveryEnvironment") ?? ""
            let codeType = entity.keyValue("codeType") ?? ""
            if DmppKey.DeliveryEnvironment(rawValue: env) == nil || DmppKey.CodeType(rawValue: codeType) == nil {
                add(
                    dmppKey,
                    "deliveryEnvironment '\(env)' / codeType '\(codeType)'; expected P, A, H or R / CNK or PSEUDO")
            }
            checkIdentifier(.cnk, cnkFormat, "code")
            if entity.parentType != "ampp" {
                add(dmppParent, "the DMPP is not inside an AMPP (parent: \(entity.parentType ?? "none"))")
            }
        default: break
        }

        // Periods: order and overlap.
        let periods = entity.slices.compactMap(\.period)
        for p in periods where !p.isWellOrdered {
            add(periodOrder, "slice \(p) ends before it starts")
        }
        let sorted = periods.filter(\.isWellOrdered).sorted { $0.from < $1.from }
        if sorted.count > 1 {
            for i in 1..<sorted.count where sorted[i - 1].overlaps(sorted[i]) {
                add(periodOverlap, "slices \(sorted[i - 1]) and \(sorted[i]) overlap")
            }
        }

        let named = namedTypes.contains(entity.type)
        for slice in entity.slices {
            // Only needed for a finding (rare): not formatted for every slice.
            var label: String { slice.from.map { "slice from \($0)" } ?? "entry" }
            for (name, value) in slice.fields where isDecimalField(name) {
                let text = value.stringValue ?? value["#text"]?.stringValue ?? ""
                if !isDecimal(text) {
                    add(decimalValue, "\(name) '\(text)' in \(label) is not a decimal number")
                }
            }
            if named, let name = slice.fields["Name"] {
                let missing = ["Fr", "Nl"].filter { (name[$0]?.stringValue ?? "").isEmpty }
                if !missing.isEmpty {
                    add(namesFrNl, "Name in \(label) lacks \(missing.joined(separator: " and "))")
                }
            }
            if entity.type == "ampp", let code = slice.fields["Atc"]?["@code"]?.stringValue,
                !SAMIdentifierKind.atcCode.isValid(code)
            {
                add(
                    atcFormat,
                    "ATC '\(code)' in \(label) is not valid; expected \(SAMIdentifierKind.atcCode.expectation)")
            }
        }
        return findings
    }

    /// References that must resolve against the whole export (checked after all files are read).
    package static func references(of entity: VersionedEntity) -> [EntityReference] {
        var refs: [EntityReference] = []
        func add(_ rule: QualityRule, _ targetType: String, _ targetKey: String) {
            let r = EntityReference(
                rule: rule, fromType: entity.type, fromKey: entity.key, targetType: targetType, targetKey: targetKey,
                file: entity.file, line: entity.line)
            if !refs.contains(r) { refs.append(r) }
        }
        switch entity.type {
        case "amp":
            if let vmp = entity.attributes["vmpCode"] { add(ampVmp, "vmp", vmp) }
            for slice in entity.slices {
                if let actor = slice.fields["Company"]?["@actorNr"]?.stringValue { add(ampCompany, "company", actor) }
            }
        case "ampp":
            for slice in entity.slices {
                if let atc = slice.fields["Atc"]?["@code"]?.stringValue { add(amppAtc, "atc_classification", atc) }
            }
        case "reimbursement_context":
            if let env = entity.keyValue("deliveryEnvironment"), let type = entity.keyValue("codeType"),
                let code = entity.keyValue("code")
            {
                add(reimbursementDmpp, "dmpp", "\(env)|\(type)|\(code)")
            }
        default: break
        }
        return refs
    }

    /// Whether a field carries money or an amount and must be a decimal (a switch, not a set:
    /// every field of every slice of the export is asked, and comparing is cheaper than hashing).
    /// Not `PricingUnit`: the XSD makes it a quantity with a label (`Quantity`, `Label`).
    static func isDecimalField(_ name: String) -> Bool {
        switch name {
        case "Price", "ExFactoryPrice", "OfficialExFactoryPrice", "RealExFactoryPrice", "ReferenceBasePrice",
            "ReimbursementBasePrice", "FeeAmount", "CopaymentAmount", "ReimbursementAmount":
            return true
        default: return false
        }
    }

    static func isDecimal(_ text: String) -> Bool {
        var sawDigit = false
        var sawDot = false
        for (i, byte) in text.utf8.enumerated() {
            if byte == UInt8(ascii: "-") && i == 0 { continue }
            if byte == UInt8(ascii: ".") && !sawDot { sawDot = true; continue }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return false }
            sawDigit = true
        }
        return sawDigit
    }
}
