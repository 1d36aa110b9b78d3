import XMLStreaming
import RegistryCore

/// A reference from one entity to another that must resolve (checked once all files are read).
public struct EntityReference: Sendable, Hashable {
    public var rule: QualityRule
    public var fromType: String
    public var fromKey: String
    public var targetType: String
    public var targetKey: String
    public var file: String
    public var line: Int
}

/// Turns one streamed top-level element of a SAM export into versioned entities.
///
/// The mapping is structural, which is how every SAM export file is built: an entity element
/// holds `Data` slices (each with `from`/`to`) and sub-entity elements; everything inside a
/// `Data` element is a field of that slice (including embedded copies such as an AMP's
/// `Company`). Reference tables (REF) carry no `Data` and become one open-ended slice.
public struct SAMEntityMapper {
    public let file: String
    public private(set) var findings: [QualityFinding] = []

    /// Attributes that describe an entity but are not part of its identity.
    static let nonKeyAttributes: Set<String> = ["ProductId", "vmpCode", "vmpComponentCode"]
    /// Canonical key order for entities whose identity has several parts.
    static let keyOrder: [String: [String]] = [
        "dmpp": ["deliveryEnvironment", "codeType", "code"],
        "reimbursement_context": ["deliveryEnvironment", "codeType", "code", "legalReferencePath"],
        "copayment": ["regimeType"],
    ]
    /// Sub-entity types whose key is unique in the whole export (not only within their parent).
    static let globallyKeyed: Set<String> = ["ampp", "dmpp"]

    public init(file: String) { self.file = file }

    /// Type names by element name (computed once per distinct element).
    var typeNames: [String: String] = [:]

    mutating func cachedTypeName(_ localName: String) -> String {
        if let name = typeNames[localName] { return name }
        let name = SAMEntityMapper.typeName(localName)
        typeNames[localName] = name
        return name
    }

    mutating func clearFindings() { findings.removeAll(keepingCapacity: true) }

    /// Converts a SAM local name (`AmppComponentEquivalent`) to a type name (`ampp_component_equivalent`).
    public static func typeName(_ localName: String) -> String {
        var out = ""
        var previousWasLower = false
        for ch in localName {
            if ch.isUppercase {
                if previousWasLower { out += "_" }
                out += ch.lowercased()
                previousWasLower = false
            } else {
                out.append(ch)
                previousWasLower = ch.isLowercase || ch.isNumber
            }
        }
        return out
    }

