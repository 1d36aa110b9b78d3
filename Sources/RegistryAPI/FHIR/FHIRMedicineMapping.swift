import Foundation
import RegistryCore
import RegistryStore

/// FHIR R5 medicine resources built from typed records by pure functions: no database, no clock
/// (the routes read the records and pass today's date), so each mapping can be tested on its own (`PureMappingTests`).
enum FHIRMedicineMapping {
    static func status(_ active: Bool) -> JSONValue {
        FHIR.concept([FHIR.coding(FHIRSystem.publicationStatus, active ? "active" : "retired")])
    }

    /// RMS (and EDQM) codings of an IDMP item, with its SAM name as text.
    static func idmpConcept(_ item: JSONValue?) -> JSONValue? {
        guard let item else { return nil }
        var codings: [JSONValue] = []
        if let rms = item["rms"], let list = rms["listId"]?.stringValue, let term = rms["termId"]?.stringValue {
            codings.append(FHIR.coding(FHIRSystem.rmsList(list), term, rms["name"]?.stringValue))
        }
        if let edqm = item["edqmCode"]?.stringValue { codings.append(FHIR.coding(FHIRSystem.edqm, edqm)) }
        let text = item["name"]?.stringValue ?? item["samCode"]?.stringValue
        return codings.isEmpty && text == nil ? nil : FHIR.concept(codings, text: text)
    }

    static func substanceConcept(_ ingredient: JSONValue?) -> JSONValue? {
        guard let substance = ingredient?["substance"] else { return nil }
        var codings: [JSONValue] = []
        if let id = substance["sms"]?["substanceId"]?.stringValue {
            codings.append(FHIR.coding(FHIRSystem.sms, id, substance["name"]?.stringValue))
        }
        return FHIR.concept(codings, text: substance["name"]?.stringValue ?? substance["samCode"]?.stringValue)
    }

    /// Names of a SAM multilingual text, one per language.
    static func names(_ text: JSONValue?) -> [(language: String, name: String)] {
        ["Fr", "Nl", "De", "En"].compactMap { language in
            text?[language]?.stringValue.map { (language.lowercased(), $0) }
        }
    }

    /// `{AMP code}-{sequence}` → the component's item; `{AMP code}-{sequence}-{rank}` → an ingredient.
    static func split(_ id: String) -> (amp: String, rest: [String])? {
        guard id.utf8.count > 13 else { return nil }
        let amp = String(id.prefix(12))
        let rest = id.dropFirst(12)
        guard SAMIdentifierKind.ampCode.isValid(amp), rest.first == "-" else { return nil }
        return (amp, rest.dropFirst().split(separator: "-").map(String.init))
    }

    /// An AMP as a MedicinalProductDefinition, as it is on `today` (nil when it is not valid then).
    /// `virtualForms`: the `VirtualForm` fields of its VMP's components, shown as characteristics.
    static func medicinalProduct(
        code: String, amp: StoredSAMEntity, components ampComponents: [StoredSAMEntity], idmp: JSONValue?,
        virtualForms: [JSONValue] = [], today: LocalDate
    ) -> JSONValue? {
        guard let fields = amp.slice(at: today)?.fields else { return nil }
        let components = idmp?["components"]?.items ?? []
        var names = Self.names(fields["Name"]).map { language, name -> JSONValue in
            .object([
                "productName": .string(name),
                "usage": .array([
                    .object([
                        "country": FHIR.concept([FHIR.coding("urn:iso:std:iso:3166", "BE", "Belgium")]),
                        "language": FHIR.concept([FHIR.coding("urn:ietf:bcp:47", language)]),
                    ])
                ]),
            ])
        }
        if names.isEmpty {
            names = [.object(["productName": .string(fields["OfficialName"]?.stringValue ?? code)])]
        }
        var resource: [String: JSONValue] = [
            "resourceType": .string("MedicinalProductDefinition"), "id": .string(code),
            "identifier": .array([FHIR.identifier(FHIRSystem.samAmp, code)]),
            "status": Self.status(fields["Status"]?.stringValue == "AUTHORIZED"),
            "name": .array(names),
            "comprisedOf": .array(
                ampComponents.filter { $0.slice(at: today) != nil }.map {
                    FHIR.reference(
                        "ManufacturedItemDefinition", "\(code)-\($0.document["key"]?["sequenceNr"]?.stringValue ?? "")")
                }),
        ]
        if let form = Self.idmpConcept(components.first?["doseForms"]?[0]) {
            resource["combinedPharmaceuticalDoseForm"] = form
        }
        let routes = components.flatMap { $0["routes"]?.items ?? [] }.compactMap(Self.idmpConcept)
        if !routes.isEmpty { resource["route"] = .array(routes) }
        let ingredients = components.flatMap { $0["activeIngredients"]?.items ?? [] }.compactMap(
            Self.substanceConcept)
        if !ingredients.isEmpty { resource["ingredient"] = .array(ingredients) }
        let characteristics = virtualForms.compactMap(Self.virtualFormCharacteristic)
        if !characteristics.isEmpty { resource["characteristic"] = .array(characteristics) }
        if let actorNr = fields["Company"]?["@actorNr"]?.stringValue {
            resource["contact"] = .array([
                .object([
                    "type": FHIR.concept([], text: "Marketing authorisation holder"),
                    "contact": FHIR.reference("Organization", "company-\(actorNr)"),
                ])
            ])
        }
        return .object(resource)
    }

