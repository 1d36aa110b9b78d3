import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `/v1/medicines/...` and `/v1/companies/...`: SAM lookups valid on a date, and the search.
struct MedicineRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    let logger: Logger
    /// Where "today" comes from (the default `at`).
    var clock = RegistryClock.system

    var reader: SAMEntityQueries { SAMEntityQueries(client: client, logger: logger) }

    static var lookupParameters: Set<String> { ["at", "lang", "history"] }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/medicines/cnk/{cnk}") { request, context in try await cnk(request, context) }
        routes.get("/v1/medicines/amp/{code}") { request, context in try await amp(request, context) }
        routes.get("/v1/medicines/ampp/{ctiExtended}") { request, context in try await ampp(request, context) }
        routes.get("/v1/medicines/vmp/{code}") { request, context in try await vmp(request, context) }
        routes.get("/v1/medicines/vmp-groups/{code}") { request, context in try await vmpGroup(request, context) }
        routes.get("/v1/companies/{actorNr}") { request, context in try await company(request, context) }
        routes.get("/v1/medicines/chapter-iv/{chapter}/{paragraph}") { request, context in
            try await chapterIV(request, context)
        }
        routes.get("/v1/medicines") { request, context in try await search(request, context) }
    }

    /// The lookup options every route shares.
    struct Lookup {
        let renderer: EntityRenderer
        var at: LocalDate { renderer.at }
        var history: Bool { renderer.history }

        init(_ parameters: QueryParameters, now: Date) throws {
            renderer = EntityRenderer(
                at: try parameters.date(now: now), history: try parameters.history(),
                language: try parameters.language())
        }

        init(renderer: EntityRenderer) { self.renderer = renderer }

        /// Entities to show: all with history, else those valid at `at`.
        func shown(_ entities: [StoredSAMEntity]) -> [StoredSAMEntity] {
            history ? entities : entities.filter { $0.slice(at: at) != nil }
        }

        /// The part of a cache key that the shared options contribute (`at` resolved to a date).
        var key: String { "\(at)|\(renderer.language.rawValue)|\(history)" }

        func envelope(_ members: [String: JSONValue], source: SAMSourceRun?) -> JSONValue {
            var out = members
            out["at"] = .string(at.description)
            out["language"] = .string(renderer.language.rawValue)
            out["history"] = .bool(history)
            out["source"] = source.map(MedicineSource.json) ?? .null
            return .object(out)
        }

        /// The answer with its cache tags: every entity read, plus `extra` (what was asked for,
        /// cross-references followed).
        func answer(_ json: JSONValue, _ result: SAMReadResult, extra: [String]) -> SAMAnswer {
            var tags = Set(extra)
            tags.insert(CacheTag.samAny)
            for entity in result.entities { tags.insert(CacheTag.entity(entity.type, entity.key)) }
            return SAMAnswer(json: json, tags: Array(tags), source: result.source)
        }

        /// The shown entities of `type`, each with its shown children of `childType` under `name`.
        func withChildren(_ result: SAMReadResult, _ type: String, _ name: String, _ childType: String) -> JSONValue {
            let children = result.all(childType)
            return .array(
                shown(result.all(type)).map { parent in
                    guard case .object(var out) = renderer.render(parent) else { return .null }
                    out[name] = .array(
                        shown(children.filter { $0.parentKey == parent.key }).map(renderer.render))
                    return .object(out)
                })
        }

        /// 404 when the entity exists but has no slice at `at` (lookups without history).
        func requireValid(_ entity: StoredSAMEntity, label: String) throws {
            guard !history, entity.slice(at: at) == nil else { return }
            var detail = "\(label) exists in SAM but is not valid on \(at)"
            var extensions: [String: JSONValue] = ["at": .string(at.description)]
            if let nearest = entity.nearestPeriod(to: at) {
                let validity = EntityRenderer.validity(nearest.from, nearest.to)
                extensions["nearestValidity"] = validity
                detail +=
                    "; the nearest validity period is \(nearest.from?.description ?? "(open)")..\(nearest.to?.description ?? "(open)")"
            }
            throw Problem.notValidAtDate(detail + ". Use ?history=true to see every period.", extensions: extensions)
        }
    }

    // MARK: CNK

    func cnk(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters.union(["env"]))
        let code = try PathIdentifier.checked(context, "cnk", kind: .cnk)
        let environment = try parameters.environment(default: "P")!
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "cnk|\(code)|\(environment)|\(lookup.key)") {
            try await cnkAnswer(code: code, environment: environment, lookup: lookup)
        }
    }

    func cnkAnswer(code: String, environment: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.dmppWithContext(environment: environment, codeType: "CNK", code: code)
        guard let dmpp = result.first("dmpp") else {
            let elsewhere = try await reader.dmppEnvironments(codeType: "CNK", code: code)
            if elsewhere.isEmpty {
                throw Problem.notFound("No medicine pack (DMPP) with CNK \(code) exists in SAM.")
            }
            throw Problem.notFound(
                "CNK \(code) has no DMPP in delivery environment \(environment); it exists in: \(elsewhere.joined(separator: ", ")).",
                extensions: ["environments": .array(elsewhere.map(JSONValue.string))])
        }
        try lookup.requireValid(dmpp, label: "CNK \(code) in delivery environment \(environment)")
        let renderer = lookup.renderer
        let ampp = result.first("ampp")
        let amp = result.first("amp")
        let fields = dmpp.slice(at: lookup.at)?.fields ?? .null
        var members: [String: JSONValue] = [
            "cnk": .string(code), "codeType": .string("CNK"), "deliveryEnvironment": .string(environment),
            "price": Self.decimal(fields["Price"]), "cheap": Self.flag(fields["Cheap"]),
            "cheapest": Self.flag(fields["Cheapest"]), "reimbursable": Self.flag(fields["Reimbursable"]),
            "dmpp": renderer.render(dmpp),
            "ampp": ampp.map(renderer.render) ?? .null,
            "amp": amp.map(renderer.render) ?? .null,
            "reimbursementContexts": lookup.withChildren(
                result, "reimbursement_context", "copayments", "copayment"),
        ]
        members["validity"] = dmpp.slice(at: lookup.at).map { EntityRenderer.validity($0.from, $0.to) } ?? .null
        members["display"] =
            ampp.flatMap { ampp in
                ampp.slice(at: lookup.at).flatMap { renderer.display(type: "ampp", fields: $0.fields) }
            }
            ?? .null
        return lookup.answer(
            lookup.envelope(members, source: result.source), result,
            extra: [
                CacheTag.entity("dmpp", "\(environment)|CNK|\(code)"),
                CacheTag.reimbursementContexts(environment: environment, codeType: "CNK", code: code),
            ])
    }

    /// A SAM decimal text as a JSON number (exact digits kept), or null.
    static func decimal(_ value: JSONValue?) -> JSONValue {
        guard let text = value?.stringValue, !text.isEmpty,
            text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
            text.utf8.filter({ $0 == UInt8(ascii: ".") }).count <= 1, text.first != ".", text.last != "."
        else { return .null }
        return .number(text)
    }

    static func flag(_ value: JSONValue?) -> JSONValue {
        switch value?.stringValue {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: return .null
        }
    }

    // MARK: AMP, AMPP, VMP, VMP group, company, Chapter IV

    func amp(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let code = try PathIdentifier.checked(context, "code", kind: .ampCode)
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "amp|\(code)|\(lookup.key)") {
            try await ampAnswer(code: code, lookup: lookup)
        }
    }

    func ampAnswer(code: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.entity(
            type: "amp", key: code, childTypes: ["ampp", "amp_component"],
            grandchildTypes: ["dmpp", "real_actual_ingredient"])
        guard let amp = result.first("amp") else {
            throw Problem.notFound("No AMP with code \(code) exists in SAM.")
        }
        try lookup.requireValid(amp, label: "AMP \(code)")
        let renderer = lookup.renderer
        let idmp = try await IDMPQueries(client: client, logger: logger).amp(code: code, at: lookup.at)
        let json = lookup.envelope(
            [
                "amp": renderer.render(amp), "idmp": idmp ?? .null,
                "ampps": lookup.withChildren(result, "ampp", "dmpps", "dmpp"),
                "components": lookup.withChildren(
                    result, "amp_component", "ingredients", "real_actual_ingredient"),
            ],
            source: result.source)
        // The IDMP codes come from the SPOR lists and the mappings derived from them.
        return lookup.answer(json, result, extra: [CacheTag.entity("amp", code), CacheTag.spor])
    }

    func ampp(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let cti = try PathIdentifier.checked(context, "ctiExtended", kind: .ctiExtended)
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "ampp|\(cti)|\(lookup.key)") {
            try await amppAnswer(cti: cti, lookup: lookup)
        }
    }

    func amppAnswer(cti: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.entity(
            type: "ampp", key: cti, childTypes: ["dmpp", "ampp_component"],
            grandchildTypes: ["ampp_component_equivalent"], parentOfType: "amp")
        guard let ampp = result.first("ampp") else {
            throw Problem.notFound("No AMPP with CTI-extended \(cti) exists in SAM.")
        }
        try lookup.requireValid(ampp, label: "AMPP \(cti)")
        let renderer = lookup.renderer
        let idmpReader = IDMPQueries(client: client, logger: logger)
        var idmp = JSONValue.null
        if let amp = result.first("amp"),
            case .object(var members)? = try await idmpReader.amp(code: amp.key, at: lookup.at)
        {
            // The pack's view: the AMP's codes, its packaging, and the packaging's blockers too.
            let packaging = try await idmpReader.packaging(ctiExtended: cti, at: lookup.at)
            let blocked = packaging.items.compactMap { $0["blocker"] }
            members["packaging"] = packaging
            members["blockers"] = .array((members["blockers"]?.items ?? []) + blocked)
            if !blocked.isEmpty { members["fullyCoded"] = .bool(false) }
            idmp = .object(members)
        }
        let json = lookup.envelope(
            [
                "ampp": renderer.render(ampp), "amp": result.first("amp").map(renderer.render) ?? .null,
                "idmp": idmp,
                "dmpps": .array(lookup.shown(result.all("dmpp")).map(renderer.render)),
                "components": lookup.withChildren(
                    result, "ampp_component", "equivalents", "ampp_component_equivalent"),
            ], source: result.source)
        return lookup.answer(json, result, extra: [CacheTag.entity("ampp", cti), CacheTag.spor])
    }

    func vmp(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let code = try PathIdentifier.number(context, "code")
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "vmp|\(code)|\(lookup.key)") {
            try await vmpAnswer(code: code, lookup: lookup)
        }
    }

    func vmpAnswer(code: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.vmp(code: code)
        guard let vmp = result.first("vmp") else {
            throw Problem.notFound("No VMP with code \(code) exists in SAM.")
        }
        try lookup.requireValid(vmp, label: "VMP \(code)")
        let renderer = lookup.renderer
        let json = lookup.envelope(
            [
                "vmp": renderer.render(vmp),
                "components": lookup.withChildren(result, "vmp_component", "ingredients", "virtual_ingredient"),
                "amps": .array(lookup.shown(result.all("amp")).map(renderer.render)),
            ], source: result.source)
        return lookup.answer(json, result, extra: [CacheTag.entity("vmp", code), CacheTag.ampsOfVMP(code)])
    }

    /// The group with its VMPs and the AMPPs that belong to it at `at` (VMP in the group, AMP and
    /// AMPP valid): what generic prescribing chooses from.
    func vmpGroup(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let code = try PathIdentifier.number(context, "code")
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "vmp-group|\(code)|\(lookup.key)") {
            try await vmpGroupAnswer(code: code, lookup: lookup)
        }
    }

    func vmpGroupAnswer(code: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.vmpGroup(code: code)
        guard let group = result.first("vmp_group") else {
            throw Problem.notFound("No VMP group with code \(code) exists in SAM.")
        }
        try lookup.requireValid(group, label: "VMP group \(code)")
        let renderer = lookup.renderer
        let inGroup = result.all("vmp").filter { vmp in
            if lookup.history { return true }
            return vmp.slice(at: lookup.at)?.fields["VmpGroup"]?["@code"]?.stringValue == code
        }
        let vmpCodes = Set(inGroup.map(\.key))
        let amps = lookup.shown(result.all("amp")).filter {
            vmpCodes.contains($0.document["attributes"]?["vmpCode"]?.stringValue ?? "")
        }
        let ampCodes = Set(amps.map(\.key))
        let ampps = lookup.shown(result.all("ampp")).filter { ampCodes.contains($0.parentKey ?? "") }
        let json = lookup.envelope(
            [
                "vmpGroup": renderer.render(group), "vmps": .array(inGroup.map(renderer.render)),
                "ampps": .array(ampps.map(renderer.render)),
            ], source: result.source)
        // Which VMPs are in the group, which AMPs name those VMPs: both followed by value.
        let followed =
            [CacheTag.entity("vmp_group", code), CacheTag.vmpsOfGroup(code)]
            + result.all("vmp").map { CacheTag.ampsOfVMP($0.key) }
        return lookup.answer(json, result, extra: followed)
    }

    func company(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let actorNr = try PathIdentifier.checked(context, "actorNr", kind: .actorNr)
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "company|\(actorNr)|\(lookup.key)") {
            try await companyAnswer(actorNr: actorNr, lookup: lookup)
        }
    }

    func companyAnswer(actorNr: String, lookup: Lookup) async throws -> SAMAnswer {
        let result = try await reader.entity(type: "company", key: actorNr)
        guard let company = result.first("company") else {
            throw Problem.notFound("No company with actor number \(actorNr) exists in SAM.")
        }
        try lookup.requireValid(company, label: "Company \(actorNr)")
        return lookup.answer(
            lookup.envelope(["company": lookup.renderer.render(company)], source: result.source), result,
            extra: [CacheTag.entity("company", actorNr)])
    }

    func chapterIV(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.lookupParameters)
        let chapter = try PathIdentifier.value(context, "chapter")
        let paragraph = try PathIdentifier.value(context, "paragraph")
        guard chapter.utf8.count <= 10, chapter.allSatisfy({ "IVX".contains($0) }), !chapter.isEmpty else {
            throw Problem.invalidParameter("chapter", "chapter must be a Roman numeral such as IV, got '\(chapter)'.")
        }
        guard (1...20).contains(paragraph.utf8.count),
            paragraph.utf8.allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
            })
        else {
            throw Problem.invalidParameter(
                "paragraph", "paragraph must be 1 to 20 letters or digits, e.g. 1830000, got '\(paragraph)'.")
        }
        let lookup = try Lookup(parameters, now: clock.now())
        return try await answer(request, key: "chapter-iv|\(chapter)|\(paragraph)|\(lookup.key)") {
            let result = try await reader.entity(
                type: "paragraph", key: "\(chapter)|\(paragraph)", childTypes: ["verse"])
            guard let found = result.first("paragraph") else {
                throw Problem.notFound("No Chapter \(chapter) paragraph \(paragraph) exists in SAM.")
            }
            try lookup.requireValid(found, label: "Chapter \(chapter) paragraph \(paragraph)")
            let verses = lookup.shown(result.all("verse")).sorted {
                (Int($0.document["key"]?["VerseSeq"]?.stringValue ?? "") ?? 0)
                    < (Int($1.document["key"]?["VerseSeq"]?.stringValue ?? "") ?? 0)
            }
            let json = lookup.envelope(
                ["paragraph": lookup.renderer.render(found), "verses": .array(verses.map(lookup.renderer.render))],
                source: result.source)
            return lookup.answer(json, result, extra: [CacheTag.entity("paragraph", "\(chapter)|\(paragraph)")])
        }
    }

    /// Serves a rendered answer from the cache, or computes, caches and serves it.
    func answer(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        _ compute: () async throws -> SAMAnswer
    ) async throws -> Response {
        try await cache.answerSAM(request, key: key, cacheControl: cacheControl, compute)
    }

}

/// The `source` member of SAM answers: the import run the registry answers from.
enum MedicineSource {
    static func json(_ run: SAMSourceRun) -> JSONValue {
        .object([
            "importRunId": .number(String(run.runId)), "samId": run.samId.map(JSONValue.string) ?? .null,
            "version": run.version.map(JSONValue.string) ?? .null, "importedAt": .string(run.importedAt),
            "upstreamVersion": run.upstreamVersion.map(JSONValue.string) ?? .null,
            "href": .string("/v1/imports/\(run.runId)"),
        ])
    }
}
