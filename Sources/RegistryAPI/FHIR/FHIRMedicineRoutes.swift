import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import SPORImporter

/// FHIR R5 views of SAM and SPOR: an AMP as MedicinalProductDefinition, its components as
/// ManufacturedItemDefinition, their active ingredients as Ingredient, an AMPP as
/// PackagedProductDefinition, SMS substances as SubstanceDefinition, RMS lists as CodeSystem
/// (with `$lookup`). Resources show what is valid today; IDMP codes come from the IDMP view.
struct FHIRMedicineRoutes<Context: RequestContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    let logger: Logger

    var sam: SAMEntityReader { SAMEntityReader(client: client, logger: logger) }
    var search: FHIRSearchReader { FHIRSearchReader(client: client, logger: logger) }
    var today: LocalDate { LocalDate.todayInBrussels(Date()) }

    func register(on router: Router<Context>) {
        router.get("/fhir/MedicinalProductDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await medicinalProduct($0) }
            }
        }
        router.get("/fhir/MedicinalProductDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchMedicinalProducts(request) }
        }
        router.get("/fhir/PackagedProductDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await packagedProduct($0) }
            }
        }
        router.get("/fhir/PackagedProductDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchPackagedProducts(request) }
        }
        router.get("/fhir/ManufacturedItemDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await manufacturedItem($0) }
            }
        }
        router.get("/fhir/ManufacturedItemDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache) {
                try await searchById(request, "ManufacturedItemDefinition") { try await manufacturedItem($0) }
            }
        }
        router.get("/fhir/Ingredient/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await ingredient($0) }
            }
        }
        router.get("/fhir/Ingredient") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchIngredients(request) }
        }
        router.get("/fhir/SubstanceDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await substance($0) }
            }
        }
        router.get("/fhir/SubstanceDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchSubstances(request) }
        }
        router.get("/fhir/CodeSystem/$lookup") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await lookup(request) }
        }
        router.get("/fhir/CodeSystem/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await read(request, context) { try await codeSystem($0) }
            }
        }
        router.get("/fhir/CodeSystem") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchCodeSystems(request) }
        }
    }

    // MARK: Shared shapes

    /// A read: the resource of that id, or a 404 OperationOutcome.
    func read(_ request: Request, _ context: Context, _ load: (String) async throws -> JSONValue?) async throws
        -> JSONValue
    {
        let id = try PathIdentifier.value(context, "id")
        _ = try FHIRSearch(request, supported: [:])
        let type = request.uri.path.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        guard id.utf8.count <= 64, let resource = try await load(id) else {
            throw Problem.notFound("\(type)/\(id) is not known to this server.")
        }
        return FHIR.response(resource, request: request)
    }

    /// A search answered from a list of ids (a page of it).
    func bundle(_ request: Request, _ search: FHIRSearch, ids: [String], load: (String) async throws -> JSONValue?)
        async throws -> JSONValue
    {
        let page = ids.dropFirst(search.offset).prefix(search.count)
        var resources: [JSONValue] = []
        for id in page { if let resource = try await load(id) { resources.append(resource) } }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: ids.count, matches: resources,
                next: search.next(request, total: ids.count)), request: request)
    }

    func searchById(_ request: Request, _ type: String, load: (String) async throws -> JSONValue?) async throws
        -> JSONValue
    {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support(type).supported)
        var ids: [String] = []
        if let id = try search.single("_id") {
            if try await load(id.value) != nil { ids = [id.value] }
        } else {
            throw Problem.invalidParameter("_id", "Search \(type) by _id (the id of a resource this server has).")
        }
        return try await bundle(request, search, ids: ids, load: load)
    }

    /// `Type/id` of a reference parameter, checked to be of `type`.
    static func referenced(_ parameter: FHIRSearch.Parameter, _ type: String) throws -> String {
        let parts = parameter.value.split(separator: "/").map(String.init)
        guard parts.count == 2, parts[0] == type, !parts[1].isEmpty else {
            throw Problem.invalidParameter(
                parameter.name, "\(parameter.name) is a reference \(type)/{id}, got '\(parameter.value)'.")
        }
        return parts[1]
    }

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

    // MARK: MedicinalProductDefinition

    func medicinalProduct(_ code: String) async throws -> JSONValue? {
        guard SAMIdentifierKind.ampCode.isValid(code) else { return nil }
        let result = try await sam.entity(type: "amp", key: code, childTypes: ["amp_component"])
        guard let amp = result.first("amp"), let fields = amp.slice(at: today)?.fields else { return nil }
        let idmp = try await IDMPReader(client: client, logger: logger).amp(code: code, at: today)
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
                result.all("amp_component").filter { $0.slice(at: today) != nil }.map {
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

    func searchMedicinalProducts(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(
            request, supported: FHIRCapabilities.support("MedicinalProductDefinition").supported)
        if let id = try search.single("_id")
            ?? search.token("identifier", systems: [FHIRSystem.samAmp]).map({
                FHIRSearch.Parameter(name: "identifier", value: $0.code)
            })
        {
            return try await bundle(request, search, ids: [id.value]) { try await medicinalProduct($0) }
        }
        guard let name = try search.single("name") else {
            throw Problem.invalidParameter("name", "Search MedicinalProductDefinition by _id, identifier or name.")
        }
        let page = try await self.search.ampCodes(
            name: name.value, match: .init(modifier: name.modifier), at: today, offset: search.offset,
            limit: search.count)
        var resources: [JSONValue] = []
        for code in page.keys { if let resource = try await medicinalProduct(code) { resources.append(resource) } }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total, matches: resources,
                next: search.next(request, total: page.total)), request: request)
    }

    // MARK: ManufacturedItemDefinition and Ingredient

    /// `{AMP code}-{sequence}` → the component's item; `{AMP code}-{sequence}-{rank}` → an ingredient.
    static func split(_ id: String) -> (amp: String, rest: [String])? {
        guard id.utf8.count > 13 else { return nil }
        let amp = String(id.prefix(12))
        let rest = id.dropFirst(12)
        guard SAMIdentifierKind.ampCode.isValid(amp), rest.first == "-" else { return nil }
        return (amp, rest.dropFirst().split(separator: "-").map(String.init))
    }

    func manufacturedItem(_ id: String) async throws -> JSONValue? {
        guard let (code, rest) = Self.split(id), rest.count == 1,
            let idmp = try await IDMPReader(client: client, logger: logger).amp(code: code, at: today),
            let component = idmp["components"]?.items.first(where: { $0["sequenceNr"]?.stringValue == rest[0] })
        else { return nil }
        var resource: [String: JSONValue] = [
            "resourceType": .string("ManufacturedItemDefinition"), "id": .string(id), "status": .string("active"),
            "manufacturedDoseForm": Self.idmpConcept(component["doseForms"]?[0])
                ?? FHIR.concept([], text: "not stated in SAM"),
        ]
        let ingredients = (component["activeIngredients"]?.items ?? []).compactMap(Self.substanceConcept)
        if !ingredients.isEmpty { resource["ingredient"] = .array(ingredients) }
        return .object(resource)
    }

    func ingredient(_ id: String) async throws -> JSONValue? {
        guard let (code, rest) = Self.split(id), rest.count == 2,
            let idmp = try await IDMPReader(client: client, logger: logger).amp(code: code, at: today),
            let component = idmp["components"]?.items.first(where: { $0["sequenceNr"]?.stringValue == rest[0] }),
            let ingredient = component["activeIngredients"]?.items.first(where: {
                $0["rank"]?.stringValue == rest[1]
            }),
            let concept = Self.substanceConcept(ingredient)
        else { return nil }
        var substance: [String: JSONValue] = ["code": .object(["concept": concept])]
        if let strength = ingredient["strength"], let value = strength["value"]?.stringValue,
            MedicineRoutes<Context>.decimal(.string(value)) != .null
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
                FHIR.reference("ManufacturedItemDefinition", "\(code)-\(rest[0])"),
            ]),
            "role": FHIR.concept([FHIR.coding(FHIRSystem.rmsList("100000072050"), "100000072072", "Active")]),
            "substance": .object(substance),
        ])
    }

    func searchIngredients(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("Ingredient").supported)
        if let id = try search.single("_id") {
            return try await bundle(request, search, ids: [id.value]) { try await ingredient($0) }
        }
        guard let target = try search.single("for") else {
            throw Problem.invalidParameter(
                "for", "Search Ingredient by _id or for=MedicinalProductDefinition/{AMP code}.")
        }
        let code = try Self.referenced(target, "MedicinalProductDefinition")
        var ids: [String] = []
        if SAMIdentifierKind.ampCode.isValid(code),
            let idmp = try await IDMPReader(client: client, logger: logger).amp(code: code, at: today)
        {
            for component in idmp["components"]?.items ?? [] {
                for item in component["activeIngredients"]?.items ?? [] {
                    ids.append(
                        "\(code)-\(component["sequenceNr"]?.stringValue ?? "")-\(item["rank"]?.stringValue ?? "")")
                }
            }
        }
        return try await bundle(request, search, ids: ids) { try await ingredient($0) }
    }

    // MARK: PackagedProductDefinition

    func packagedProduct(_ cti: String) async throws -> JSONValue? {
        guard SAMIdentifierKind.ctiExtended.isValid(cti) else { return nil }
        return try await search.packs(ctiExtended: [cti], at: today).first.flatMap(packagedProduct)
    }

    /// The pack as a resource when it is valid today (its CNKs: those of its DMPPs valid today).
    func packagedProduct(_ pack: FHIRSearchReader.Pack) -> JSONValue? {
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

    func searchPackagedProducts(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("PackagedProductDefinition").supported)
        var ids: [String] = []
        var cnk: String?
        if let id = try search.single("_id") {
            ids = [id.value]
        } else if let token = try search.token("identifier", systems: [FHIRSystem.cnk, FHIRSystem.ctiExtended]) {
            switch token.system {
            case FHIRSystem.ctiExtended?: ids = [token.code]
            case FHIRSystem.cnk?:
                guard SAMIdentifierKind.cnk.isValid(token.code) else {
                    throw Problem.invalidParameter("identifier", "A CNK is \(SAMIdentifierKind.cnk.expectation).")
                }
                cnk = token.code
            default:
                // Without a system: a CNK (7 digits) or a CTI-extended (000000-00).
                if SAMIdentifierKind.cnk.isValid(token.code) {
                    cnk = token.code
                } else if SAMIdentifierKind.ctiExtended.isValid(token.code) {
                    ids = [token.code]
                } else {
                    throw Problem.invalidParameter(
                        "identifier",
                        "identifier is a CNK (\(SAMIdentifierKind.cnk.expectation)) or a CTI-extended (\(SAMIdentifierKind.ctiExtended.expectation)), got '\(token.code)'."
                    )
                }
            }
        } else if let target = try search.single("package-for") {
            let code = try Self.referenced(target, "MedicinalProductDefinition")
            ids = SAMIdentifierKind.ampCode.isValid(code) ? try await self.search.amppKeys(ampCode: code) : []
        } else {
            throw Problem.invalidParameter(
                "identifier",
                "Search PackagedProductDefinition by identifier (CNK or CTI-extended), _id or package-for.")
        }
        // Only packs valid today are resources here; all are read in one statement.
        let packs = try await self.search.packs(
            cnk: cnk, ctiExtended: ids.filter(SAMIdentifierKind.ctiExtended.isValid), at: today
        ).compactMap(packagedProduct)
        let page = Array(packs.dropFirst(search.offset).prefix(search.count))
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: packs.count, matches: page,
                next: search.next(request, total: packs.count)), request: request)
    }

    // MARK: SubstanceDefinition

    func substance(_ id: String) async throws -> JSONValue? {
        guard (9...15).contains(id.utf8.count), id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let (document, _) = try await SPORReader(client: client, logger: logger).substance(id)
        else { return nil }
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

    func searchSubstances(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("SubstanceDefinition").supported)
        if let id = try search.single("_id")
            ?? search.token("identifier", systems: [FHIRSystem.sms]).map({
                FHIRSearch.Parameter(name: "identifier", value: $0.code)
            })
        {
            return try await bundle(request, search, ids: [id.value]) { try await substance($0) }
        }
        guard let name = try search.single("name") else {
            throw Problem.invalidParameter("name", "Search SubstanceDefinition by _id, identifier or name.")
        }
        let page = try await self.search.substanceIds(
            name: name.value, match: .init(modifier: name.modifier), offset: search.offset, limit: search.count)
        var resources: [JSONValue] = []
        for id in page.keys { if let resource = try await substance(id) { resources.append(resource) } }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total, matches: resources,
                next: search.next(request, total: page.total)), request: request)
    }

    // MARK: CodeSystem (RMS lists)

    func codeSystem(_ id: String) async throws -> JSONValue? {
        guard id.hasPrefix("rms-"), RMSListExport.isRMSId(String(id.dropFirst(4))) else { return nil }
        let listId = String(id.dropFirst(4))
        let reader = SPORReader(client: client, logger: logger)
        let (terms, total) = try await reader.terms(.init(listId: listId, limit: 100_000))
        guard total > 0 else { return nil }
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

    func searchCodeSystems(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("CodeSystem").supported)
        var ids: [String]
        if let id = try search.single("_id") {
            ids = [id.value]
        } else if let url = try search.single("url") {
            guard url.value.hasPrefix(FHIRSystem.rmsPrefix) else {
                return try await bundle(request, search, ids: []) { _ in nil }
            }
            ids = ["rms-" + url.value.dropFirst(FHIRSystem.rmsPrefix.count)]
        } else {
            ids = try await SPORReader(client: client, logger: logger).lists().map { "rms-\($0.listId)" }
        }
        return try await bundle(request, search, ids: ids) { try await codeSystem($0) }
    }

    /// `CodeSystem/$lookup?system=&code=`: a term's display, list name, designations and status.
    func lookup(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: ["system": [], "code": [], "property": []])
        guard let system = try search.single("system")?.value, let code = try search.single("code")?.value else {
            throw Problem.invalidParameter("system", "$lookup needs system and code.")
        }
        guard system.hasPrefix(FHIRSystem.rmsPrefix),
            RMSListExport.isRMSId(String(system.dropFirst(FHIRSystem.rmsPrefix.count)))
        else {
            throw Problem.notFound("This server looks up codes of RMS lists only (\(FHIRSystem.rmsPrefix){list id}).")
        }
        let listId = String(system.dropFirst(FHIRSystem.rmsPrefix.count))
        guard RMSListExport.isRMSId(code),
            let (document, _) = try await SPORReader(client: client, logger: logger).term(code),
            document["listId"]?.stringValue == listId
        else {
            throw Problem.notFound("Code \(code) is not a term of RMS list \(listId).")
        }
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
        return FHIR.response(
            .object(["resourceType": .string("Parameters"), "parameter": .array(parameters)]), request: request)
    }
}
