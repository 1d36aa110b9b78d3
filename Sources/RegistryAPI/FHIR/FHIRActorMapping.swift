import Foundation
import RegistryCore
import RegistryStore

/// FHIR R5 healthcare-actor resources (IHE mCSD shapes) built from typed records by pure
/// functions: no database, no clock (the routes pass today's date).
enum FHIRActorMapping {
    static func meta(_ changedAt: String) -> JSONValue { .object(["lastUpdated": .string(changedAt)]) }

    static func text(_ value: JSONValue?) -> String? {
        if let text = value?.stringValue { return text }
        for language in ["nl", "fr", "de", "en"] { if let text = value?[language]?.stringValue { return text } }
        return value?.members.values.compactMap(\.stringValue).sorted().first
    }

    static func address(_ address: JSONValue?) -> JSONValue? {
        guard let address else { return nil }
        var members: [String: JSONValue] = ["use": .string("work"), "type": .string("physical")]
        let street = [text(address["street"]), address["number"]?.stringValue, address["box"]?.stringValue]
            .compactMap { $0 }.joined(separator: " ")
        if !street.isEmpty { members["line"] = .array([.string(street)]) }
        if let city = text(address["municipality"]) { members["city"] = .string(city) }
        if let postcode = address["postcode"]?.stringValue { members["postalCode"] = .string(postcode) }
        if let country = address["country"]?.stringValue { members["country"] = .string(country) }
        return .object(members)
    }

    static func profession(_ code: String) -> JSONValue {
        let label = ProviderRendering.label(code)
        return FHIR.concept([FHIR.coding(FHIRSystem.samProfession, code, text(label))])
    }

    /// A professional (never the SSIN or birth date) as a Practitioner with NIHII identifiers and
    /// qualifications.
    static func practitioner(id: String, document: JSONValue, nihii: [String], changedAt changed: String)
        -> JSONValue
    {
        var resource: [String: JSONValue] = [
            "resourceType": .string("Practitioner"), "id": .string(id), "meta": Self.meta(changed),
            "active": .bool(true),
            "identifier": .array(nihii.map { FHIR.identifier(FHIRSystem.nihiiProfessional, $0) }),
        ]
        var name: [String: JSONValue] = ["use": .string("official")]
        if let family = document["lastName"]?.stringValue { name["family"] = .string(family) }
        if let given = document["firstName"]?.stringValue { name["given"] = .array([.string(given)]) }
        resource["name"] = .array([.object(name)])
        switch document["gender"]?.stringValue {
        case "M"?: resource["gender"] = .string("male")
        case "F"?: resource["gender"] = .string("female")
        default: break
        }
        let languages = (document["languages"]?.items ?? []).compactMap(\.stringValue)
        if !languages.isEmpty {
            resource["communication"] = .array(
                languages.map { .object(["language": FHIR.concept([FHIR.coding("urn:ietf:bcp:47", $0)])]) })
        }
        let qualifications = (document["professions"]?.items ?? []).compactMap { profession -> JSONValue? in
            guard let code = profession["code"]?.stringValue else { return nil }
            var period: [String: JSONValue] = [:]
            if let from = profession["from"]?.stringValue { period["start"] = .string(from) }
            if let to = profession["to"]?.stringValue { period["end"] = .string(to) }
            var qualification: [String: JSONValue] = ["code": Self.profession(code)]
            if !period.isEmpty { qualification["period"] = .object(period) }
            return .object(qualification)
        }
        if !qualifications.isEmpty { resource["qualification"] = .array(qualifications) }
        return .object(resource)
    }

    /// A practice as a Location (the place), active while its validity lasts.
    static func location(_ practice: FHIRActorQueries.Practice, today: LocalDate) -> JSONValue {
        let document = practice.document
        let active = practice.validTo.map { today <= $0 } ?? true
        var resource: [String: JSONValue] = [
            "resourceType": .string("Location"), "id": .string(FHIR.id(practice.key)),
            "meta": Self.meta(practice.changedAt),
            "identifier": .array([FHIR.identifier(FHIRSystem.practice, practice.key)]),
            "status": .string(active ? "active" : "inactive"), "mode": .string("instance"),
        ]
        if let address = Self.address(document["address"]) {
            resource["address"] = address
            resource["name"] = .string(
                ([address["line"]?[0]?.stringValue]
                    + [
                        [address["postalCode"]?.stringValue, address["city"]?.stringValue].compactMap { $0 }
                            .joined(separator: " ")
                    ])
                    .compactMap { $0 }.joined(separator: ", "))
        }
        if let latitude = document["position"]?["latitude"], let longitude = document["position"]?["longitude"],
            case .number = latitude, case .number = longitude
        {
            resource["position"] = .object(["latitude": latitude, "longitude": longitude])
        }
        if let institution = practice.institutionKey {
            resource["managingOrganization"] = FHIR.reference("Organization", FHIR.id(institution))
        }
        if let phone = document["contact"]?["phone"]?.stringValue {
            resource["contact"] = .array([
                .object(["telecom": .array([.object(["system": .string("phone"), "value": .string(phone)])])])
            ])
        }
        return .object(resource)
    }

