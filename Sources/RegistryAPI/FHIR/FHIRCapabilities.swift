import RegistryCore

/// What the FHIR endpoint supports, per resource type: read, the search parameters with their
/// modifiers, `_include`s and operations. The routes check requests against this table and
/// `GET /fhir/metadata` publishes it, so the CapabilityStatement cannot drift from the routes.
struct FHIRResourceSupport: Sendable {
    struct SearchParameter: Sendable {
        var name: String
        var type: String
        var modifiers: Set<String> = []
        var documentation: String
    }

    var type: String
    var profile: String?
    var search: [SearchParameter]
    var includes: [String] = []
    var operations: [(name: String, definition: String)] = []

    /// Parameter name → modifiers, for `FHIRSearch`.
    var supported: [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for parameter in search { out[parameter.name] = parameter.modifiers }
        if !includes.isEmpty { out["_include"] = [] }
        return out
    }
}

enum FHIRCapabilities {
    static let mcsd = "https://profiles.ihe.net/ITI/mCSD/StructureDefinition/"

    static let all: [FHIRResourceSupport] = [
        FHIRResourceSupport(
            type: "MedicinalProductDefinition", profile: nil,
            search: [
                .init(name: "_id", type: "token", documentation: "The AMP code."),
                .init(name: "identifier", type: "token", documentation: "The AMP code (system SAM AMP code)."),
                .init(
                    name: "name", type: "string", modifiers: ["contains", "exact"],
                    documentation: "The product name in any language (starts with; :contains, :exact)."),
            ]),
        FHIRResourceSupport(
            type: "PackagedProductDefinition", profile: nil,
            search: [
                .init(name: "_id", type: "token", documentation: "The CTI-extended code."),
                .init(
                    name: "identifier", type: "token",
                    documentation: "A CNK (public pharmacy and hospital packs) or the CTI-extended code."),
                .init(
                    name: "package-for", type: "reference",
                    documentation: "The AMP: MedicinalProductDefinition/{AMP code}."),
            ]),
        FHIRResourceSupport(
            type: "ManufacturedItemDefinition", profile: nil,
            search: [.init(name: "_id", type: "token", documentation: "{AMP code}-{component sequence}.")]),
        FHIRResourceSupport(
            type: "Ingredient", profile: nil,
            search: [
                .init(name: "_id", type: "token", documentation: "{AMP code}-{component}-{rank}."),
                .init(name: "for", type: "reference", documentation: "MedicinalProductDefinition/{AMP code}."),
            ]),
        FHIRResourceSupport(
            type: "SubstanceDefinition", profile: nil,
            search: [
                .init(name: "_id", type: "token", documentation: "The SMS substance id."),
                .init(name: "identifier", type: "token", documentation: "The SMS substance id."),
                .init(
                    name: "name", type: "string", modifiers: ["contains", "exact"],
                    documentation: "A name or synonym (starts with; :contains, :exact)."),
            ]),
        FHIRResourceSupport(
            type: "CodeSystem", profile: nil,
            search: [
                .init(name: "_id", type: "token", documentation: "rms-{list id}."),
                .init(name: "url", type: "uri", documentation: "https://spor.ema.europa.eu/v1/lists/{list id}."),
            ],
            operations: [("lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup")]),
        FHIRResourceSupport(
            type: "Practitioner", profile: mcsd + "IHE.mCSD.Practitioner",
            search: [
                .init(name: "_id", type: "token", documentation: "The practitioner id."),
                .init(name: "identifier", type: "token", documentation: "A NIHII number (RIZIV/INAMI)."),
                .init(
                    name: "name", type: "string", modifiers: ["contains", "exact"],
                    documentation: "Family or given name (starts with; :contains, :exact); accents and case ignored."),
                .init(name: "family", type: "string", modifiers: ["contains", "exact"], documentation: "Family name."),
                .init(name: "given", type: "string", modifiers: ["contains", "exact"], documentation: "Given name."),
                .init(name: "_lastUpdated", type: "date", documentation: "When the registry last changed it."),
            ]),
        FHIRResourceSupport(
            type: "PractitionerRole", profile: mcsd + "IHE.mCSD.PractitionerRole",
            search: [
                .init(name: "_id", type: "token", documentation: "The practice id."),
                .init(name: "practitioner", type: "reference", documentation: "Practitioner/{id}."),
                .init(name: "location", type: "reference", documentation: "Location/{practice id}."),
                .init(name: "organization", type: "reference", documentation: "Organization/{id}."),
                .init(
                    name: "specialty", type: "token",
                    documentation: "A profession code of the CD-HCPARTY list (e.g. persphysician)."),
                .init(name: "_lastUpdated", type: "date", documentation: "When the registry last changed it."),
            ],
            includes: [
                "PractitionerRole:practitioner", "PractitionerRole:location", "PractitionerRole:organization",
            ]),
        FHIRResourceSupport(
            type: "Location", profile: mcsd + "IHE.mCSD.Location",
            search: [
                .init(name: "_id", type: "token", documentation: "The practice id."),
                .init(
                    name: "near", type: "special",
                    documentation: "latitude|longitude|distance|km (distance at most 100 km), nearest first."),
                .init(
                    name: "address-postalcode", type: "string", documentation: "The Belgian postcode."),
                .init(name: "organization", type: "reference", documentation: "Organization/{id}."),
                .init(name: "_lastUpdated", type: "date", documentation: "When the registry last changed it."),
            ]),
        FHIRResourceSupport(
            type: "Organization", profile: mcsd + "IHE.mCSD.Organization",
            search: [
                .init(name: "_id", type: "token", documentation: "The organization id."),
                .init(
                    name: "identifier", type: "token",
                    documentation:
                        "A CBE number, NIHII, EHP or AFMPS number of an institution, or a SAM company actorNr."),
                .init(
                    name: "name", type: "string", modifiers: ["contains", "exact"],
                    documentation: "The name (starts with; :contains, :exact); accents and case ignored."),
                .init(
                    name: "type", type: "token",
                    documentation:
                        "pharmacy, hospital, ... (institution kind) or company (SAM marketing authorisation holder)."),
                .init(name: "_lastUpdated", type: "date", documentation: "When the registry last changed it."),
            ]),
    ]