    /// A VMP component's virtual form (`{"@code", "Name": {Fr, Nl, …}}`) as a characteristic.
    static func virtualFormCharacteristic(_ form: JSONValue) -> JSONValue? {
        guard let code = form["@code"]?.stringValue else { return nil }
        let name = names(form["Name"]).first?.name
        var coding: [String: JSONValue] = ["system": .string(FHIRSystem.samVirtualForm), "code": .string(code)]
        if let name { coding["display"] = .string(name) }
        return .object([
            "type": FHIR.concept([], text: "Virtual form (SAM VMP)"),
            "valueCodeableConcept": .object(["coding": .array([.object(coding)])]),
        ])
    }

    /// An AMP component (its IDMP view) as a ManufacturedItemDefinition.
    static func manufacturedItem(id: String, component: JSONValue) -> JSONValue {
        var resource: [String: JSONValue] = [
            "resourceType": .string("ManufacturedItemDefinition"), "id": .string(id), "status": .string("active"),
            "manufacturedDoseForm": Self.idmpConcept(component["doseForms"]?[0])
                ?? FHIR.concept([], text: "not stated in SAM"),
        ]
        let ingredients = (component["activeIngredients"]?.items ?? []).compactMap(Self.substanceConcept)
        if !ingredients.isEmpty { resource["ingredient"] = .array(ingredients) }
        return .object(resource)
    }

    /// An active ingredient of an AMP component (its IDMP view) as an Ingredient.
    static func ingredient(id: String, ampCode code: String, sequence: String, ingredient: JSONValue) -> JSONValue? {
        guard let concept = substanceConcept(ingredient) else { return nil }
        var substance: [String: JSONValue] = ["code": .object(["concept": concept])]
        if let strength = ingredient["strength"], let value = strength["value"]?.stringValue,
            MedicineRoutes<RegistryRequestContext>.decimal(.string(value)) != .null
        {
            var quantity: [String: JSONValue] = ["value": .number(value)]
            if let unit = strength["unit"]?.stringValue { quantity["unit"] = .string(unit) }
            if let ucum = strength["ucum"]?.stringValue {
                quantity["system"] = .string(FHIRSystem.ucum)
                quantity["code"] = .string(ucum)
            }
            substance["strength"] = .array([.object(["presentationQuantity": .object(quantity)])])
        }
        return .object([
            "resourceType": .string("Ingredient"), "id": .string(id), "status": .string("active"),
            "for": .array([
                FHIR.reference("MedicinalProductDefinition", code),
                FHIR.reference("ManufacturedItemDefinition", "\(code)-\(sequence)"),
            ]),
            "role": FHIR.concept([FHIR.coding(FHIRSystem.rmsList("100000072050"), "100000072072", "Active")]),
            "substance": .object(substance),
        ])
    }

