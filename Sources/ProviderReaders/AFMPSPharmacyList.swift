import Foundation
import RegistryCore
import XMLStreaming

/// One institution as the registry stores it: a canonical document and the identifiers it can be
/// found by. `key` is `scheme:id` of the source that asserts it (`afmps:913007`).
package struct InstitutionRecord: Sendable {
    package var key: String
    package var kind: String
    package var identifiers: [(scheme: String, value: String)]
    package var document: JSONValue
    package var postcode: String?
    package var latitude: Double?
    package var longitude: Double?
}

/// Quality rules of institution sources (stable ids).
package enum InstitutionQualityRules {
    package static let unreadable = QualityRule(
        id: "INST-FILE-UNREADABLE", severity: .fatal, summary: "The file is not the expected JSON list.")
    package static let authorisation = QualityRule(
        id: "INST-ID-AFMPS", severity: .error, summary: "AFMPS authorisation number: 1 to 6 digits, unique in the list."
    )
    package static let name = QualityRule(id: "INST-NAME", severity: .error, summary: "A name is present.")
    package static let cbe = QualityRule(
        id: "INST-ID-CBE", severity: .warning,
        summary: "Holder and operator enterprise numbers (CBE) pass the mod-97 check.")
    package static let postcode = QualityRule(
        id: "INST-POSTCODE", severity: .warning, summary: "The postcode exists in Belgium.")
    package static let outsideBelgium = QualityRule(
        id: "INST-GEO-BELGIUM", severity: .warning,
        summary: "Coordinates lie inside Belgium (else they are not kept; the postcode centroid stands in).")
    package static let farFromPostcode = QualityRule(
        id: "INST-GEO-POSTCODE", severity: .warning,
        summary: "Coordinates lie within 20 km of the postcode's centroid.")
    package static let status = QualityRule(
        id: "INST-STATUS", severity: .warning, summary: "Status is ACTIVE, TEMPORARILY_SUSPENDED or STOPPED.")
}

