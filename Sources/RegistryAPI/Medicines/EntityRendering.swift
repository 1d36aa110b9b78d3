import RegistryCore

/// The display languages; every answer carries all four, `lang` only picks the display text.
package enum DisplayLanguage: String, Sendable, CaseIterable {
    case fr, nl, de, en

    /// The requested language first, then the national languages, then English.
    var preference: [DisplayLanguage] {
        [self] + [.fr, .nl, .de, .en].filter { $0 != self }
    }
}

/// Renders stored SAM entities as API JSON: keys in lowerCamelCase, XML attributes without `@`,
/// nested `Data` slices resolved at the requested date (or all kept with `history=true`).
package struct EntityRenderer: Sendable {
    package var at: LocalDate
    package var history: Bool
    package var language: DisplayLanguage

    package init(at: LocalDate, history: Bool, language: DisplayLanguage) {
        self.at = at
        self.history = history
        self.language = language
    }

    /// `{"type","key","href","attributes","validity","fields","display"}`; with history, `slices`
    /// replaces `validity`/`fields`. When nothing is valid at `at`, `validity` and `fields` are null
    /// and `nearestValidity` says when the entity was valid.
    package func render(_ entity: StoredSAMEntity) -> JSONValue {
        var out: [String: JSONValue] = [
            "type": .string(entity.type),
            "key": apiValue(entity.document["key"] ?? .object([:])),
            "attributes": apiValue(entity.document["attributes"] ?? .object([:])),
        ]
        if let href = Self.href(type: entity.type, key: entity.document["key"] ?? .null) { out["href"] = .string(href) }
        if history {
            out["slices"] = .array(
                entity.slices.map { slice in
                    .object([
                        "validity": Self.validity(slice.from, slice.to), "fields": apiValue(slice.fields),
                    ])
                })
            if let current = entity.slice(at: at), let display = display(type: entity.type, fields: current.fields) {
                out["display"] = display
            }
        } else if let slice = entity.slice(at: at) {
            out["validity"] = Self.validity(slice.from, slice.to)
            out["fields"] = apiValue(slice.fields)
            if let display = display(type: entity.type, fields: slice.fields) { out["display"] = display }
        } else {
            out["validity"] = .null
            out["fields"] = .null
            if let nearest = entity.nearestPeriod(to: at) {
                out["nearestValidity"] = Self.validity(nearest.from, nearest.to)
            }
        }
        return .object(out)
    }

    package static func validity(_ from: LocalDate?, _ to: LocalDate?) -> JSONValue {
        .object([
            "from": from.map { .string($0.description) } ?? .null, "to": to.map { .string($0.description) } ?? .null,
        ])
    }

    /// The lookup URL of an entity, for the types that have one.
    package static func href(type: String, key: JSONValue) -> String? {
        func k(_ name: String) -> String? { key[name]?.stringValue }
        switch type {
        case "amp": return k("code").map { "/v1/medicines/amp/\($0)" }
        case "ampp": return k("ctiExtended").map { "/v1/medicines/ampp/\($0)" }
        case "dmpp":
            guard let code = k("code"), let env = k("deliveryEnvironment"), k("codeType") == "CNK" else { return nil }
            return "/v1/medicines/cnk/\(code)?env=\(env)"
        case "vmp": return k("code").map { "/v1/medicines/vmp/\($0)" }
        case "vmp_group": return k("code").map { "/v1/medicines/vmp-groups/\($0)" }
        case "company": return k("actorNr").map { "/v1/companies/\($0)" }
        case "paragraph":
            guard let chapter = k("ChapterName"), let paragraph = k("ParagraphName") else { return nil }
            return "/v1/medicines/chapter-iv/\(chapter)/\(paragraph)"
        default: return nil
        }
    }

    /// Which multilingual field names an entity of each type is displayed by, best first.
    static let displayFields: [String: [String]] = [
        "amp": ["Name", "PrescriptionNameFamhp", "AbbreviatedName", "PrescriptionName"],
        "ampp": ["PrescriptionNameFamhp", "PrescriptionName", "AbbreviatedName"],
        "vmp": ["Name"], "vmp_group": ["Name"], "vtm": ["Name"], "substance": ["Name"],
    ]

    /// `{"name","language"}` in the requested language, falling back to the others.
    func display(type: String, fields: JSONValue) -> JSONValue? {
        var candidates: [JSONValue] = (Self.displayFields[type] ?? []).compactMap { fields[$0] }
        if type == "company", let name = fields["Denomination"] { candidates.append(name) }
        if type == "paragraph" {
            var texts: [String: JSONValue] = [:]
            if let fr = fields["KeyStringFr"] { texts["Fr"] = fr }
            if let nl = fields["KeyStringNl"] { texts["Nl"] = nl }
            candidates.append(.object(texts))
        }
        for value in candidates {
            if let text = value.stringValue { return .object(["name": .string(text), "language": .null]) }
            for lang in language.preference {
                if let text = value[lang.rawValue.capitalized]?.stringValue {
                    return .object(["name": .string(text), "language": .string(lang.rawValue)])
                }
            }
        }
        return nil
    }

    /// Source JSON → API JSON: names in lowerCamelCase, `@attr` → `attr`, `#text` → `value`, and
    /// nested `Data` slices (e.g. an AMP's company) resolved at `at` unless history is asked for.
    package func apiValue(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(apiValue))
        case .object(let members):
            var out = [String: JSONValue](minimumCapacity: members.count)
            for (name, member) in members {
                if name == "Data" {
                    let slices: [JSONValue]
                    if case .array(let items) = member { slices = items } else { slices = [member] }
                    if history {
                        out["data"] = .array(slices.map(nestedSlice))
                    } else {
                        let valid = slices.last { slice in
                            covers(
                                from: slice["@from"]?.stringValue.flatMap { LocalDate(iso: $0) },
                                to: slice["@to"]?.stringValue.flatMap { LocalDate(iso: $0) }, day: at)
                        }
                        out["data"] = valid.map(nestedSlice) ?? .null
                    }
                } else {
                    out[Self.apiName(name)] = apiValue(member)
                }
            }
            return .object(out)
        default: return value
        }
    }

    func nestedSlice(_ slice: JSONValue) -> JSONValue {
        guard case .object(var members) = slice else { return apiValue(slice) }
        let from = members.removeValue(forKey: "@from")?.stringValue.flatMap { LocalDate(iso: $0) }
        let to = members.removeValue(forKey: "@to")?.stringValue.flatMap { LocalDate(iso: $0) }
        guard case .object(var out) = apiValue(.object(members)) else { return .null }
        out["validity"] = Self.validity(from, to)
        return .object(out)
    }

    /// `ExFactoryPrice` → `exFactoryPrice`, `FMDInScope` → `fmdInScope`, `@actorNr` → `actorNr`, `#text` → `value`.
    package static func apiName(_ name: String) -> String {
        if name == "#text" { return "value" }
        return asciiAPIName(name) ?? unicodeAPIName(name)
    }

    /// The rule on `Character`s, for names outside ASCII.
    static func unicodeAPIName(_ name: String) -> String {
        var chars = Array(name.hasPrefix("@") ? String(name.dropFirst()) : name)
        var i = 0
        while i < chars.count, chars[i].isUppercase {
            let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
            if i > 0 && nextIsLower { break }
            chars[i] = Character(chars[i].lowercased())
            i += 1
        }
        return String(chars)
    }

    /// ``apiName(_:)`` on the UTF-8 bytes of an ASCII name (every SAM name): the same rule without
    /// making an array of `Character`s, which was a tenth of an uncached lookup's rendering.
    static func asciiAPIName(_ name: String) -> String? {
        var utf8 = Array(name.utf8)
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        if utf8.first == UInt8(ascii: "@") { utf8.removeFirst() }
        func isUpper(_ b: UInt8) -> Bool { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") }
        func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
        var i = 0
        while i < utf8.count, isUpper(utf8[i]) {
            let nextIsLower = i + 1 < utf8.count && isLower(utf8[i + 1])
            if i > 0 && nextIsLower { break }
            utf8[i] += 0x20
            i += 1
        }
        return String(decoding: utf8, as: UTF8.self)
    }
}
