import Crypto

/// One validity slice of an entity: its period and the fields valid during it.
package struct EntitySlice: Sendable, Hashable {
    /// `nil` for reference entities that carry no `Data from/to` (they are always valid).
    package var from: LocalDate?
    package var to: LocalDate?
    package var fields: [String: JSONValue]

    package init(from: LocalDate?, to: LocalDate?, fields: [String: JSONValue]) {
        self.from = from
        self.to = to
        self.fields = fields
    }

    package var period: ValidityPeriod? { from.map { ValidityPeriod(from: $0, to: to) } }

    var json: JSONValue {
        .object([
            "from": from.map { .string($0.description) } ?? .null,
            "to": to.map { .string($0.description) } ?? .null,
            "fields": .object(fields),
        ])
    }
}

/// An entity of an authentic source with its validity slices (e.g. an AMPP or a DMPP).
///
/// Sub-entities (an AMPP inside an AMP) are separate entities that name their parent, so each
/// one is compared, stored and announced on its own.
package struct VersionedEntity: Sendable, Hashable {
    /// Lower snake case type name, e.g. `amp`, `ampp`, `dmpp`, `reimbursement_context`.
    package var type: String
    /// Identity attributes in source order, e.g. `[("deliveryEnvironment","P"),("codeType","CNK"),("code","0046128")]`.
    package var keyParts: [KeyPart]
    /// Unique text key within the type (for scoped sub-entities prefixed by the parent key).
    package var key: String
    package var parentType: String?
    package var parentKey: String?
    /// Non-identity attributes of the entity element (e.g. an AMP's `vmpCode`).
    package var attributes: [String: String]
    package var slices: [EntitySlice]
    /// Where the entity starts in its file (for findings).
    package var file: String
    package var line: Int

    package struct KeyPart: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    package init(
        type: String, keyParts: [KeyPart], key: String, parentType: String?, parentKey: String?,
        attributes: [String: String], slices: [EntitySlice], file: String, line: Int
    ) {
        self.type = type
        self.keyParts = keyParts
        self.key = key
        self.parentType = parentType
        self.parentKey = parentKey
        self.attributes = attributes
        self.slices = slices
        self.file = file
        self.line = line
    }

    package func keyValue(_ name: String) -> String? { keyParts.first { $0.name == name }?.value }

    /// Slices in canonical order (by from, then to, then content), so source order never changes the hash.
    package var orderedSlices: [EntitySlice] {
        slices.sorted { a, b in
            let af = a.from?.dayNumber ?? Int.min
            let bf = b.from?.dayNumber ?? Int.min
            if af != bf { return af < bf }
            let at = a.to?.dayNumber ?? Int.max
            let bt = b.to?.dayNumber ?? Int.max
            if at != bt { return at < bt }
            // Same period twice (an overlap the rules reject): order by content to stay deterministic.
            return a.json.canonicalText < b.json.canonicalText
        }
    }

    /// The identity as a JSON object (first value wins for a repeated attribute name).
    package var keyObject: JSONValue {
        .object(Dictionary(keyParts.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Every field and attribute name the entity carries (what a "created" event lists).
    package var fieldNames: [String] {
        // A few dozen short names: sorting and skipping repeats is cheaper than hashing them into a set.
        var names = Array(attributes.keys)
        for slice in slices { names.append(contentsOf: slice.fields.keys) }
        names.sort()
        var unique: [String] = []
        unique.reserveCapacity(names.count)
        for name in names where name != unique.last { unique.append(name) }
        return unique
    }

    /// The first day of its earliest slice (a "created" event's `effectiveFrom`).
    package var earliestFrom: LocalDate? { slices.compactMap(\.from).min() }

    /// The canonical document stored and compared: key, attributes and ordered slices.
    package var document: JSONValue {
        .object([
            "key": keyObject,
            "attributes": .object(attributes.mapValues { .string($0) }),
            "slices": .array(orderedSlices.map(\.json)),
        ])
    }

    /// The canonical document (UTF-8) and its SHA-256 (hex) content hash.
    package func canonicalDocumentBytes() -> (bytes: [UInt8], hash: String) {
        let bytes = canonicalBytes()
        return (bytes, hexString(SHA256.hash(data: bytes)))
    }

    /// Writes exactly `document.canonicalBytes` without building the wrapper objects (the hot path
    /// of an import: every entity of the export goes through here).
    func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        out.append(contentsOf: #"{"attributes":{"#.utf8)
        for (i, attribute) in attributes.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(attribute.key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONValue.writeString(attribute.value, into: &out)
        }
        out.append(contentsOf: #"},"key":"#.utf8)
        writeKeyObject(into: &out)
        out.append(contentsOf: #","slices":["#.utf8)
        for (i, slice) in orderedSlices.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"fields":"#.utf8)
            JSONValue.object(slice.fields).write(into: &out)
            out.append(contentsOf: #","from":"#.utf8)
            writeDate(slice.from, into: &out)
            out.append(contentsOf: #","to":"#.utf8)
            writeDate(slice.to, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// A slice's date as a JSON string (ISO digits need no escaping), or `null`.
    func writeDate(_ date: LocalDate?, into out: inout [UInt8]) {
        guard let date else {
            out.append(contentsOf: JSONValue.nullBytes)
            return
        }
        out.append(UInt8(ascii: "\""))
        date.writeISO(into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Writes exactly `keyObject.canonicalBytes` without building the dictionary.
    func writeKeyObject(into out: inout [UInt8]) {
        if keyParts.count == 1 {
            out.append(UInt8(ascii: "{"))
            JSONValue.writeString(keyParts[0].name, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONValue.writeString(keyParts[0].value, into: &out)
            out.append(UInt8(ascii: "}"))
            return
        }
        keyObject.write(into: &out)
    }

    /// The canonical document text and its SHA-256 (hex) content hash.
    package func canonicalDocument() -> (text: String, hash: String) {
        let (bytes, hash) = canonicalDocumentBytes()
        return (String(decoding: bytes, as: UTF8.self), hash)
    }
}