    /// The pack as a resource when it is valid today (its CNKs: those of its DMPPs valid today).
    static func packagedProduct(_ pack: FHIRSearchQueries.Pack, today: LocalDate) -> JSONValue? {
        let ampp = pack.ampp
        guard let fields = ampp.slice(at: today)?.fields else { return nil }
        var identifiers = [FHIR.identifier(FHIRSystem.ctiExtended, ampp.key)]
        let cnks = Set(
            pack.dmpps.filter {
                $0.slice(at: today) != nil && $0.key.split(separator: "|").dropFirst().first == "CNK"
            }
            .compactMap { $0.key.split(separator: "|").last.map(String.init) })
        identifiers += cnks.sorted().map { FHIR.identifier(FHIRSystem.cnk, $0) }
        let name =
            Self.names(fields["PrescriptionName"]).first?.name
            ?? Self.names(fields["AbbreviatedName"]).first?.name
        var resource: [String: JSONValue] = [
            "resourceType": .string("PackagedProductDefinition"), "id": .string(ampp.key),
            "identifier": .array(identifiers), "status": Self.status(true),
        ]
        if let name { resource["name"] = .string(name) }
        if let amp = ampp.parentKey {
            resource["packageFor"] = .array([FHIR.reference("MedicinalProductDefinition", amp)])
        }
        if let type = Self.idmpConcept(pack.packaging[0]) {
            resource["packaging"] = .object(["type": type, "quantity": .number("1")])
        }
        return .object(resource)
    }

    /// An SMS substance (its stored document) as a SubstanceDefinition.
    static func substance(id: String, document: JSONValue) -> JSONValue {
        var names: [JSONValue] = [
            .object(["name": .string(document["name"]?.stringValue ?? id), "preferred": .bool(true)])
        ]
        names += (document["synonyms"]?.items ?? []).compactMap(\.stringValue).map {
            .object(["name": .string($0), "preferred": .bool(false)])
        }
        return .object([
            "resourceType": .string("SubstanceDefinition"), "id": .string(id),
            "identifier": .array([FHIR.identifier(FHIRSystem.sms, id)]),
            "status": Self.status(true), "name": .array(names),
        ])
    }

    /// An imported RMS list (all its terms) as a complete CodeSystem.
    static func codeSystem(id: String, listId: String, terms: [SPORQueries.TermSummary], total: Int) -> JSONValue {
        var concepts: [JSONValue] = []
        for term in terms {
            concepts.append(
                .object([
                    "code": .string(term.termId), "display": .string(term.name ?? term.termId),
                    "property": .array([
                        .object(["code": .string("status"), "valueCode": .string(term.status)]),
                        .object(["code": .string("inactive"), "valueBoolean": .bool(term.status != "CURRENT")]),
                    ]),
                ]))
        }
        let name = RMSListNames.name(of: listId)
        return .object([
            "resourceType": .string("CodeSystem"), "id": .string(id), "url": .string(FHIRSystem.rmsList(listId)),
            "name": .string("RMS\(listId)"), "title": .string(name ?? "RMS list \(listId)"),
            "status": .string("active"), "content": .string("complete"), "count": .number(String(total)),
            "publisher": .string("European Medicines Agency (SPOR RMS), as imported by this registry"),
            "property": .array([
                .object(["code": .string("status"), "type": .string("code")]),
                .object(["code": .string("inactive"), "type": .string("boolean")]),
            ]),
            "concept": .array(concepts),
        ])
    }

    /// What `CodeSystem/$lookup` answers for an RMS term: the list's name, the term's display,
    /// designations per language and its status.
    static func lookupParameters(listId: String, code: String, term document: JSONValue) -> JSONValue {
        var parameters: [JSONValue] = [
            .object(["name": .string("name"), "valueString": .string(RMSListNames.name(of: listId) ?? "RMS \(listId)")]
            ),
            .object([
                "name": .string("display"),
                "valueString": .string(document["names"]?["en"]?["name"]?.stringValue ?? code),
            ]),
        ]
        for (language, name) in (document["names"]?.members ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let value = name["name"]?.stringValue else { continue }
            parameters.append(
                .object([
                    "name": .string("designation"),
                    "part": .array([
                        .object(["name": .string("language"), "valueCode": .string(language)]),
                        .object(["name": .string("value"), "valueString": .string(value)]),
                    ]),
                ]))
        }
        let status = document["status"]?.stringValue ?? "CURRENT"
        for (property, value) in [
            ("status", JSONValue.object(["valueCode": .string(status)])),
            ("inactive", .object(["valueBoolean": .bool(status != "CURRENT")])),
        ] {
            var value = value.members
            value["name"] = .string("value")
            parameters.append(
                .object([
                    "name": .string("property"),
                    "part": .array([
                        .object(["name": .string("code"), "valueCode": .string(property)]), .object(value),
                    ]),
                ]))
        }
        return .object(["resourceType": .string("Parameters"), "parameter": .array(parameters)])
    }
}
