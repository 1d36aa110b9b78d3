import Foundation
import RegistryCore
import XMLStreaming

/// Quality rules of OMS organisation and location files (stable ids).
package enum OMSQualityRules {
    package static let unreadable = QualityRule(
        id: "SPOR-OMS-FILE", severity: .fatal,
        summary: "The file is JSON holding OMS organisations (ORG-…) or locations (LOC-…).")
    package static let identifier = QualityRule(
        id: "SPOR-OMS-ID", severity: .error,
        summary: "A record has an OMS id: ORG- or LOC- followed by digits.")
    package static let name = QualityRule(
        id: "SPOR-OMS-NAME", severity: .error, summary: "An organisation has a name.")
    package static let status = QualityRule(
        id: "SPOR-OMS-STATUS", severity: .warning,
        summary: "Status is ACTIVE, INACTIVE, PROVISIONAL or DELETED (OMS's statuses).")
    package static let duplicate = QualityRule(
        id: "SPOR-OMS-DUPLICATE", severity: .warning, summary: "An id appears once; a repeated record is ignored.")
    package static let alias = QualityRule(
        id: "SPOR-OMS-ALIAS", severity: .warning,
        summary: "An alias id (a record merged into this one) is not also a record of its own.")
    package static let orphan = QualityRule(
        id: "SPOR-OMS-ORGANISATION", severity: .warning,
        summary: "A location names its organisation (ORG-…).")
}

/// One OMS record: an organisation or a location, with the ids merged into it.
package struct OMSRecord: Sendable {
    package enum Kind: String, Sendable { case organisation, location }

    package var kind: Kind
    package var id: String
    package var name: String?
    package var status: String?
    package var organisationId: String?
    package var aliasIds: [String]
    package var document: JSONValue
}