    /// A practice as a PractitionerRole: the professional there, with their profession.
    static func practitionerRole(_ practice: FHIRActorQueries.Practice, today: LocalDate) -> JSONValue {
        var period: [String: JSONValue] = [:]
        if let from = practice.validFrom { period["start"] = .string(from.description) }
        if let to = practice.validTo { period["end"] = .string(to.description) }
        var resource: [String: JSONValue] = [
            "resourceType": .string("PractitionerRole"), "id": .string(FHIR.id(practice.key)),
            "meta": Self.meta(practice.changedAt),
            "identifier": .array([FHIR.identifier(FHIRSystem.practice, practice.key)]),
            "active": .bool(practice.validTo.map { today <= $0 } ?? true), "period": .object(period),
            "location": .array([FHIR.reference("Location", FHIR.id(practice.key))]),
        ]
        if let professional = practice.professionalId {
            resource["practitioner"] = FHIR.reference("Practitioner", FHIR.id(professional))
        }
        if let institution = practice.institutionKey {
            resource["organization"] = FHIR.reference("Organization", FHIR.id(institution))
        }
        if let profession = practice.profession { resource["specialty"] = .array([Self.profession(profession)]) }
        if let phone = practice.document["contact"]?["phone"]?.stringValue {
            resource["contact"] = .array([
                .object(["telecom": .array([.object(["system": .string("phone"), "value": .string(phone)])])])
            ])
        }
        return .object(resource)
    }

    /// An OMS organisation or location (EMA's ids are FHIR ids as they are).
    static func omsResource(id: String, type: String, document: JSONValue, changedAt changed: String) -> JSONValue {
        let status = document["status"]?.stringValue
        var resource: [String: JSONValue] = [
            "resourceType": .string(type), "id": .string(id), "meta": Self.meta(changed),
            "identifier": .array(
                [FHIR.identifier(type == "Organization" ? FHIRSystem.omsOrganisations : FHIRSystem.omsLocations, id)]
                    + (document["aliasIds"]?.items ?? []).compactMap(\.stringValue).map {
                        .object([
                            "use": .string("old"),
                            "system": .string(
                                type == "Organization" ? FHIRSystem.omsOrganisations : FHIRSystem.omsLocations),
                            "value": .string($0),
                        ])
                    }),
        ]
        if let name = document["name"]?.stringValue { resource["name"] = .string(name) }
        var address: [String: JSONValue] = [:]
        if let lines = document["address"]?["lines"] { address["line"] = lines }
        for (from, to) in [("city", "city"), ("postalCode", "postalCode"), ("country", "country")] {
            if let value = document["address"]?[from] { address[to] = value }
        }
        if type == "Organization" {
            resource["active"] = .bool(status == nil || status == "ACTIVE")
            resource["type"] = .array([FHIR.concept([], text: "OMS organisation")])
            if let alternatives = document["alternativeNames"] { resource["alias"] = alternatives }
            if !address.isEmpty { resource["contact"] = .array([.object(["address": .object(address)])]) }
        } else {
            resource["status"] = .string(status == nil || status == "ACTIVE" ? "active" : "inactive")
            resource["mode"] = .string("instance")
            if !address.isEmpty { resource["address"] = .object(address) }
            if let organisation = document["orgId"]?.stringValue {
                resource["managingOrganization"] = FHIR.reference("Organization", organisation)
            }
        }
        return .object(resource)
    }

    /// A SAM company as an Organization.
    static func company(id: String, actorNr: String, fields: JSONValue, changedAt changed: String) -> JSONValue {
        var resource: [String: JSONValue] = [
            "resourceType": .string("Organization"), "id": .string(id), "meta": Self.meta(changed),
            "identifier": .array([FHIR.identifier(FHIRSystem.samCompany, actorNr)]), "active": .bool(true),
            "type": .array([FHIR.concept([], text: "company")]),
            "name": .string(fields["Denomination"]?.stringValue ?? actorNr),
        ]
        let street = [fields["StreetName"]?.stringValue, fields["StreetNum"]?.stringValue].compactMap { $0 }
            .joined(separator: " ")
        var address: [String: JSONValue] = ["use": .string("work")]
        if !street.isEmpty { address["line"] = .array([.string(street)]) }
        if let city = fields["City"]?.stringValue { address["city"] = .string(city) }
        if let postcode = fields["Postcode"]?.stringValue { address["postalCode"] = .string(postcode) }
        if let country = fields["CountryCode"]?.stringValue { address["country"] = .string(country) }
        resource["contact"] = .array([.object(["address": .object(address)])])
        return .object(resource)
    }

    /// An institution (CoBRHA or AFMPS) as an Organization with its identifiers.
    static func institution(id: String, document: JSONValue, kind: String, changedAt changed: String) -> JSONValue {
        var identifiers: [JSONValue] = []
        let systems = [
            ("cbe", FHIRSystem.cbe), ("nihii", FHIRSystem.nihiiOrganization), ("ehp", FHIRSystem.ehp),
            ("afmps", FHIRSystem.afmps),
        ]
        for (scheme, system) in systems {
            if let value = document["identifiers"]?[scheme]?.stringValue {
                identifiers.append(FHIR.identifier(system, value))
            }
        }
        let status =
            (document["status"]?.items ?? []).last?["code"]?.stringValue
            ?? document["status"]?.stringValue
        var resource: [String: JSONValue] = [
            "resourceType": .string("Organization"), "id": .string(id), "meta": Self.meta(changed),
            "identifier": .array(identifiers), "active": .bool(status.map { $0.uppercased() == "ACTIVE" } ?? true),
            "type": .array([Self.profession(kind)]),
        ]
        if let name = Self.text(document["name"]) { resource["name"] = .string(name) }
        let aliases = (document["name"]?.members.values.compactMap(\.stringValue) ?? []).filter {
            $0 != resource["name"]?.stringValue
        }
        if !aliases.isEmpty { resource["alias"] = .array(Set(aliases).sorted().map(JSONValue.string)) }
        if let address = Self.address(document["address"]) {
            resource["contact"] = .array([.object(["address": address])])
        }
        return .object(resource)
    }

}
