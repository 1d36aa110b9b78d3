import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// FHIR R5 views of SAM and SPOR: an AMP as MedicinalProductDefinition, its components as
/// ManufacturedItemDefinition, their active ingredients as Ingredient, an AMPP as
/// PackagedProductDefinition, SMS substances as SubstanceDefinition, RMS lists as CodeSystem
/// (with `$lookup`). Resources show what is valid today; IDMP codes come from the IDMP view.
struct FHIRMedicineRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    let logger: Logger

    var sam: SAMEntityQueries { SAMEntityQueries(client: client, logger: logger) }
    var search: FHIRSearchQueries { FHIRSearchQueries(client: client, logger: logger) }
    /// Where "today" comes from (resources show what is valid today).
    var clock = RegistryClock.system
    var today: LocalDate { clock.today }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/fhir/MedicinalProductDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await medicinalProduct($0) }
            }
        }
        routes.get("/fhir/MedicinalProductDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchMedicinalProducts(request) }
        }
        routes.get("/fhir/PackagedProductDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await packagedProduct($0) }
            }
        }
        routes.get("/fhir/PackagedProductDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchPackagedProducts(request) }
        }
        routes.get("/fhir/ManufacturedItemDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await manufacturedItem($0) }
            }
        }
        routes.get("/fhir/ManufacturedItemDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await searchById(request, "ManufacturedItemDefinition") { try await manufacturedItem($0) }
            }
        }
        routes.get("/fhir/Ingredient/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await ingredient($0) }
            }
        }
        routes.get("/fhir/Ingredient") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchIngredients(request) }
        }
        routes.get("/fhir/SubstanceDefinition/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await substance($0) }
            }
        }
        routes.get("/fhir/SubstanceDefinition") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchSubstances(request) }
        }
        routes.get("/fhir/CodeSystem/$lookup") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await lookup(request) }
        }
        routes.get("/fhir/CodeSystem/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await read(request, context) { try await codeSystem($0) }
            }
        }
        routes.get("/fhir/CodeSystem") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchCodeSystems(request) }
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

    // MARK: MedicinalProductDefinition

    func medicinalProduct(_ code: String) async throws -> JSONValue? {
        guard SAMIdentifierKind.ampCode.isValid(code) else { return nil }
        let result = try await sam.entity(type: "amp", key: code, childTypes: ["amp_component"])
        guard let amp = result.first("amp"), amp.slice(at: today) != nil else { return nil }
        let idmp = try await IDMPQueries(client: client, logger: logger).amp(code: code, at: today)
        // The virtual forms of the VMP the AMP implements (its components', valid today).
        var virtualForms: [JSONValue] = []
        if let vmpCode = amp.document["attributes"]?["vmpCode"]?.stringValue {
            let vmp = try await sam.entity(type: "vmp", key: vmpCode, childTypes: ["vmp_component"])
            virtualForms = vmp.all("vmp_component").compactMap { $0.slice(at: today)?.fields["VirtualForm"] }
        }
        return FHIRMedicineMapping.medicinalProduct(
            code: code, amp: amp, components: result.all("amp_component"), idmp: idmp, virtualForms: virtualForms,
            today: today)
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

    func manufacturedItem(_ id: String) async throws -> JSONValue? {
        guard let (code, rest) = FHIRMedicineMapping.split(id), rest.count == 1,
            let idmp = try await IDMPQueries(client: client, logger: logger).amp(code: code, at: today),
            let component = idmp["components"]?.items.first(where: { $0["sequenceNr"]?.stringValue == rest[0] })
        else { return nil }
        return FHIRMedicineMapping.manufacturedItem(id: id, component: component)
    }

    func ingredient(_ id: String) async throws -> JSONValue? {
        guard let (code, rest) = FHIRMedicineMapping.split(id), rest.count == 2,
            let idmp = try await IDMPQueries(client: client, logger: logger).amp(code: code, at: today),
            let component = idmp["components"]?.items.first(where: { $0["sequenceNr"]?.stringValue == rest[0] }),
            let ingredient = component["activeIngredients"]?.items.first(where: {
                $0["rank"]?.stringValue == rest[1]
            })
        else { return nil }
        return FHIRMedicineMapping.ingredient(id: id, ampCode: code, sequence: rest[0], ingredient: ingredient)
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
            let idmp = try await IDMPQueries(client: client, logger: logger).amp(code: code, at: today)
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

    /// The pack as a resource when it is valid today.
    func packagedProduct(_ pack: FHIRSearchQueries.Pack) -> JSONValue? {
        FHIRMedicineMapping.packagedProduct(pack, today: today)
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
            let (document, _) = try await SPORQueries(client: client, logger: logger).substance(id)
        else { return nil }
        return FHIRMedicineMapping.substance(id: id, document: document)
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
        guard id.hasPrefix("rms-"), RMSVocabulary.isRMSId(String(id.dropFirst(4))) else { return nil }
        let listId = String(id.dropFirst(4))
        let (terms, total) = try await SPORQueries(client: client, logger: logger).terms(
            .init(listId: listId, limit: 100_000))
        guard total > 0 else { return nil }
        return FHIRMedicineMapping.codeSystem(id: id, listId: listId, terms: terms, total: total)
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
            ids = try await SPORQueries(client: client, logger: logger).lists().map { "rms-\($0.listId)" }
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
            RMSVocabulary.isRMSId(String(system.dropFirst(FHIRSystem.rmsPrefix.count)))
        else {
            throw Problem.notFound("This server looks up codes of RMS lists only (\(FHIRSystem.rmsPrefix){list id}).")
        }
        let listId = String(system.dropFirst(FHIRSystem.rmsPrefix.count))
        guard RMSVocabulary.isRMSId(code),
            let (document, _) = try await SPORQueries(client: client, logger: logger).term(code),
            document["listId"]?.stringValue == listId
        else {
            throw Problem.notFound("Code \(code) is not a term of RMS list \(listId).")
        }
        return FHIR.response(
            FHIRMedicineMapping.lookupParameters(listId: listId, code: code, term: document), request: request)
    }
}
