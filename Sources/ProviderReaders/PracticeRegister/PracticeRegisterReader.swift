import Foundation
import RegistryCore
import XMLStreaming

/// One practice as the register states it, checked: a canonical document plus the columns the
/// registry searches by.
package struct PracticeRecord: Sendable {
    package var key: String
    package var nihii: String
    package var document: JSONValue
    package var postcode: String
    package var latitude: Double?
    package var longitude: Double?
    package var institutionKey: String?
    package var validFrom: LocalDate
    package var validTo: LocalDate?
    package var languages: [String]
    package var competences: [String]
}

/// Reads the practice register (docs/PROVIDER-FORMATS.md) from CSV, streamed line by line, or
/// from a JSON array; ``nextBatch()`` hands over checked records, `findings` collects the rest.
package final class PracticeRegisterReader {
    package static let columns = [
        "practice_id", "nihii", "role", "institution", "street_fr", "street_nl", "house_number", "post_box", "postcode",
        "municipality_fr", "municipality_nl", "nis_code", "latitude", "longitude", "languages", "competences", "phone",
        "email", "website", "valid_from", "valid_to",
    ]
    package static let roles: Set<String> = ["owner", "associate", "employee", "locum", "consultant"]

    package let file: String
    package private(set) var findings: [QualityFinding] = []
    package private(set) var rowsRead = 0
    package private(set) var bytesRead: UInt64 = 0
    /// Keys of rows that broke an error rule: what is stored for them stays.
    package private(set) var rejectedKeys: [String] = []
    package private(set) var isRefused = false

    let postcodes: PostcodeDirectory
    /// Longest CSV line, largest JSON document and deepest JSON nesting accepted.
    let limits: InputLimits
    var seen: Set<String> = []
    // CSV state
    var handle: FileHandle?
    var header: [String: Int] = [:]
    var carry: [UInt8] = []
    var position = 0
    var lineNumber = 0
    var atEnd = false
    // JSON state
    var jsonItems: [Any] = []
    var jsonIndex = 0

    /// The register file of PATH: the file itself, or `practices.csv` / `practices.json` in a folder.
    package static func resolve(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        for name in ["practices.csv", "practices.json"] {
            let candidate = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return (path as NSString).appendingPathComponent("practices.csv")
    }

    package init(path: String, postcodes: PostcodeDirectory = .bundled, limits: InputLimits = .current) throws {
        self.file = URL(fileURLWithPath: path).lastPathComponent
        self.postcodes = postcodes
        self.limits = limits
        if path.lowercased().hasSuffix(".json") {
            // Held whole (a JSON array), so read within REGISTRY_MAX_DOCUMENT_MB and nesting limits.
            let bytes: [UInt8]
            do {
                bytes = try WholeInput.read(path: path, name: file, limits: limits, lines: false)
                try WholeInput.checkJSONNesting(bytes, name: file, limits: limits)
            } catch let error as InputError {
                refuse(line: error.line, "\(error)")
                return
            }
            let data = Data(bytes)
            bytesRead = UInt64(data.count)
            guard let items = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                refuse(line: nil, "the file is not a JSON array of practice objects")
                return
            }
            jsonItems = items
        } else {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
            }
            self.handle = handle
            guard let first = nextLine() else {
                if !isRefused { refuse(line: 1, "the file is empty (expected a header row)") }
                return
            }
            let names = CSVLine.fields(first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            for (index, name) in names.enumerated() { header[name] = index }
            let missing = ["practice_id", "nihii", "postcode", "valid_from"].filter { header[$0] == nil }
            if !missing.isEmpty {
                refuse(line: 1, "the header lacks the required column(s) \(missing.joined(separator: ", "))")
                return
            }
            let unknown = names.filter { !Self.columns.contains($0) }
            if !unknown.isEmpty {
                findings.append(
                    QualityFinding(
                        rule: CoBRHAQualityRules.practiceColumn, file: file, line: 1,
                        message: "unknown column(s) \(unknown.joined(separator: ", ")) ignored"))
            }
        }
    }

    func refuse(line: Int?, _ message: String) {
        isRefused = true
        findings.append(QualityFinding(rule: CoBRHAQualityRules.practiceFile, file: file, line: line, message: message))
    }

    /// The next line of the CSV (without its line break), nil at the end or once the file is
    /// refused. Lines are cut out of the buffer by moving `position`; consumed bytes are dropped
    /// only when a chunk is added. A line longer than ``InputLimits/maxLineBytes`` or not UTF-8
    /// refuses the file, naming the line: the buffer never grows past one line and one chunk.
    func nextLine() -> String? {
        while !isRefused {
            if let newline = carry[position...].firstIndex(of: 0x0A) {
                var end = newline
                if end > position, carry[end - 1] == 0x0D { end -= 1 }
                return take(carry[position..<end], next: newline + 1)
            }
            if atEnd {
                guard position < carry.count else { return nil }
                return take(carry[position...], next: carry.count)
            }
            if carry.count - position > limits.maxLineBytes {
                refuse(
                    line: lineNumber + 1,
                    "\(InputError.lineTooLong(path: file, line: lineNumber + 1, limit: limits.maxLineBytes))")
                return nil
            }
            let chunk = handle?.readData(ofLength: 1 << 20) ?? Data()
            bytesRead += UInt64(chunk.count)
            carry.removeSubrange(..<position)
            position = 0
            if chunk.isEmpty { atEnd = true } else { carry.append(contentsOf: chunk) }
        }
        return nil
    }

    /// One line's text, or nil (and the file refused) when it is too long or not UTF-8.
    func take(_ bytes: ArraySlice<UInt8>, next: Int) -> String? {
        lineNumber += 1
        position = next
        guard bytes.count <= limits.maxLineBytes else {
            refuse(
                line: lineNumber, "\(InputError.lineTooLong(path: file, line: lineNumber, limit: limits.maxLineBytes))")
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            refuse(line: lineNumber, "\(InputError.invalidUTF8(path: file, line: lineNumber))")
            return nil
        }
        return text
    }

    package func nextBatch(size: Int = 5_000) -> [PracticeRecord]? {
        guard !isRefused else { return nil }
        var batch: [PracticeRecord] = []
        if handle != nil {
            while batch.count < size, let line = nextLine() {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                let fields = CSVLine.fields(line)
                var values: [String: String] = [:]
                for (name, index) in header where index < fields.count {
                    let value = fields[index].trimmingCharacters(in: .whitespaces)
                    if !value.isEmpty { values[name] = value }
                }
                if fields.count != header.count {
                    findings.append(
                        QualityFinding(
                            rule: CoBRHAQualityRules.practiceField, entityType: "practice",
                            entityKey: values["practice_id"], file: file, line: lineNumber,
                            message: "\(fields.count) fields where the header has \(header.count)"))
                    if let key = values["practice_id"] { rejectedKeys.append(key) }
                    continue
                }
                if let record = record(values, line: lineNumber) { batch.append(record) }
            }
        } else {
            while batch.count < size, jsonIndex < jsonItems.count {
                defer { jsonIndex += 1 }
                guard let object = jsonItems[jsonIndex] as? [String: Any] else {
                    findings.append(
                        QualityFinding(
                            rule: CoBRHAQualityRules.practiceField, file: file, line: jsonIndex + 1,
                            message: "item \(jsonIndex + 1) is not an object"))
                    continue
                }
                var values: [String: String] = [:]
                for (name, value) in object {
                    switch value {
                    case let text as String: values[name] = text.trimmingCharacters(in: .whitespaces)
                    case let number as NSNumber: values[name] = number.stringValue
                    case let list as [Any]: values[name] = list.compactMap { $0 as? String }.joined(separator: "|")
                    default: continue
                    }
                    if values[name]?.isEmpty == true { values[name] = nil }
                }
                if let record = record(values, line: jsonIndex + 1) { batch.append(record) }
            }
        }
        if batch.isEmpty && (handle == nil ? jsonIndex >= jsonItems.count : atEnd && position >= carry.count) {
            return nil
        }
        return batch
    }

    /// Byte-level checks: a regular expression per field and row costs more than the rest of the row.
    static func isPracticeId(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E
                    || $0 == 0x5F || $0 == 0x2D
            }
    }

    static func isCode(_ text: some StringProtocol) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }

    static func isLanguage(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 2 && text.utf8.allSatisfy { $0 >= 0x61 && $0 <= 0x7A }
    }

    /// `scheme:id` with a known scheme and 1-10 digits.
    static func isInstitutionKey(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, ["nihii", "cbe", "ehp", "afmps"].contains(parts[0]) else { return false }
        return (1...10).contains(parts[1].utf8.count) && parts[1].utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Checks one row; nil when an error rule rejects it.
    func record(_ values: [String: String], line: Int) -> PracticeRecord? {
        rowsRead += 1
        let key = values["practice_id"] ?? ""
        var rejected = false
        func finding(_ rule: QualityRule, _ message: String) {
            findings.append(
                QualityFinding(
                    rule: rule, entityType: "practice", entityKey: key.isEmpty ? nil : key, file: file, line: line,
                    message: message))
            if rule.severity >= .error { rejected = true }
        }
        guard Self.isPracticeId(key) else {
            finding(CoBRHAQualityRules.practiceId, "practice_id '\(key)' is not 1-64 of A-Za-z0-9._-")
            return nil
        }
        guard seen.insert(key).inserted else {
            finding(CoBRHAQualityRules.practiceId, "practice_id \(key) appears twice; the later row is rejected")
            return nil
        }
        let nihiiText = values["nihii"] ?? ""
        let nihii = NIHII(nihiiText)
        if nihii?.kind != .person || nihii?.digits != nihiiText {
            finding(CoBRHAQualityRules.practiceNIHII, "nihii '\(nihiiText)' is not 11 digits")
        }
        let postcode = values["postcode"] ?? ""
        let entry = postcodes.entries[postcode]
        if entry == nil {
            finding(CoBRHAQualityRules.practicePostcode, "postcode '\(postcode)' is not a Belgian postcode")
        }
        let from = values["valid_from"].flatMap { LocalDate(iso: $0) }
        var to: LocalDate?
        if from == nil {
            finding(CoBRHAQualityRules.practiceDate, "valid_from '\(values["valid_from"] ?? "")' is not a date")
        }
        if let text = values["valid_to"] {
            to = LocalDate(iso: text)
            if to == nil {
                finding(CoBRHAQualityRules.practiceDate, "valid_to '\(text)' is not a date")
            } else if let from, let to, to < from {
                finding(CoBRHAQualityRules.practiceDate, "valid_to \(to) is before valid_from \(from)")
            }
        }
        if let role = values["role"], !Self.roles.contains(role) {
            finding(
                CoBRHAQualityRules.practiceField,
                "role '\(role)' is not one of \(Self.roles.sorted().joined(separator: ", "))")
        }
        let languages = (values["languages"] ?? "").split(separator: "|").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        for language in languages where !Self.isLanguage(language) {
            finding(CoBRHAQualityRules.practiceField, "language '\(language)' is not an ISO 639-1 code")
        }
        let competences = (values["competences"] ?? "").split(separator: "|").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for competence in competences where !Self.isCode(competence) {
            finding(CoBRHAQualityRules.practiceField, "competence '\(competence)' is not a code of a-z, 0-9 and -")
        }
        if values["street_fr"] == nil && values["street_nl"] == nil && values["institution"] == nil {
            finding(CoBRHAQualityRules.practiceField, "no street (street_fr or street_nl) and no institution")
        }
        var institutionKey: String?
        if let institution = values["institution"] {
            if Self.isInstitutionKey(institution) {
                institutionKey = institution
            } else {
                finding(
                    CoBRHAQualityRules.practiceInstitution,
                    "institution '\(institution)' is not scheme:id (nihii, cbe, ehp or afmps); ignored")
            }
        }
        var latitude = values["latitude"].flatMap(Double.init)
        var longitude = values["longitude"].flatMap(Double.init)
        if (values["latitude"] != nil && latitude == nil) || (values["longitude"] != nil && longitude == nil) {
            finding(CoBRHAQualityRules.practiceGeo, "latitude/longitude are not numbers; the postcode centroid is used")
        }
        if let lat = latitude, let lon = longitude {
            let (usable, message) = PostcodeDirectory.checkPosition((lat, lon), postcode: postcode, entry: entry)
            if !usable {
                finding(CoBRHAQualityRules.practiceGeo, message)
                latitude = nil
                longitude = nil
            }
        }
        if rejected {
            rejectedKeys.append(key)
            return nil
        }
        var located = "source"
        if latitude == nil || longitude == nil, let centre = entry?.centroid {
            (latitude, longitude, located) = (centre.latitude, centre.longitude, "postcode-centroid")
        }
        var address: [String: JSONValue] = ["postcode": .string(postcode), "country": .string("BE")]
        var street: [String: JSONValue] = [:]
        var municipality: [String: JSONValue] = [:]
        for lang in ["fr", "nl"] {
            if let text = values["street_\(lang)"] { street[lang] = .string(text) }
            if let text = values["municipality_\(lang)"] { municipality[lang] = .string(text) }
        }
        address["street"] = .object(street)
        address["municipality"] = .object(municipality)
        for (column, field) in [("house_number", "number"), ("post_box", "box"), ("nis_code", "nisCode")] {
            if let text = values[column] { address[field] = .string(text) }
        }
        var document: [String: JSONValue] = [
            "id": .string(key), "nihii": .string(nihiiText), "address": .object(address),
            "languages": .array(languages.map(JSONValue.string)),
            "competences": .array(competences.map(JSONValue.string)),
            "from": .string(from!.description),
        ]
        if let to { document["to"] = .string(to.description) }
        if let role = values["role"] { document["role"] = .string(role) }
        if let institutionKey { document["institution"] = .string(institutionKey) }
        var contact: [String: JSONValue] = [:]
        for field in ["phone", "email", "website"] { if let text = values[field] { contact[field] = .string(text) } }
        if !contact.isEmpty { document["contact"] = .object(contact) }
        if let latitude, let longitude {
            document["position"] = .object([
                "latitude": .number(String(latitude)), "longitude": .number(String(longitude)),
                "from": .string(located),
            ])
        }
        return PracticeRecord(
            key: key, nihii: nihiiText, document: .object(document), postcode: postcode, latitude: latitude,
            longitude: longitude, institutionKey: institutionKey, validFrom: from!, validTo: to, languages: languages,
            competences: competences)
    }

    package func close() { try? handle?.close() }
}
