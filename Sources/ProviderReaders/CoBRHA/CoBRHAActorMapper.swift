import Foundation
import RegistryCore
import XMLStreaming

/// Maps one `HealthCareProfessional` or `HealthCareOrganization` element to the facts document a
/// source asserts, applying the per-record quality rules. A record breaking an error rule yields
/// no fact (only its key, so the caller keeps what is stored for it).
package struct CoBRHAActorMapper: Sendable {
    package let catalog: ProfessionCatalog
    package let postcodes: PostcodeDirectory
    package let today: LocalDate

    package init(
        catalog: ProfessionCatalog = .bundled, postcodes: PostcodeDirectory = .bundled,
        today: LocalDate = .todayInBrussels()
    ) {
        self.catalog = catalog
        self.postcodes = postcodes
        self.today = today
    }

    /// How an SSIN appears in findings: never whole (findings are shown to operators).
    package static func masked(_ ssin: String) -> String { "ssin:…" + String(ssin.suffix(3)) }

    struct Checker {
        let file: String
        let entityType: String
        let entityKey: String
        var findings: [QualityFinding] = []
        var rejected = false

        mutating func add(_ rule: QualityRule, line: Int, _ message: String) {
            findings.append(
                QualityFinding(
                    rule: rule, entityType: entityType, entityKey: entityKey, file: file, line: line,
                    message: message))
            if rule.severity >= .error { rejected = true }
        }

        /// A validity period; nil (and an error) when a date is malformed or from > to.
        mutating func period(_ node: XMLElementNode, what: String) -> (from: LocalDate, to: LocalDate?)? {
            guard let fromText = node.attribute("from"), let from = LocalDate(iso: fromText) else {
                add(
                    CoBRHAQualityRules.date, line: node.line,
                    "\(what): from '\(node.attribute("from") ?? "")' is not a date")
                return nil
            }
            var to: LocalDate?
            if let toText = node.attribute("to") {
                guard let parsed = LocalDate(iso: toText) else {
                    add(CoBRHAQualityRules.date, line: node.line, "\(what): to '\(toText)' is not a date")
                    return nil
                }
                to = parsed
            }
            if let to, to < from {
                add(CoBRHAQualityRules.period, line: node.line, "\(what): from \(from) is after to \(to)")
                return nil
            }
            return (from, to)
        }
    }

    static func periodJSON(_ period: (from: LocalDate, to: LocalDate?)) -> [String: JSONValue] {
        var out: [String: JSONValue] = ["from": .string(period.from.description)]
        if let to = period.to { out["to"] = .string(to.description) }
        return out
    }

    static func overlaps(_ a: (from: LocalDate, to: LocalDate?), _ b: (from: LocalDate, to: LocalDate?)) -> Bool {
        (a.to.map { b.from <= $0 } ?? true) && (b.to.map { a.from <= $0 } ?? true)
    }

    func child(_ node: XMLElementNode, _ name: String) -> XMLElementNode? {
        node.children.first { $0.name == name && $0.namespace == CoBRHASnapshotReader.namespace }
    }

    func children(_ node: XMLElementNode, _ name: String) -> [XMLElementNode] {
        node.children.filter { $0.name == name && $0.namespace == CoBRHASnapshotReader.namespace }
    }

    func trimmed(_ node: XMLElementNode?) -> String? {
        guard let text = node?.text.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    /// `{lang: text}` of the `xml:lang` descriptions.
    func descriptions(_ nodes: [XMLElementNode]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for node in nodes {
            guard let text = trimmed(node) else { continue }
            let lang = node.attribute("lang") ?? "und"
            out[lang] = .string(text)
        }
        return out
    }

    // MARK: Professionals

    package func professional(
        _ node: XMLElementNode, source: String, file: String, findings: inout [QualityFinding]
    ) -> (ActorFact?, String?) {
        let rawSSIN = trimmed(child(node, "SSIN")) ?? ""
        var check = Checker(file: file, entityType: "professional", entityKey: Self.masked(rawSSIN))
        defer { findings.append(contentsOf: check.findings) }
        guard let ssin = SSIN(rawSSIN), ssin.digits == rawSSIN else {
            check.add(
                CoBRHAQualityRules.ssin, line: node.line,
                "SSIN '\(rawSSIN.isEmpty ? "" : Self.masked(rawSSIN))' is not a valid national or BIS number")
            return (nil, nil)
        }
        var document: [String: JSONValue] = ["ssin": .string(ssin.digits)]
        let first = trimmed(child(node, "FirstName"))
        let last = trimmed(child(node, "LastName"))
        if first == nil || last == nil {
            check.add(CoBRHAQualityRules.name, line: node.line, "a first name and a last name are required")
        }
        document["firstName"] = first.map(JSONValue.string) ?? .null
        document["lastName"] = last.map(JSONValue.string) ?? .null
        if let gender = trimmed(child(node, "Gender")) { document["gender"] = .string(gender) }
        var birth: LocalDate?
        var death: LocalDate?
        for (name, field) in [("BirthDate", "birthDate"), ("DeathDate", "deathDate")] {
            guard let element = child(node, name), let text = trimmed(element) else { continue }
            guard let date = LocalDate(iso: text) else {
                check.add(CoBRHAQualityRules.date, line: element.line, "\(name) '\(text)' is not a date")
                continue
            }
            if date > today {
                check.add(CoBRHAQualityRules.date, line: element.line, "\(name) \(date) lies in the future")
            }
            if name == "BirthDate" { birth = date } else { death = date }
            document[field] = .string(text)
        }
        if let birth, let death, death < birth {
            check.add(CoBRHAQualityRules.date, line: node.line, "DeathDate \(death) is before BirthDate \(birth)")
        }
        let languages = children(node, "Language").compactMap { trimmed($0)?.lowercased() }
        document["languages"] = .array(Array(Set(languages)).sorted().map(JSONValue.string))

        var professions: [(code: String, period: (from: LocalDate, to: LocalDate?), json: JSONValue)] = []
        for element in children(node, "Profession") {
            let code = trimmed(child(element, "ProfessionCode")) ?? ""
            guard catalog.isProfession(code) else {
                check.add(
                    CoBRHAQualityRules.professionCode, line: element.line,
                    "profession '\(code)' is not a CD-HCPARTY person code")
                continue
            }
            guard let period = check.period(element, what: "profession \(code)") else { continue }
            var profession = Self.periodJSON(period)
            profession["code"] = .string(code)
            profession["assertedBy"] = .string(child(element, "ProfessionCode")?.attribute("authenticSource") ?? source)
            if let nihiiElement = child(element, "NIHII"), let text = trimmed(nihiiElement) {
                if let nihii = NIHII(text), nihii.kind == .person, nihii.digits == text {
                    if !nihii.checkDigitsValid {
                        check.add(
                            CoBRHAQualityRules.nihiiCheck, line: nihiiElement.line,
                            "NIHII \(text): check digits \(text.dropFirst(6).prefix(2)) are not 97 - (first six digits mod 97)"
                        )
                    }
                    if !catalog.digitMatches(nihii, profession: code) {
                        let expected = catalog.nihiiDigits[code, default: []].sorted().map(String.init).joined(
                            separator: " or ")
                        check.add(
                            CoBRHAQualityRules.nihiiProfession, line: nihiiElement.line,
                            "NIHII \(text) starts with \(text.prefix(1)), but a \(code) NIHII starts with \(expected)")
                    }
                    profession["nihii"] = .string(text)
                } else {
                    check.add(
                        CoBRHAQualityRules.nihii, line: nihiiElement.line, "NIHII '\(text)' is not 11 digits")
                }
            }
            var specialities: [(String, (from: LocalDate, to: LocalDate?), JSONValue)] = []
            for speciality in children(element, "Speciality") {
                let specialityCode = speciality.attribute("code") ?? ""
                if !catalog.isProfession(specialityCode) {
                    check.add(
                        CoBRHAQualityRules.specialityCode, line: speciality.line,
                        "speciality '\(specialityCode)' is not a CD-HCPARTY person code")
                }
                guard let period = check.period(speciality, what: "speciality \(specialityCode)") else { continue }
                if specialities.contains(where: { $0.0 == specialityCode && Self.overlaps($0.1, period) }) {
                    check.add(
                        CoBRHAQualityRules.overlap, line: speciality.line,
                        "speciality \(specialityCode) has overlapping periods")
                }
                var json = Self.periodJSON(period)
                json["code"] = .string(specialityCode)
                specialities.append((specialityCode, period, .object(json)))
            }
            profession["specialities"] = .array(specialities.map(\.2))
            var licences: [JSONValue] = []
            for licence in children(element, "Licence") {
                guard let period = check.period(licence, what: "licence") else { continue }
                var json = Self.periodJSON(period)
                json["kind"] = .string(licence.attribute("kind") ?? "")
                json["status"] = .string(licence.attribute("status") ?? "")
                licences.append(.object(json))
            }
            profession["licences"] = .array(licences)
            if let overlapping = professions.first(where: { $0.code == code && Self.overlaps($0.period, period) }) {
                check.add(
                    CoBRHAQualityRules.overlap, line: element.line,
                    "profession \(code) from \(period.from) overlaps its period from \(overlapping.period.from)")
            }
            if let death, period.to.map({ $0 > death }) ?? true {
                check.add(
                    CoBRHAQualityRules.deceasedActive, line: element.line,
                    "profession \(code) is valid after the date of death \(death)")
            }
            professions.append((code, period, .object(profession)))
        }
        document["professions"] = .array(
            professions.sorted { ($0.code, $0.period.from) < ($1.code, $1.period.from) }.map(\.json))
        if check.rejected { return (nil, ssin.digits) }
        return (ActorFact(kind: .professional, key: ssin.digits, document: .object(document), line: node.line), nil)
    }

    // MARK: Organisations

    package func organisation(
        _ node: XMLElementNode, source: String, file: String, findings: inout [QualityFinding]
    ) -> (ActorFact?, String?) {
        var identifiers: [String: String] = [:]
        var problems: [(Int, String)] = []
        for element in children(node, "Identifier") {
            let scheme = element.attribute("scheme") ?? ""
            let value = trimmed(element) ?? ""
            switch scheme {
            case "nihii":
                if let nihii = NIHII(value), nihii.kind == .organisation, nihii.digits == value {
                    identifiers["nihii"] = value
                } else {
                    problems.append((element.line, "nihii '\(value)' is not 8 digits"))
                }
            case "cbe":
                if let cbe = CBENumber(value) {
                    identifiers["cbe"] = cbe.digits
                } else {
                    problems.append((element.line, "cbe '\(value)' fails the CBE check (10 digits, mod 97)"))
                }
            case "ehp":
                if let ehp = EHPNumber(value) {
                    identifiers["ehp"] = ehp.digits
                } else {
                    problems.append((element.line, "ehp '\(value)' is not 10 digits"))
                }
            default: problems.append((element.line, "unknown identifier scheme '\(scheme)'"))
            }
        }
        let scheme = ["nihii", "cbe", "ehp"].first { identifiers[$0] != nil }
        let key = scheme.map { "\($0):\(identifiers[$0]!)" }
        var check = Checker(file: file, entityType: "institution", entityKey: key ?? "line \(node.line)")
        defer { findings.append(contentsOf: check.findings) }
        for (line, message) in problems { check.add(CoBRHAQualityRules.organisationId, line: line, message) }
        guard let key else {
            if problems.isEmpty {
                check.add(CoBRHAQualityRules.organisationId, line: node.line, "no nihii, cbe or ehp identifier")
            }
            return (nil, nil)
        }
        if let nihii = identifiers["nihii"], !NIHII(nihii)!.checkDigitsValid {
            check.add(
                CoBRHAQualityRules.nihiiCheck, line: node.line,
                "NIHII \(nihii): check digits are not 97 - (first six digits mod 97)")
        }
        let type = trimmed(child(node, "Type")) ?? ""
        if !catalog.isOrganisationType(type) {
            check.add(
                CoBRHAQualityRules.organisationType, line: node.line,
                "type '\(type)' is not a CD-HCPARTY organisation code")
        }
        let names = descriptions(children(node, "Name"))
        if names["fr"] == nil && names["nl"] == nil {
            check.add(CoBRHAQualityRules.organisationName, line: node.line, "no French or Dutch name")
        }
        var statuses: [JSONValue] = []
        for status in children(node, "Status") {
            guard let period = check.period(status, what: "status") else { continue }
            var json = Self.periodJSON(period)
            json["code"] = .string(status.attribute("code") ?? "")
            statuses.append(.object(json))
        }
        var document: [String: JSONValue] = [
            "kind": .string(type), "identifiers": .object(identifiers.mapValues(JSONValue.string)),
            "name": .object(names), "status": .array(statuses),
        ]
        if let address = child(node, "Address") {
            let (json, position) = self.address(address, check: &check)
            document["address"] = json
            if let position { document["position"] = position }
        }
        if check.rejected { return (nil, key) }
        return (ActorFact(kind: .institution, key: key, document: .object(document), line: node.line), nil)
    }

    func address(_ node: XMLElementNode, check: inout Checker) -> (JSONValue, JSONValue?) {
        var json: [String: JSONValue] = [
            "street": .object(descriptions(children(node, "Street"))),
            "municipality": .object(descriptions(children(node, "Municipality"))),
        ]
        let postcode = trimmed(child(node, "PostalCode"))
        let country = trimmed(child(node, "Country"))?.uppercased() ?? "BE"
        json["country"] = .string(country)
        for (name, field) in [("HouseNumber", "number"), ("PostBox", "box"), ("NISCode", "nisCode")] {
            if let text = trimmed(child(node, name)) { json[field] = .string(text) }
        }
        json["postcode"] = postcode.map(JSONValue.string) ?? .null
        let entry = postcode.flatMap { postcodes.entries[$0] }
        if country == "BE", entry == nil {
            check.add(
                CoBRHAQualityRules.postcode, line: node.line, "postcode '\(postcode ?? "")' is not a Belgian postcode")
        }
        var latitude = trimmed(child(node, "Latitude")).flatMap(Double.init)
        var longitude = trimmed(child(node, "Longitude")).flatMap(Double.init)
        if let lat = latitude, let lon = longitude {
            let (inside, message) = PostcodeDirectory.checkPosition((lat, lon), postcode: postcode, entry: entry)
            if !inside {
                check.add(
                    message.contains("outside")
                        ? CoBRHAQualityRules.outsideBelgium : CoBRHAQualityRules.farFromPostcode,
                    line: node.line, message)
                latitude = nil
                longitude = nil
            }
        }
        var from = "source"
        if latitude == nil || longitude == nil, let centre = entry?.centroid {
            (latitude, longitude, from) = (centre.latitude, centre.longitude, "postcode-centroid")
        }
        guard let latitude, let longitude else { return (.object(json), nil) }
        return (
            .object(json),
            .object([
                "latitude": .number(String(latitude)), "longitude": .number(String(longitude)), "from": .string(from),
            ])
        )
    }
}

extension PostcodeDirectory {
    package static let belgium = (latitude: 49.49...51.51, longitude: 2.54...6.41)

    /// Whether a source's position is usable: inside Belgium and within 20 km of the postcode's
    /// centroid; the message says why not.
    package static func checkPosition(
        _ position: (Double, Double), postcode: String?, entry: Entry?
    ) -> (Bool, String) {
        let (lat, lon) = position
        guard belgium.latitude.contains(lat), belgium.longitude.contains(lon) else {
            return (false, "coordinates \(lat), \(lon) lie outside Belgium; the postcode centroid is used")
        }
        if let centre = entry?.centroid {
            let distance = kilometres(position, centre)
            if distance > 20 {
                return (
                    false,
                    "coordinates lie \(Int(distance)) km from the centroid of postcode \(postcode ?? ""); the centroid is used"
                )
            }
        }
        return (true, "")
    }
}
