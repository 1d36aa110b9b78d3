import Foundation
import RegistryCore
import RegistryStore

/// The public and the sensitive views of professionals and practices.
///
/// Public answers never carry the SSIN, the birth date or the date of death (only `deceased`);
/// the sensitive view (scope `providers:sensitive`, audited) adds them.
enum ProviderRendering {
    static let catalog = ProfessionCatalog.bundled

    /// Whether a `{from, to}` object is valid on `date` (`to` inclusive, open when absent).
    static func valid(_ item: [String: JSONValue], on date: LocalDate) -> Bool {
        guard let from = item["from"]?.stringValue.flatMap({ LocalDate(iso: $0) }), from <= date else { return false }
        if let to = item["to"]?.stringValue.flatMap({ LocalDate(iso: $0) }) { return date <= to }
        return true
    }

    static func label(_ code: String) -> JSONValue {
        guard let entry = catalog.entries[code] else { return .null }
        return .object(entry.labels.mapValues(JSONValue.string))
    }

    static func withLabel(_ item: JSONValue) -> JSONValue {
        var m = item.members
        if let code = m["code"]?.stringValue { m["label"] = label(code) }
        return .object(m)
    }

    static func professional(
        _ stored: StoredProfessional, at date: LocalDate?, sensitive: Bool, includePractices: Bool = true
    ) -> JSONValue {
        let document = stored.document.members
        var out: [String: JSONValue] = [
            "id": .string(stored.id), "href": .string("/v1/providers/\(stored.id)"),
            "firstName": document["firstName"] ?? .null, "lastName": document["lastName"] ?? .null,
            "gender": document["gender"] ?? .null, "languages": document["languages"] ?? .array([]),
            "deceased": .bool(document["deathDate"] != nil),
            "identitySource": document["identitySource"] ?? .null, "sources": document["sources"] ?? .array([]),
        ]
        if let date { out["at"] = .string(date.description) }
        if sensitive {
            for field in ["ssin", "birthDate", "deathDate"] { out[field] = document[field] ?? .null }
        }
        out["professions"] = .array(
            document["professions"].items.compactMap { item -> JSONValue? in
                var profession = item.members
                if let date, !valid(profession, on: date) { return nil }
                for list in ["specialities", "licences"] {
                    profession[list] = .array(
                        profession[list].items.filter { date == nil || valid(($0).members, on: date!) }.map(withLabel))
                }
                return withLabel(.object(profession))
            })
        if let runId = stored.runId { out["importRunId"] = .number(String(runId)) }
        if includePractices {
            out["practices"] = .array(
                stored.practices.compactMap { key, document in
                    if let date, !valid(document.members, on: date) { return nil }
                    return practice(key: key, document: document)
                })
        }
        return .object(out)
    }

    static func practice(key: String, document: JSONValue) -> JSONValue {
        var m = document.members
        m["href"] = .string("/v1/practices/\(key)")
        if let institution = m["institution"]?.stringValue {
            m["institutionHref"] = .string("/v1/institutions/\(institution)")
        }
        return .object(m)
    }

    /// A practice with the professional behind its NIHII (without their other practices).
    static func practiceAnswer(key: String, _ found: (document: JSONValue, professional: StoredProfessional?))
        -> JSONValue
    {
        var body = (practice(key: key, document: found.document)).members
        body["professional"] =
            found.professional.map { professional($0, at: nil, sensitive: false, includePractices: false) } ?? .null
        return .object(body)
    }

    /// `value` with exactly `decimals` decimals, rounded half away from zero (what `%.Nf` gives
    /// but without `String(format:)`, which is slow on every hit of every search).
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 1e15 else { return String(format: "%.\(decimals)f", value) }
        let units = Int(scaled)
        var fraction = String(units % Int(scale))
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        return (value < 0 && units != 0 ? "-" : "") + "\(units / Int(scale)).\(fraction)"
    }

    /// The members of a search hit that depend on the practice only, `"practice":…,"professional":…`
    /// in canonical JSON: the in-memory search renders them once per practice when it loads.
    @Sendable static func hitMembers(_ hit: PracticeSearchHit) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        out.append(contentsOf: #""practice":"#.utf8)
        practice(key: hit.practiceKey, document: hit.practice).write(into: &out)
        out.append(contentsOf: #","professional":"#.utf8)
        var professional = JSONValue.null
        if let id = hit.professionalId {
            professional = .object([
                "id": .string(id), "href": .string("/v1/providers/\(id)"),
                "firstName": hit.givenName.map(JSONValue.string) ?? .null,
                "lastName": hit.familyName.map(JSONValue.string) ?? .null,
                "profession": hit.profession.map { withLabel(.object(["code": .string($0)])) } ?? .null,
                "qualifications": .array(hit.qualifications.sorted().map { withLabel(.object(["code": .string($0)])) }),
            ])
        }
        professional.write(into: &out)
        return out
    }

    /// One search hit, `{"distanceKm":…,"practice":…,"professional":…,"score":…}` (canonical: keys
    /// in order): the practice, who practises there, how far it is and how well the name matched.
    static func writeHit(_ hit: PracticeSearchHit, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if let metres = hit.distanceMetres {
            out.append(contentsOf: #""distanceKm":"#.utf8)
            out.append(contentsOf: fixed(metres / 1000, decimals: 3).utf8)
            out.append(UInt8(ascii: ","))
        }
        out.append(contentsOf: hit.rendered ?? hitMembers(hit))
        if let score = hit.score {
            out.append(contentsOf: #","score":"#.utf8)
            out.append(contentsOf: fixed(score, decimals: 4).utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The search answer in canonical JSON, assembled from the hits' bytes.
    static func searchBody(
        at: LocalDate, sort: String, hits: [PracticeSearchHit], total: Int, totalIsExact: Bool, next: String?
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024 * (hits.count + 1))
        out.append(contentsOf: #"{"at":"#.utf8)
        JSONValue.string(at.description).write(into: &out)
        out.append(contentsOf: #","items":["#.utf8)
        for (index, hit) in hits.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeHit(hit, into: &out)
        }
        out.append(contentsOf: #"],"next":"#.utf8)
        (next.map(JSONValue.string) ?? .null).write(into: &out)
        out.append(contentsOf: #","sort":"#.utf8)
        JSONValue.string(sort).write(into: &out)
        out.append(contentsOf: #","total":"#.utf8)
        JSONValue.object(["value": .number(String(total)), "relation": .string(totalIsExact ? "eq" : "gte")])
            .write(into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
