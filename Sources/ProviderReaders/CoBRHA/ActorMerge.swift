import RegistryCore

/// Merges what several sources assert about one actor into the document the registry serves,
/// keeping which source asserted each fact (docs/PROVIDER-FORMATS.md, "Merge").
package enum ActorMerge {
    /// Sources in the order their identity facts win.
    package static let precedence = ["FPS-HEALTH", "RIZIV-INAMI", "AFMPS"]

    package static func ordered(_ facts: [(source: String, document: JSONValue)]) -> [(
        source: String, document: JSONValue
    )] {
        facts.sorted { a, b in
            let ra = precedence.firstIndex(of: a.source) ?? precedence.count
            let rb = precedence.firstIndex(of: b.source) ?? precedence.count
            return ra != rb ? ra < rb : a.source < b.source
        }
    }

    static func overlaps(_ a: [String: JSONValue], _ b: [String: JSONValue]) -> Bool {
        let (af, at, bf, bt) = (
            a["from"]?.stringValue ?? "", a["to"]?.stringValue, b["from"]?.stringValue ?? "", b["to"]?.stringValue
        )
        return (at.map { bf <= $0 } ?? true) && (bt.map { af <= $0 } ?? true)
    }

    /// One professional from the facts of every source that lists them.
    package static func professional(_ facts: [(source: String, document: JSONValue)]) -> JSONValue {
        let facts = ordered(facts)
        guard let lead = facts.first else { return .null }
        var out = lead.document.members
        out["professions"] = nil
        out["identitySource"] = .string(lead.source)
        out["sources"] = .array(facts.map { .string($0.source) })
        // A field the leading source leaves out is taken from the next one that has it.
        for field in ["gender", "birthDate", "deathDate"] where out[field] == nil {
            if let fact = facts.first(where: { ($0.document).members[field] != nil }) {
                out[field] = fact.document.members[field]
            }
        }
        if out["languages"].items.isEmpty,
            let fact = facts.first(where: { !(($0.document).members["languages"]).items.isEmpty })
        {
            out["languages"] = fact.document.members["languages"]
        }
        var professions: [[String: JSONValue]] = []
        for fact in facts {
            for item in fact.document.members["professions"].items {
                let asserted = item.members
                let tagged = { (list: JSONValue?) -> [JSONValue] in
                    list.items.map { entry in
                        var m = entry.members
                        m["source"] = .string(fact.source)
                        return .object(m)
                    }
                }
                if let index = professions.firstIndex(where: {
                    $0["code"] == asserted["code"] && overlaps($0, asserted)
                }) {
                    var merged = professions[index]
                    merged["sources"] = .array(merged["sources"].items + [.string(fact.source)])
                    if merged["nihii"] == nil, let nihii = asserted["nihii"] {
                        merged["nihii"] = nihii
                        merged["nihiiSource"] = .string(fact.source)
                    }
                    for list in ["specialities", "licences"] {
                        var known = merged[list].items
                        for entry in tagged(asserted[list]) {
                            let m = entry.members
                            let duplicate = known.contains { k in
                                let km = k.members
                                return km["code"] == m["code"] && km["kind"] == m["kind"] && km["status"] == m["status"]
                                    && km["from"] == m["from"]
                            }
                            if !duplicate { known.append(entry) }
                        }
                        merged[list] = .array(known)
                    }
                    professions[index] = merged
                } else {
                    var merged = asserted
                    merged["sources"] = .array([.string(fact.source)])
                    if merged["nihii"] != nil { merged["nihiiSource"] = .string(fact.source) }
                    merged["periodSource"] = .string(fact.source)
                    merged["specialities"] = .array(tagged(asserted["specialities"]))
                    merged["licences"] = .array(tagged(asserted["licences"]))
                    professions.append(merged)
                }
            }
        }
        out["professions"] = .array(
            professions.sorted {
                ($0["code"]?.stringValue ?? "", $0["from"]?.stringValue ?? "")
                    < ($1["code"]?.stringValue ?? "", $1["from"]?.stringValue ?? "")
            }.map(JSONValue.object))
        return .object(out)
    }

    /// One institution from the facts of every source that lists it: identity from the leading
    /// source, identifiers from all.
    package static func institution(_ facts: [(source: String, document: JSONValue)]) -> JSONValue {
        let facts = ordered(facts)
        guard let lead = facts.first else { return .null }
        var out = lead.document.members
        var identifiers: [String: JSONValue] = [:]
        for fact in facts.reversed() {
            for (scheme, value) in fact.document.members["identifiers"].members {
                identifiers[scheme] = value
            }
        }
        out["identifiers"] = .object(identifiers)
        out["source"] = .string("cobrha")
        out["identitySource"] = .string(lead.source)
        out["sources"] = .array(facts.map { .string($0.source) })
        return .object(out)
    }
}