    static func support(_ type: String) -> FHIRResourceSupport {
        all.first { $0.type == type }!
    }

    /// The CapabilityStatement: exactly the table above.
    static func statement(base: String, software: String) -> JSONValue {
        let resources: [JSONValue] = all.map { resource in
            var members: [String: JSONValue] = [
                "type": .string(resource.type),
                "interaction": .array([
                    .object(["code": .string("read")]), .object(["code": .string("search-type")]),
                ]),
                "searchParam": .array(
                    resource.search.map { parameter in
                        .object([
                            "name": .string(parameter.name), "type": .string(parameter.type),
                            "documentation": .string(
                                parameter.documentation
                                    + (parameter.modifiers.isEmpty
                                        ? ""
                                        : " Modifiers: \(parameter.modifiers.sorted().map { ":" + $0 }.joined(separator: ", ")).")
                            ),
                        ])
                    }),
            ]
            if let profile = resource.profile { members["supportedProfile"] = .array([.string(profile)]) }
            if !resource.includes.isEmpty { members["searchInclude"] = .array(resource.includes.map(JSONValue.string)) }
            if !resource.operations.isEmpty {
                members["operation"] = .array(
                    resource.operations.map {
                        .object(["name": .string($0.name), "definition": .string($0.definition)])
                    })
            }
            return .object(members)
        }
        return .object([
            "resourceType": .string("CapabilityStatement"), "status": .string("active"),
            "date": .string("2026-11-28"), "kind": .string("instance"), "fhirVersion": .string("5.0.0"),
            "format": .array([.string("json")]),
            "software": .object(["name": .string(software)]),
            "implementation": .object([
                "description": .string(
                    "Belgian reference-data registry: SAM v2 medicines, EMA SPOR, healthcare actors"),
                "url": .string(base + "/fhir"),
            ]),
            "rest": .array([
                .object([
                    "mode": .string("server"),
                    "documentation": .string(
                        "Read and search, and the system-level Bulk Data export (token with the `exports` scope). Every error is an OperationOutcome; unknown search parameters are refused (400)."
                    ),
                    "resource": .array(resources),
                    "operation": .array([
                        .object([
                            "name": .string("export"),
                            "definition": .string("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"),
                        ])
                    ]),
                    "searchParam": .array([
                        .object([
                            "name": .string("_count"), "type": .string("number"),
                            "documentation": .string("Page size, 0 to 100 (default 20)."),
                        ]),
                        .object([
                            "name": .string("_offset"), "type": .string("number"),
                            "documentation": .string("Start of the page (the `next` link sets it), at most 10000."),
                        ]),
                    ]),
                ])
            ]),
        ])
    }
}