    public mutating func mapTopLevel(_ node: XMLElementNode) -> [VersionedEntity] {
        // Entities are in the export namespace, except the reference tables of the REF file,
        // which are in the refdata namespace (SamExport.xsd, ExportReferencesType).
        guard node.namespace == SAMExportFile.exportNamespace || node.namespace == SAMExportFile.refdataNamespace else {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.unknownElement, file: file, line: node.line,
                    message: "unexpected top-level element {\(node.namespace)}\(node.name); skipped"))
            return []
        }
        var out: [VersionedEntity] = []
        mapEntity(node, parent: nil, into: &out)
        return out
    }

    mutating func mapEntity(
        _ node: XMLElementNode, parent: (type: String, key: String)?, into out: inout [VersionedEntity]
    ) {
        let type = cachedTypeName(node.name)
        var keyAttributes = node.attributes.filter { !SAMEntityMapper.nonKeyAttributes.contains($0.name) }
        if let order = SAMEntityMapper.keyOrder[type] {
            keyAttributes.sort {
                (order.firstIndex(of: $0.name) ?? 99, $0.name) < (order.firstIndex(of: $1.name) ?? 99, $1.name)
            }
        } else {
            keyAttributes.sort { $0.name < $1.name }
        }
        let keyParts = keyAttributes.map { VersionedEntity.KeyPart(name: $0.name, value: $0.value) }
        let ownKey = keyParts.map(\.value).joined(separator: "|")
        let key: String
        if let parent, !SAMEntityMapper.globallyKeyed.contains(type) {
            key = ownKey.isEmpty ? parent.key : "\(parent.key)/\(ownKey)"
        } else {
            key = ownKey
        }
        var attributes: [String: String] = [:]
        for a in node.attributes where SAMEntityMapper.nonKeyAttributes.contains(a.name) {
            attributes[a.name] = a.value
        }

        let isVersioned = node.children.contains { isData($0) }
        var slices: [EntitySlice] = []
        var unversionedFields: [XMLElementNode] = []
        var subEntities: [XMLElementNode] = []
        for child in node.children {
            guard child.namespace.hasPrefix(SAMExportFile.samNamespacePrefix) else {
                unknown(child, in: type, key: key)
                continue
            }
            if isData(child) {
                slices.append(slice(from: child, type: type, key: key))
            } else if isVersioned || child.children.contains(where: { isData($0) }) {
                if child.namespace == SAMExportFile.exportNamespace {
                    subEntities.append(child)
                } else {
                    unknown(child, in: type, key: key)
                }
            } else {
                unversionedFields.append(child)
            }
        }
        if !isVersioned {
            slices = [EntitySlice(from: nil, to: nil, fields: fields(of: unversionedFields, type: type, key: key))]
        }
        out.append(
            VersionedEntity(
                type: type, keyParts: keyParts, key: key, parentType: parent?.type, parentKey: parent?.key,
                attributes: attributes, slices: slices, file: file, line: node.line))
        for sub in subEntities {
            mapEntity(sub, parent: (type, key), into: &out)
        }
    }

    func isData(_ node: XMLElementNode) -> Bool {
        node.name == "Data" && node.namespace == SAMExportFile.exportNamespace
    }

    mutating func unknown(_ node: XMLElementNode, in type: String, key: String) {
        findings.append(
            QualityFinding(
                rule: SAMQualityRules.unknownElement, entityType: type, entityKey: key, file: file, line: node.line,
                message: "unknown element {\(node.namespace)}\(node.name); ignored"))
    }

    mutating func slice(from data: XMLElementNode, type: String, key: String) -> EntitySlice {
        let fromText = data.attribute("from")
        let toText = data.attribute("to")
        let from = fromText.flatMap { LocalDate(iso: $0) }
        let to = toText.flatMap { LocalDate(iso: $0) }
        if fromText == nil || from == nil {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.invalidPeriod, entityType: type, entityKey: key, file: file, line: data.line,
                    message: "Data 'from' is \(fromText.map { "'\($0)'" } ?? "missing"); expected a date YYYY-MM-DD"))
        }
        if let toText, to == nil {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.invalidPeriod, entityType: type, entityKey: key, file: file, line: data.line,
                    message: "Data 'to' is '\(toText)'; expected a date YYYY-MM-DD"))
        }
        return EntitySlice(from: from, to: to, fields: fields(of: data.children, type: type, key: key))
    }

    mutating func fields(of nodes: [XMLElementNode], type: String, key: String) -> [String: JSONValue] {
        // One dictionary; a repeated element becomes an array (single values are never arrays).
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(nodes.count)
        for child in nodes {
            guard child.namespace.hasPrefix(SAMExportFile.samNamespacePrefix) else {
                unknown(child, in: type, key: key)
                continue
            }
            let value = value(of: child, type: type, key: key)
            switch fields[child.name] {
            case nil: fields[child.name] = value
            case .array(var items)?:
                items.append(value)
                fields[child.name] = .array(items)
            case let existing?: fields[child.name] = .array([existing, value])
            }
        }
        return fields
    }

    mutating func value(of node: XMLElementNode, type: String, key: String) -> JSONValue {
        if let cut = node.textTruncatedAt {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.textTooLong, entityType: type, entityKey: key, file: file, line: node.line,
                    message: "text of <\(node.name)> is longer than \(cut) bytes"))
        }
        let text = SAMEntityMapper.trim(node.textBytes)
        if node.attributes.isEmpty && node.children.isEmpty { return .string(text) }
        var members: [String: JSONValue] = [:]
        for a in node.attributes { members["@" + a.name] = .string(a.value) }
        for (name, value) in fields(of: node.children, type: type, key: key) { members[name] = value }
        if !text.isEmpty { members["#text"] = .string(text) }
        return .object(members)
    }

    static func trim(_ bytes: [UInt8]) -> String {
        var start = 0
        var end = bytes.count
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
