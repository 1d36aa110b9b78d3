import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// FHIR R5 healthcare actors in the shape of IHE mCSD: a professional as Practitioner (NIHII
/// identifiers, qualifications; never the SSIN or birth date), each practice as a Location (the
/// place) and a PractitionerRole (the professional there), institutions and SAM companies as
/// Organization. Searches take the mCSD parameters; `_include` follows a role's references.
struct FHIRActorRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    /// Answers `near` searches from memory when its snapshot is current (PostgreSQL otherwise).
    let practiceSearch: PracticeSearchService?
    let logger: Logger
    /// Where "today" comes from (resources show what is valid today).
    var clock = RegistryClock.system

    var reader: FHIRActorQueries { FHIRActorQueries(client: client, logger: logger) }
    var today: LocalDate { clock.today }

    func register(on routes: RouteRegistrar<Context>) {
        let medicines = FHIRMedicineRoutes<Context>(client: client, cache: cache, logger: logger, clock: clock)
        routes.get("/fhir/Practitioner/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await medicines.read(request, context) { try await practitioner($0) }
            }
        }
        routes.get("/fhir/Practitioner") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchPractitioners(request) }
        }
        routes.get("/fhir/PractitionerRole/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await medicines.read(request, context) { try await practitionerRole($0) }
            }
        }
        routes.get("/fhir/PractitionerRole") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchRoles(request) }
        }
        routes.get("/fhir/Location/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await medicines.read(request, context) { try await location($0) }
            }
        }
        routes.get("/fhir/Location") { request, _ in
            try await FHIR.serveRendered(request, cache: cache, today: today) { try await searchLocations(request) }
        }
        routes.get("/fhir/Organization/{id}") { request, context in
            try await FHIR.serve(request, cache: cache, today: today) {
                try await medicines.read(request, context) { try await organization($0) }
            }
        }
        routes.get("/fhir/Organization") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) { try await searchOrganizations(request) }
        }
    }

    // MARK: Ids: ours have '_' and ':', FHIR ids may not.

    static func professionalKey(_ id: String) -> String? {
        id.hasPrefix("hcp-") ? "hcp_" + id.dropFirst(4) : nil
    }

    static func organizationKey(_ id: String) -> String? {
        if id.hasPrefix("ORG-") { return id }  // OMS ids are FHIR ids as they are
        guard let dash = id.firstIndex(of: "-") else { return nil }
        return id[..<dash] + ":" + id[id.index(after: dash)...]
    }

    // MARK: Resources

    func practitioner(_ id: String) async throws -> JSONValue? {
        guard let key = Self.professionalKey(id), let (document, nihii, changed) = try await reader.professional(key)
        else { return nil }
        return FHIRActorMapping.practitioner(id: id, document: document, nihii: nihii.map(\.0), changedAt: changed)
    }

    func location(_ id: String) async throws -> JSONValue? {
        if id.hasPrefix("LOC-") { return try await omsResource(id, type: "Location") }
        return try await reader.practice(id).map(location)
    }

    func location(_ practice: FHIRActorQueries.Practice) -> JSONValue {
        FHIRActorMapping.location(practice, today: today)
    }

    /// The Location of a practice in canonical JSON, as the in-memory practice search keeps it
    /// (rendered when its snapshot loads; a practice found on a later day is valid that day, so
    /// still active).
    @Sendable static func locationBytes(_ practice: FHIRActorQueries.Practice) -> [UInt8] {
        (FHIR.pruned(FHIRActorMapping.location(practice, today: RegistryClock.system.today)) ?? .object([:]))
            .canonicalBytes
    }

    func practitionerRole(_ id: String) async throws -> JSONValue? {
        try await reader.practice(id).map(practitionerRole)
    }

    func practitionerRole(_ practice: FHIRActorQueries.Practice) -> JSONValue {
        FHIRActorMapping.practitionerRole(practice, today: today)
    }

    /// An OMS organisation or location (EMA's ids are FHIR ids as they are).
    func omsResource(_ id: String, type: String) async throws -> JSONValue? {
        guard let (document, changed) = try await reader.omsRecord(id) else { return nil }
        return FHIRActorMapping.omsResource(id: id, type: type, document: document, changedAt: changed)
    }

    func organization(_ id: String) async throws -> JSONValue? {
        if id.hasPrefix("ORG-") { return try await omsResource(id, type: "Organization") }
        guard let key = Self.organizationKey(id) else { return nil }
        if key.hasPrefix("company:") {
            let actorNr = String(key.dropFirst(8))
            guard SAMIdentifierKind.actorNr.isValid(actorNr),
                let (fields, changed) = try await reader.company(actorNr, at: today)
            else { return nil }
            return FHIRActorMapping.company(id: id, actorNr: actorNr, fields: fields, changedAt: changed)
        }
        guard let (document, kind, changed) = try await reader.institution(key) else { return nil }
        return FHIRActorMapping.institution(id: id, document: document, kind: kind, changedAt: changed)
    }

    // MARK: Searches

    /// `_lastUpdated` values (`ge2026-01-01`, `lt2026-12-01`, `2026-11-28`, ...) as a day range.
    static func lastUpdated(_ search: FHIRSearch, into filter: inout FHIRActorQueries.Filter) throws {
        for parameter in search.values("_lastUpdated") {
            var text = Substring(parameter.value)
            var prefix = "eq"
            if let first = text.first, first.isLetter { prefix = String(text.prefix(2)); text = text.dropFirst(2) }
            // The whole value is the date: trailing text (`2026-01-01'`) is refused, not ignored.
            guard text.utf8.count == 10, let day = LocalDate(iso: text),
                ["eq", "ge", "gt", "le", "lt"].contains(prefix)
            else {
                throw Problem.invalidParameter(
                    "_lastUpdated", "_lastUpdated is [eq|ge|gt|le|lt]YYYY-MM-DD, got '\(parameter.value)'.")
            }
            let next = LocalDate(dayNumber: day.dayNumber + 1)
            switch prefix {
            case "ge": filter.updatedFrom = max(filter.updatedFrom ?? day, day)
            case "gt": filter.updatedFrom = max(filter.updatedFrom ?? next, next)
            case "le": filter.updatedBefore = min(filter.updatedBefore ?? next, next)
            case "lt": filter.updatedBefore = min(filter.updatedBefore ?? day, day)
            default:
                filter.updatedFrom = max(filter.updatedFrom ?? day, day)
                filter.updatedBefore = min(filter.updatedBefore ?? next, next)
            }
        }
    }

    func respond(
        _ request: Request, _ search: FHIRSearch, page: FHIRActorQueries.Page, includes: [JSONValue] = [],
        load: (String) async throws -> JSONValue?
    ) async throws -> JSONValue {
        var resources: [JSONValue] = []
        for key in page.keys { if let resource = try await load(key) { resources.append(resource) } }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total, matches: resources,
                includes: includes, next: search.next(request, total: page.total)), request: request)
    }

    static func match(_ parameter: FHIRSearch.Parameter?) -> FHIRActorQueries.NameMatch? {
        parameter.map { .init($0.value, FHIRSearchQueries.StringMatch(modifier: $0.modifier)) }
    }

    func searchPractitioners(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("Practitioner").supported)
        var filter = FHIRActorQueries.Filter(at: today)
        if let id = try search.single("_id") { filter.professionalId = Self.professionalKey(id.value) ?? "-" }
        if let token = try search.token("identifier", systems: [FHIRSystem.nihiiProfessional, FHIRSystem.nihii]) {
            guard token.code.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), [8, 11].contains(token.code.utf8.count)
            else {
                throw Problem.invalidParameter("identifier", "A NIHII number has 8 or 11 digits, got '\(token.code)'.")
            }
            filter.nihii = token.code
        }
        try Self.lastUpdated(search, into: &filter)
        let page = try await reader.practitioners(
            filter, name: Self.match(try search.single("name")), family: Self.match(try search.single("family")),
            given: Self.match(try search.single("given")), offset: search.offset, limit: search.count)
        return try await respond(request, search, page: page) { try await practitioner(FHIR.id($0)) }
    }

    /// Filters common to PractitionerRole and Location (both are practices).
    func practiceFilter(_ search: FHIRSearch) throws -> FHIRActorQueries.Filter {
        var filter = FHIRActorQueries.Filter(at: today)
        if let id = try search.single("_id") { filter.practiceKey = id.value }
        if let practitioner = try search.single("practitioner") {
            filter.professionalId =
                Self.professionalKey(try FHIRMedicineRoutes<Context>.referenced(practitioner, "Practitioner")) ?? "-"
        }
        if let location = try search.single("location") {
            filter.practiceKey = try FHIRMedicineRoutes<Context>.referenced(location, "Location")
        }
        if let organization = try search.single("organization") {
            filter.institutionKey =
                Self.organizationKey(try FHIRMedicineRoutes<Context>.referenced(organization, "Organization")) ?? "-"
        }
        if let specialty = try search.token("specialty", systems: [FHIRSystem.samProfession]) {
            filter.profession = specialty.code
        }
        if let postcode = try search.single("address-postalcode") {
            guard postcode.value.utf8.count == 4, postcode.value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw Problem.invalidParameter("address-postalcode", "A Belgian postcode has 4 digits.")
            }
            filter.postcode = postcode.value
        }
        if let near = try search.single("near") {
            let parts = near.value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, parts.count <= 4, let latitude = Double(parts[0]), let longitude = Double(parts[1]),
                (-90...90).contains(latitude), (-180...180).contains(longitude)
            else {
                throw Problem.invalidParameter(
                    "near", "near is latitude|longitude|distance|km (e.g. 50.85|4.35|5|km), got '\(near.value)'.")
            }
            let unit = parts.count == 4 ? parts[3] : "km"
            guard let distance = parts.count >= 3 ? Double(parts[2]) : 10, distance > 0,
                let factor = ["km": 1000.0, "m": 1.0][unit], distance * factor <= 100_000
            else {
                throw Problem.invalidParameter(
                    "near",
                    "The distance of near is a positive number of km (or m), at most 100 km, got '\(near.value)'.")
            }
            filter.near = (latitude, longitude, distance * factor)
        }
        try Self.lastUpdated(search, into: &filter)
        return filter
    }

    /// A page of practices for a Location or PractitionerRole search, and its links. Near searches
    /// give `total` only with `_total=accurate` (counting a city's practices costs more than the page).
    func practicePage(_ request: Request, _ search: FHIRSearch) async throws -> (
        practices: [FHIRActorQueries.Practice], total: Int?, next: String?
    ) {
        let filter = try practiceFilter(search)
        let total = try Self.totalMode(search)
        let page = try await reader.practices(
            filter, offset: search.offset, limit: search.count,
            countTotal: filter.near == nil ? total != "none" : total == "accurate")
        let next = page.hasMore ? search.next(request, total: search.offset + search.count + 1) : nil
        return (page.practices, page.total, next)
    }

    /// `_total` as asked (none, estimate or accurate), nil when not asked.
    static func totalMode(_ search: FHIRSearch) throws -> String? {
        let total = try search.single("_total")?.value
        guard total == nil || ["none", "estimate", "accurate"].contains(total!) else {
            throw Problem.invalidParameter("_total", "_total is none, estimate or accurate, got '\(total!)'.")
        }
        return total
    }

    func searchLocations(_ request: Request) async throws -> [UInt8] {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("Location").supported)
        if let answer = try nearestLocationsFromMemory(request, search) { return answer }
        let page = try await practicePage(request, search)
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total,
                matches: page.practices.map(location), next: page.next), request: request
        ).canonicalBytes
    }

    /// A `near` search (without filters the snapshot does not hold, nor an accurate total) answered
    /// from the in-memory practice search when it is current, from the Locations it rendered when
    /// it loaded: its nearest-first order is the SQL's (chord, then key), its validity and radius
    /// tests are PostgreSQL's, so the Bundle is the one PostgreSQL would give.
    func nearestLocationsFromMemory(_ request: Request, _ search: FHIRSearch) throws -> [UInt8]? {
        let filter = try practiceFilter(search)
        guard let near = filter.near, try Self.totalMode(search) != "accurate", filter.practiceKey == nil,
            filter.professionalId == nil, filter.institutionKey == nil, filter.updatedFrom == nil,
            filter.updatedBefore == nil,
            let snapshot = practiceSearch?.currentSnapshot
        else { return nil }
        let found = snapshot.nearest(
            to: (near.latitude, near.longitude), radius: near.metres, profession: filter.profession,
            postcode: filter.postcode, at: filter.at, offset: search.offset, limit: search.count)
        guard found.hits.allSatisfy({ !$0.resource.isEmpty }) else { return nil }
        return FHIR.searchsetBytes(
            request: request, base: FHIR.base(request), total: found.hasMore ? nil : search.offset + found.hits.count,
            matches: found.hits.map { ("Location", FHIR.id($0.key), $0.resource) },
            next: found.hasMore ? search.next(request, total: search.offset + search.count + 1) : nil)
    }

    func searchRoles(_ request: Request) async throws -> JSONValue {
        let support = FHIRCapabilities.support("PractitionerRole")
        let search = try FHIRSearch(request, supported: support.supported)
        let included = search.values("_include").map(\.value)
        for include in included where !support.includes.contains(include) {
            throw Problem.invalidParameter(
                "_include", "_include takes \(support.includes.joined(separator: ", ")), got '\(include)'.")
        }
        let page = try await practicePage(request, search)
        let roles = page.practices.map(practitionerRole)
        var includes: [JSONValue] = []
        var seen: Set<String> = []
        for role in roles {
            for (include, member) in [
                ("PractitionerRole:practitioner", role["practitioner"]),
                ("PractitionerRole:location", role["location"]?[0]),
                ("PractitionerRole:organization", role["organization"]),
            ] where included.contains(include) {
                guard let reference = member?["reference"]?.stringValue, seen.insert(reference).inserted else {
                    continue
                }
                let parts = reference.split(separator: "/").map(String.init)
                let resource: JSONValue? =
                    switch parts[0] {
                    case "Practitioner": try await practitioner(parts[1])
                    case "Location": try await location(parts[1])
                    default: try await organization(parts[1])
                    }
                if let resource { includes.append(resource) }
            }
        }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total, matches: roles, includes: includes,
                next: page.next), request: request)
    }

    func searchOrganizations(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("Organization").supported)
        var filter = FHIRActorQueries.Filter(at: today)
        if let id = try search.single("_id") { filter.institutionKey = Self.organizationKey(id.value) ?? "-" }
        let systems: [(String, String)] = [
            (FHIRSystem.cbe, "cbe"), (FHIRSystem.nihiiOrganization, "nihii"), (FHIRSystem.nihii, "nihii"),
            (FHIRSystem.ehp, "ehp"),
            (FHIRSystem.afmps, "afmps"), (FHIRSystem.samCompany, "company"), (FHIRSystem.omsOrganisations, "oms"),
        ]
        if let token = try search.token("identifier", systems: systems.map(\.0)) {
            let schemes =
                token.system.map { system in systems.filter { $0.0 == system }.map(\.1) }
                ?? systems.map(\.1)
            // CBE numbers are stored as 10 digits; accept them with dots too.
            let value =
                schemes.contains("cbe") && token.system != nil
                ? (CBENumber(token.code)?.digits ?? token.code) : token.code
            filter.identifier = (schemes, value)
        }
        if let type = try search.token("type", systems: [FHIRSystem.samProfession]) { filter.kind = type.code }
        try Self.lastUpdated(search, into: &filter)
        let page = try await reader.organizations(
            filter, name: Self.match(try search.single("name")), offset: search.offset, limit: search.count)
        return try await respond(request, search, page: page) { try await organization(FHIR.id($0)) }
    }
}