/// Reads OMS organisations and locations from JSON as the SPOR API returns them. The exact v1
/// payload is not public to us (no sample in `../shared`), so the reader is tolerant by design:
/// a record is any object whose id member (`orgId`, `organisationId`, `locId`, `locationId`,
/// `id`, or a FHIR `identifier[].value`) holds an `ORG-…`/`LOC-…` id, found at the top level, in
/// a paging wrapper (`content`, `items`, `results`, `data`, `organisations`, `locations`, or a
/// FHIR Bundle's `entry[].resource`) or nested under an organisation's `locations`. Member names
/// are compared without case and separators (`Address Line 1` = `addressLine1`). Merged
/// records: ids in `aliasIds`/`mergedIds`/`previousIds`/`formerIds` are kept as aliases.
package struct OMSExport {
    package static let statuses: Set<String> = ["ACTIVE", "INACTIVE", "PROVISIONAL", "DELETED"]

    package init() {}

    package struct Result: Sendable {
        package var records: [OMSRecord]
        package var findings: [QualityFinding]
    }

    package func read(_ bytes: [UInt8], file: String) throws -> Result {
        try WholeInput.checkJSONNesting(bytes, name: file)
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw SPORFileError(file: file, reason: "not JSON (\(error.localizedDescription))")
        }
        var objects: [(object: [String: Any], parent: String?)] = []
        collect(root, parent: nil, into: &objects)
        guard !objects.isEmpty else {
            throw SPORFileError(file: file, reason: "no OMS organisation (ORG-…) or location (LOC-…) in it")
        }
        var findings: [QualityFinding] = []
        var records: [OMSRecord] = []
        var seen: Set<String> = []
        for (object, parent) in objects {
            let fields = Fields(object)
            let id = fields.id ?? ""
            func finding(_ rule: QualityRule, _ message: String) {
                findings.append(
                    QualityFinding(
                        rule: rule, entityType: id.hasPrefix("LOC-") ? "oms-location" : "oms-organisation",
                        entityKey: id.isEmpty ? nil : id, file: file, message: message))
            }
            guard OMSVocabulary.isOMSId(id) else {
                finding(OMSQualityRules.identifier, "'\(id)' is not an OMS id (ORG-/LOC- and digits); record not used")
                continue
            }
            guard seen.insert(id).inserted else {
                finding(OMSQualityRules.duplicate, "\(id) appears more than once; the first is kept")
                continue
            }
            let kind: OMSRecord.Kind = id.hasPrefix("ORG-") ? .organisation : .location
            let status = fields.text("orgstatus", "locstatus", "status").map { $0.uppercased() }
            if let status, !Self.statuses.contains(status) {
                finding(OMSQualityRules.status, "\(id) has status '\(status)'")
            }
            let name = fields.text("orgname", "organisationname", "organizationname", "name", "locname")
            if kind == .organisation, name == nil {
                finding(OMSQualityRules.name, "organisation \(id) has no name; record not used")
                continue
            }
            let aliases = fields.ids("aliasids", "aliases", "mergedids", "previousids", "formerids", "replacedids")
                .filter { $0 != id }
            let organisation =
                kind == .location
                ? (fields.text("orgid", "organisationid", "organizationid", "managingorganization") ?? parent) : nil
            if kind == .location, organisation.map(OMSVocabulary.isOMSId) != true {
                finding(OMSQualityRules.orphan, "location \(id) names no organisation (ORG-…)")
            }
            var document: [String: JSONValue] = [kind == .organisation ? "orgId" : "locId": .string(id)]
            document["status"] = status.map(JSONValue.string) ?? .null
            if let name { document["name"] = .string(name) }
            if let acronym = fields.text("orgacronym", "acronym") { document["acronym"] = .string(acronym) }
            let alternatives = fields.texts("orgaltnames", "alternativenames", "alternativename", "altnames")
            if !alternatives.isEmpty { document["alternativeNames"] = .array(alternatives.map(JSONValue.string)) }
            if !aliases.isEmpty { document["aliasIds"] = .array(aliases.sorted().map(JSONValue.string)) }
            if let merged = fields.text("mergedinto", "replacedby", "supersededby", "successorid") {
                document["mergedInto"] = .string(merged)
            }
            if let organisation { document["orgId"] = .string(organisation) }
            if let address = fields.address() { document["address"] = address }
            if let modified = fields.text("versiontimestamp", "modifiedon", "lastmodified", "lastupdated") {
                document["modifiedOn"] = .string(modified)
            }
            if kind == .organisation {
                let locations = fields.nestedLocationIds()
                if !locations.isEmpty { document["locationIds"] = .array(locations.map(JSONValue.string)) }
            }
            records.append(
                OMSRecord(
                    kind: kind, id: id, name: name, status: status, organisationId: organisation,
                    aliasIds: aliases.sorted(), document: .object(document)))
        }
        // An alias that is also a record of its own: the merge is not finished in the source.
        let ids = Set(records.map(\.id))
        for record in records {
            for alias in record.aliasIds where ids.contains(alias) {
                findings.append(
                    QualityFinding(
                        rule: OMSQualityRules.alias, entityType: "oms-\(record.kind.rawValue)", entityKey: record.id,
                        file: file, message: "\(alias) is an alias of \(record.id) and also a record of its own"))
            }
        }
        return Result(records: records, findings: findings)
    }

    /// Records anywhere in the JSON: objects with an OMS id, their nested locations too.
    func collect(_ value: Any, parent: String?, into out: inout [(object: [String: Any], parent: String?)]) {
        if let array = value as? [Any] {
            for item in array { collect(item, parent: parent, into: &out) }
            return
        }
        guard let object = value as? [String: Any] else { return }
        let fields = Fields(object)
        if let id = fields.id, id.hasPrefix("ORG-") || id.hasPrefix("LOC-") || fields.looksLikeRecord {
            out.append((object, parent))
            if let locations = fields.raw("locations") {
                collect(locations, parent: id, into: &out)
            }
            return
        }
        for key in ["content", "items", "results", "data", "organisations", "organizations", "locations", "entry"] {
            if let nested = fields.raw(key) { collect(nested, parent: parent, into: &out) }
        }
        if let resource = fields.raw("resource") { collect(resource, parent: parent, into: &out) }
    }

    /// Member access by normalised name (lowercase letters and digits only).
    struct Fields {
        var members: [String: Any] = [:]

        init(_ object: [String: Any]) {
            for (key, value) in object {
                let normalised = String(key.lowercased().filter { $0.isLetter || $0.isNumber })
                if members[normalised] == nil { members[normalised] = value }
            }
        }

        func raw(_ name: String) -> Any? { members[name] }

        /// The record's id: a named id member, else a FHIR identifier with an OMS value.
        var id: String? {
            if let text = text("orgid", "locid", "organisationid", "organizationid", "locationid"), text.contains("-") {
                return text
            }
            if let identifiers = members["identifier"] as? [[String: Any]] {
                for identifier in identifiers {
                    if let value = identifier["value"] as? String, OMSVocabulary.isOMSId(value) { return value }
                }
            }
            if let text = text("id"), OMSVocabulary.isOMSId(text) { return text }
            return text("orgid", "locid", "organisationid", "organizationid", "locationid")
        }

        /// An object that names itself as an OMS record but whose id may be malformed.
        var looksLikeRecord: Bool {
            ["orgid", "locid", "organisationid", "organizationid", "locationid"].contains { members[$0] != nil }
        }

        func text(_ names: String...) -> String? {
            for name in names {
                switch members[name] {
                case let text as String where !text.trimmingCharacters(in: .whitespaces).isEmpty:
                    return text.trimmingCharacters(in: .whitespaces)
                case let number as NSNumber: return number.stringValue
                case let object as [String: Any]:
                    // A FHIR reference {"reference": "Organization/ORG-…"} or {"identifier": {"value": …}}.
                    if let reference = object["reference"] as? String {
                        return String(reference.split(separator: "/").last ?? "")
                    }
                    if let value = (object["identifier"] as? [String: Any])?["value"] as? String { return value }
                case let array as [Any]:
                    if let first = array.first as? String { return first }
                default: continue
                }
            }
            return nil
        }

        func texts(_ names: String...) -> [String] {
            var out: [String] = []
            for name in names {
                switch members[name] {
                case let text as String:
                    out += text.split(separator: "¦").map { $0.trimmingCharacters(in: .whitespaces) }
                case let array as [Any]:
                    for item in array {
                        if let text = item as? String { out.append(text) }
                        if let object = item as? [String: Any] {
                            let fields = Fields(object)
                            if let text = fields.text("name", "value", "altname", "alternativename") {
                                out.append(text)
                            }
                        }
                    }
                default: continue
                }
            }
            return out.filter { !$0.isEmpty }
        }

        func ids(_ names: String...) -> [String] {
            var out: [String] = []
            for name in names {
                switch members[name] {
                case let text as String: out += text.split(whereSeparator: { ",¦ ".contains($0) }).map(String.init)
                case let array as [Any]:
                    out += array.compactMap { ($0 as? String) ?? ($0 as? [String: Any]).flatMap { Fields($0).id } }
                default: continue
                }
            }
            return out.filter(OMSVocabulary.isOMSId)
        }

        func nestedLocationIds() -> [String] {
            guard let locations = members["locations"] as? [Any] else { return [] }
            return locations.compactMap { item in
                if let text = item as? String, OMSVocabulary.isOMSId(text) { return text }
                if let object = item as? [String: Any] { return Fields(object).id }
                return nil
            }
        }

        /// Address lines, city, postcode and country, flat (`addressLine1`…) or nested (`address`).
        func address() -> JSONValue? {
            var source = self
            if let nested = members["address"] as? [String: Any] {
                source = Fields(nested)
            } else if let list = members["address"] as? [[String: Any]], let first = list.first {
                source = Fields(first)
            }
            var lines = (1...4).compactMap { source.text("addressline\($0)", "line\($0)") }
            if lines.isEmpty, let line = source.members["line"] as? [String] { lines = line }
            var out: [String: JSONValue] = [:]
            if !lines.isEmpty { out["lines"] = .array(lines.map(JSONValue.string)) }
            if let city = source.text("city", "addresscity") { out["city"] = .string(city) }
            if let postcode = source.text("postalcode", "postcode", "addresspostalcode") {
                out["postalCode"] = .string(postcode)
            }
            if let country = source.text("countrycode", "country", "addresscountrycode") {
                out["country"] = .string(country)
            }
            return out.isEmpty ? nil : .object(out)
        }
    }
}
