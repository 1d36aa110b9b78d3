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
struct FHIRActorRoutes<Context: RequestContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    /// Answers `near` searches from memory when its snapshot is current (PostgreSQL otherwise).
    let practiceSearch: PracticeSearchService?
    let logger: Logger

    var reader: FHIRActorReader { FHIRActorReader(client: client, logger: logger) }
    var today: LocalDate { LocalDate.todayInBrussels(Date()) }

    func register(on router: Router<Context>) {
        let medicines = FHIRMedicineRoutes<Context>(client: client, cache: cache, logger: logger)
        router.get("/fhir/Practitioner/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await medicines.read(request, context) { try await practitioner($0) }
            }
        }
        router.get("/fhir/Practitioner") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchPractitioners(request) }
        }
        router.get("/fhir/PractitionerRole/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await medicines.read(request, context) { try await practitionerRole($0) }
            }
        }
        router.get("/fhir/PractitionerRole") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchRoles(request) }
        }
        router.get("/fhir/Location/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await medicines.read(request, context) { try await location($0) }
            }
        }
        router.get("/fhir/Location") { request, _ in
            try await FHIR.serveRendered(request, cache: cache) { try await searchLocations(request) }
        }
        router.get("/fhir/Organization/{id}") { request, context in
            try await FHIR.serve(request, cache: cache) {
                try await medicines.read(request, context) { try await organization($0) }
            }
        }
        router.get("/fhir/Organization") { request, _ in
            try await FHIR.serve(request, cache: cache) { try await searchOrganizations(request) }
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

    func practitioner(_ id: String) async throws -> JSONValue? {
        guard let key = Self.professionalKey(id), let (document, nihii, changed) = try await reader.professional(key)
        else { return nil }
        var resource: [String: JSONValue] = [
            "resourceType": .string("Practitioner"), "id": .string(id), "meta": Self.meta(changed),
            "active": .bool(true),
            "identifier": .array(nihii.map { FHIR.identifier(FHIRSystem.nihiiProfessional, $0.0) }),
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

    func location(_ id: String) async throws -> JSONValue? {
        if id.hasPrefix("LOC-") { return try await omsResource(id, type: "Location") }
        return try await reader.practice(id).map(location)
    }

    func location(_ practice: FHIRActorReader.Practice) -> JSONValue { Self.location(practice, today: today) }

    /// The Location of a practice in canonical JSON, as the in-memory practice search keeps it
    /// (rendered when its snapshot loads; a practice found on a later day is valid that day, so
    /// still active).
    @Sendable static func locationBytes(_ practice: FHIRActorReader.Practice) -> [UInt8] {
        (FHIR.pruned(location(practice, today: LocalDate.todayInBrussels(Date()))) ?? .object([:])).canonicalBytes
    }

    static func location(_ practice: FHIRActorReader.Practice, today: LocalDate) -> JSONValue {
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

    func practitionerRole(_ id: String) async throws -> JSONValue? {
        try await reader.practice(id).map(practitionerRole)
    }

    func practitionerRole(_ practice: FHIRActorReader.Practice) -> JSONValue {
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
    func omsResource(_ id: String, type: String) async throws -> JSONValue? {
        guard let (document, changed) = try await reader.omsRecord(id) else { return nil }
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

    func organization(_ id: String) async throws -> JSONValue? {
        if id.hasPrefix("ORG-") { return try await omsResource(id, type: "Organization") }
        guard let key = Self.organizationKey(id) else { return nil }
        if key.hasPrefix("company:") {
            let actorNr = String(key.dropFirst(8))
            guard SAMIdentifierKind.actorNr.isValid(actorNr),
                let (fields, changed) = try await reader.company(
                    actorNr, at: today)
            else { return nil }
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
        guard let (document, kind, changed) = try await reader.institution(key) else { return nil }
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

    // MARK: Searches

    /// `_lastUpdated` values (`ge2026-01-01`, `lt2026-12-01`, `2026-11-28`, ...) as a day range.
    static func lastUpdated(_ search: FHIRSearch, into filter: inout FHIRActorReader.Filter) throws {
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
        _ request: Request, _ search: FHIRSearch, page: FHIRActorReader.Page, includes: [JSONValue] = [],
        load: (String) async throws -> JSONValue?
    ) async throws -> JSONValue {
        var resources: [JSONValue] = []
        for key in page.keys { if let resource = try await load(key) { resources.append(resource) } }
        return FHIR.response(
            FHIR.searchset(
                request: request, base: FHIR.base(request), total: page.total, matches: resources,
                includes: includes, next: search.next(request, total: page.total)), request: request)
    }

    static func match(_ parameter: FHIRSearch.Parameter?) -> FHIRActorReader.NameMatch? {
        parameter.map { .init($0.value, FHIRSearchReader.StringMatch(modifier: $0.modifier)) }
    }

    func searchPractitioners(_ request: Request) async throws -> JSONValue {
        let search = try FHIRSearch(request, supported: FHIRCapabilities.support("Practitioner").supported)
        var filter = FHIRActorReader.Filter(at: today)
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
    func practiceFilter(_ search: FHIRSearch) throws -> FHIRActorReader.Filter {
        var filter = FHIRActorReader.Filter(at: today)
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
        practices: [FHIRActorReader.Practice], total: Int?, next: String?
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
        var filter = FHIRActorReader.Filter(at: today)
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
