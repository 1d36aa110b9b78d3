import XMLStreaming
import RegistryCore

/// A reference from one entity to another that must resolve (checked once all files are read).
package struct EntityReference: Sendable, Hashable {
    package var rule: QualityRule
    package var fromType: String
    package var fromKey: String
    package var targetType: String
    package var targetKey: String
    package var file: String
    package var line: Int
}

/// Turns one streamed top-level element of a SAM export into versioned entities.
///
/// The mapping is structural, which is how every SAM export file is built: an entity element
/// holds `Data` slices (each with `from`/`to`) and sub-entity elements; everything inside a
/// `Data` element is a field of that slice (including embedded copies such as an AMP's
/// `Company`). Reference tables (REF) carry no `Data` and become one open-ended slice.
package struct SAMEntityMapper {
    package let file: String
    package private(set) var findings: [QualityFinding] = []

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

    package init(file: String) { self.file = file }

    /// What the mapper knows of each name id of the document's name table (worked out once per
    /// distinct name, so the walk compares integers, not strings).
    struct NameFacts {
        /// The name table the ids belong to (held, so that its identity stays its own).
        var table: AnyObject?
        var known = 0
        /// Element name id -> entity type name (`AmppComponent` -> `ampp_component`).
        var typeNames: [String?] = []
        /// Per namespace id: 2 = the export namespace, 1 = another SAM namespace, 0 = neither.
        var namespaceKinds: [UInt8] = []
        /// Per attribute name id: 1 when it describes an entity without being part of its identity.
        var nonKeyAttributes: [UInt8] = []
        var dataName: Int32 = -1
        var fromName: Int32 = -1
        var toName: Int32 = -1
    }
    var facts = NameFacts()

    /// Classifies the names interned since the last entity (ids are per parser, so per document).
    mutating func learnNames(of tree: XMLElementTree) {
        if facts.table !== tree.nameTable { facts = NameFacts(table: tree.nameTable) }
        guard facts.known < tree.names.count else { return }
        for id in facts.known..<tree.names.count {
            let name = tree.names[id]
            facts.typeNames.append(nil)
            facts.namespaceKinds.append(
                name == SAMExportFile.exportNamespace ? 2 : name.hasPrefix(SAMExportFile.samNamespacePrefix) ? 1 : 0)
            facts.nonKeyAttributes.append(SAMEntityMapper.nonKeyAttributes.contains(name) ? 1 : 0)
            switch name {
            case "Data": facts.dataName = Int32(id)
            case "from": facts.fromName = Int32(id)
            case "to": facts.toName = Int32(id)
            default: break
            }
        }
        facts.known = tree.names.count
    }

    mutating func typeName(_ tree: XMLElementTree, _ name: Int32) -> String {
        if let type = facts.typeNames[Int(name)] { return type }
        let type = SAMEntityMapper.typeName(tree.names[Int(name)])
        facts.typeNames[Int(name)] = type
        return type
    }

    func namespaceKind(_ namespace: Int32) -> UInt8 { facts.namespaceKinds[Int(namespace)] }

    func isNonKey(_ attribute: Int32) -> Bool { facts.nonKeyAttributes[Int(attribute)] == 1 }

    mutating func clearFindings() { findings.removeAll(keepingCapacity: true) }

    /// Converts a SAM local name (`AmppComponentEquivalent`) to a type name (`ampp_component_equivalent`).
    package static func typeName(_ localName: String) -> String {
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

    package mutating func mapTopLevel(_ node: XMLElementNode) -> [VersionedEntity] {
        let tree = node.tree
        learnNames(of: tree)
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
        mapEntity(tree, node.index, parent: nil, into: &out)
        return out
    }

    func isData(_ tree: XMLElementTree, _ index: Int32) -> Bool {
        let element = tree.elements[Int(index)]
        return element.name == facts.dataName && namespaceKind(element.namespace) == 2
    }

    /// True when element `index` has a `Data` child.
    func hasData(_ tree: XMLElementTree, _ index: Int32) -> Bool {
        var child = tree.elements[Int(index)].firstChild
        while child >= 0 {
            if isData(tree, child) { return true }
            child = tree.elements[Int(child)].nextSibling
        }
        return false
    }

    mutating func mapEntity(
        _ tree: XMLElementTree, _ index: Int32, parent: (type: String, key: String)?,
        into out: inout [VersionedEntity]
    ) {
        let element = tree.elements[Int(index)]
        let type = typeName(tree, element.name)
        var keyParts: [VersionedEntity.KeyPart] = []
        var attributes: [String: String] = [:]
        for a in Int(element.attributeStart)..<Int(element.attributeStart + element.attributeCount) {
            let name = tree.attributeNames[a]
            if isNonKey(name) {
                attributes[tree.names[Int(name)]] = tree.attributeValues[a]
            } else {
                keyParts.append(VersionedEntity.KeyPart(name: tree.names[Int(name)], value: tree.attributeValues[a]))
            }
        }
        if keyParts.count > 1 {
            if let order = SAMEntityMapper.keyOrder[type] {
                keyParts.sort {
                    (order.firstIndex(of: $0.name) ?? 99, $0.name) < (order.firstIndex(of: $1.name) ?? 99, $1.name)
                }
            } else {
                keyParts.sort { $0.name < $1.name }
            }
        }
        let ownKey = keyParts.count == 1 ? keyParts[0].value : keyParts.map(\.value).joined(separator: "|")
        let key: String
        if let parent, !SAMEntityMapper.globallyKeyed.contains(type) {
            key = ownKey.isEmpty ? parent.key : "\(parent.key)/\(ownKey)"
        } else {
            key = ownKey
        }

        let isVersioned = hasData(tree, index)
        var slices: [EntitySlice] = []
        var unversionedFields: [Int32] = []
        var subEntities: [Int32] = []
        var child = element.firstChild
        while child >= 0 {
            let namespace = namespaceKind(tree.elements[Int(child)].namespace)
            if namespace == 0 {
                unknown(tree, child, in: type, key: key)
            } else if isData(tree, child) {
                slices.append(slice(tree, child, type: type, key: key))
            } else if isVersioned || hasData(tree, child) {
                if namespace == 2 {
                    subEntities.append(child)
                } else {
                    unknown(tree, child, in: type, key: key)
                }
            } else {
                unversionedFields.append(child)
            }
            child = tree.elements[Int(child)].nextSibling
        }
        if !isVersioned {
            slices = [EntitySlice(from: nil, to: nil, fields: fields(tree, unversionedFields, type: type, key: key))]
        }
        out.append(
            VersionedEntity(
                type: type, keyParts: keyParts, key: key, parentType: parent?.type, parentKey: parent?.key,
                attributes: attributes, slices: slices, file: file, line: Int(element.line)))
        for sub in subEntities {
            mapEntity(tree, sub, parent: (type, key), into: &out)
        }
    }

    mutating func unknown(_ tree: XMLElementTree, _ index: Int32, in type: String, key: String) {
        let node = XMLElementNode(tree: tree, index: index)
        findings.append(
            QualityFinding(
                rule: SAMQualityRules.unknownElement, entityType: type, entityKey: key, file: file, line: node.line,
                message: "unknown element {\(node.namespace)}\(node.name); ignored"))
    }

    mutating func slice(_ tree: XMLElementTree, _ data: Int32, type: String, key: String) -> EntitySlice {
        let fromText = tree.attribute(facts.fromName, of: data)
        let toText = tree.attribute(facts.toName, of: data)
        let from = fromText.flatMap { LocalDate(iso: $0) }
        let to = toText.flatMap { LocalDate(iso: $0) }
        let line = Int(tree.elements[Int(data)].line)
        if fromText == nil || from == nil {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.invalidPeriod, entityType: type, entityKey: key, file: file, line: line,
                    message: "Data 'from' is \(fromText.map { "'\($0)'" } ?? "missing"); expected a date YYYY-MM-DD"))
        }
        if let toText, to == nil {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.invalidPeriod, entityType: type, entityKey: key, file: file, line: line,
                    message: "Data 'to' is '\(toText)'; expected a date YYYY-MM-DD"))
        }
        var children: [Int32] = []
        tree.forEachChild(of: data) { children.append($0) }
        return EntitySlice(from: from, to: to, fields: fields(tree, children, type: type, key: key))
    }

    mutating func fields(_ tree: XMLElementTree, _ nodes: [Int32], type: String, key: String) -> [String: JSONValue] {
        // One dictionary; a repeated element becomes an array (single values are never arrays).
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(nodes.count)
        for child in nodes {
            let element = tree.elements[Int(child)]
            guard namespaceKind(element.namespace) != 0 else {
                unknown(tree, child, in: type, key: key)
                continue
            }
            let value = value(tree, child, type: type, key: key)
            let name = tree.names[Int(element.name)]
            switch fields[name] {
            case nil: fields[name] = value
            case .array(var items)?:
                fields[name] = nil
                items.append(value)
                fields[name] = .array(items)
            case let existing?: fields[name] = .array([existing, value])
            }
        }
        return fields
    }

    mutating func value(_ tree: XMLElementTree, _ index: Int32, type: String, key: String) -> JSONValue {
        let element = tree.elements[Int(index)]
        if element.textTruncatedAt >= 0 {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.textTooLong, entityType: type, entityKey: key, file: file,
                    line: Int(element.line),
                    message:
                        "text of <\(tree.names[Int(element.name)])> is longer than \(element.textTruncatedAt) bytes"))
        }
        let text = element.textCount == 0 ? "" : tree.withTextBytes(of: index) { SAMEntityMapper.trim($0) }
        if element.attributeCount == 0 && element.firstChild < 0 { return .string(text) }
        var members: [String: JSONValue] = [:]
        for a in Int(element.attributeStart)..<Int(element.attributeStart + element.attributeCount) {
            members["@" + tree.names[Int(tree.attributeNames[a])]] = .string(tree.attributeValues[a])
        }
        if element.firstChild >= 0 {
            var children: [Int32] = []
            tree.forEachChild(of: index) { children.append($0) }
            for (name, value) in fields(tree, children, type: type, key: key) { members[name] = value }
        }
        if !text.isEmpty { members["#text"] = .string(text) }
        return .object(members)
    }

    static func trim(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