/// Reads the AFMPS/FAGG public list of pharmacies (as the JSON of jy95/pharmacies_BE: one object
/// per pharmacy with authorisation number, name, address, postcode, municipality, Lambert 2008
/// and WGS84 coordinates, holder and operator with CBE numbers, status) into institutions.
package struct AFMPSPharmacyList {
    package let postcodes: PostcodeDirectory

    package init(postcodes: PostcodeDirectory = .bundled) { self.postcodes = postcodes }

    /// Records and findings; throws only when the file is not a JSON list at all (or is nested
    /// deeper than ``InputLimits/maxNesting``).
    package func read(_ data: Data, file: String) throws -> (records: [InstitutionRecord], findings: [QualityFinding]) {
        try WholeInput.checkJSONNesting([UInt8](data), name: file)
        guard let items = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw AFMPSListError(file: file)
        }
        var records: [InstitutionRecord] = []
        var findings: [QualityFinding] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let position = "item \(index + 1)"
            guard let object = item as? [String: Any] else {
                findings.append(
                    QualityFinding(
                        rule: InstitutionQualityRules.authorisation, file: file,
                        message: "\(position) is not an object"))
                continue
            }
            let number = Self.text(object["authorization_id"])
            guard let number, (1...6).contains(number.count), number.allSatisfy(\.isASCII), Int(number) != nil else {
                findings.append(
                    QualityFinding(
                        rule: InstitutionQualityRules.authorisation, file: file,
                        message: "\(position): authorization_id '\(number ?? "")' is not 1 to 6 digits"))
                continue
            }
            let key = "afmps:\(number)"
            func finding(_ rule: QualityRule, _ message: String) {
                findings.append(
                    QualityFinding(rule: rule, entityType: "institution", entityKey: key, file: file, message: message))
            }
            guard seen.insert(number).inserted else {
                finding(
                    InstitutionQualityRules.authorisation, "authorisation \(number) appears twice; both are dropped")
                records.removeAll { $0.key == key }
                continue
            }
            let name = (Self.text(object["name"]) ?? "").trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                finding(InstitutionQualityRules.name, "no name")
                continue
            }
            var identifiers: [(String, String)] = [("afmps", number)]
            var parties: [String: JSONValue] = [:]
            for role in ["authorization_holder", "operator"] {
                guard let party = object[role] as? [String: Any] else { continue }
                var member: [String: JSONValue] = ["name": .string(Self.text(party["name"]) ?? "")]
                if let raw = Self.text(party["entreprise_number"]), !raw.isEmpty {
                    if let cbe = CBENumber(raw) {
                        member["cbe"] = .string(cbe.digits)
                        identifiers.append(("cbe", cbe.digits))
                    } else {
                        member["cbeAsGiven"] = .string(raw)
                        finding(
                            InstitutionQualityRules.cbe,
                            "\(role) enterprise number '\(raw)' fails the CBE check (10 digits, 97 - first eight mod 97)"
                        )
                    }
                }
                parties[role == "operator" ? "operator" : "holder"] = .object(member)
            }
            let status = Self.text(object["status"]) ?? ""
            if !["ACTIVE", "TEMPORARILY_SUSPENDED", "STOPPED"].contains(status) {
                finding(InstitutionQualityRules.status, "status '\(status)' is not a known AFMPS status")
            }
            let postcode = Self.text(object["zipCode"]).map { String(repeating: "0", count: max(0, 4 - $0.count)) + $0 }
            let entry = postcode.flatMap { postcodes.entries[$0] }
            if postcode != nil, entry == nil {
                finding(InstitutionQualityRules.postcode, "postcode \(postcode!) is not a Belgian postcode")
            }
            var latitude: Double?
            var longitude: Double?
            var lambert: JSONValue = .null
            for point in object["geo"] as? [[String: Any]] ?? [] {
                if let lat = point["latitude"] as? Double, let lon = point["longitude"] as? Double {
                    latitude = lat
                    longitude = lon
                }
                if let x = point["x"] as? Double, let y = point["y"] as? Double {
                    lambert = .object(["x": .number(String(x)), "y": .number(String(y))])
                }
            }
            if let lat = latitude, let lon = longitude {
                if !PostcodeDirectory.belgium.latitude.contains(lat)
                    || !PostcodeDirectory.belgium.longitude.contains(lon)
                {
                    finding(
                        InstitutionQualityRules.outsideBelgium,
                        "coordinates \(lat), \(lon) lie outside Belgium; the postcode centroid is used")
                    latitude = nil
                    longitude = nil
                } else if let centre = entry?.centroid {
                    let distance = PostcodeDirectory.kilometres((lat, lon), centre)
                    if distance > 20 {
                        finding(
                            InstitutionQualityRules.farFromPostcode,
                            "coordinates lie \(Int(distance)) km from the centroid of postcode \(postcode!)")
                    }
                }
            }
            var located = "source"
            if latitude == nil, let centre = entry?.centroid {
                latitude = centre.latitude
                longitude = centre.longitude
                located = "postcode-centroid"
            }
            var document: [String: JSONValue] = [
                "kind": .string("orgpharmacy"), "source": .string("afmps"),
                "identifiers": .object(["afmps": .string(number)]),
                "name": .string(name), "status": .string(status),
                "address": .object([
                    "text": .string((Self.text(object["textual_address"]) ?? "").trimmingCharacters(in: .whitespaces)),
                    "postcode": postcode.map(JSONValue.string) ?? .null,
                    "municipality": .string(Self.text(object["municipality"]) ?? ""),
                    "country": .string("BE"),
                ]),
                "lambert2008": lambert,
            ]
            if let latitude, let longitude {
                document["position"] = .object([
                    "latitude": .number(String(latitude)), "longitude": .number(String(longitude)),
                    "from": .string(located),
                ])
            }
            for (role, party) in parties { document[role] = party }
            records.append(
                InstitutionRecord(
                    key: key, kind: "orgpharmacy", identifiers: identifiers, document: .object(document),
                    postcode: postcode, latitude: latitude, longitude: longitude))
        }
        return (records, findings)
    }

    static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}

package struct AFMPSListError: Error, CustomStringConvertible {
    package var file: String
    package var description: String { "\(file) is not a JSON list of pharmacies" }
}
