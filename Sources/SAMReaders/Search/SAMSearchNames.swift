import RegistryCore

/// The names an AMP, AMPP or VMP is searched by, taken from the entity while it is being read.
///
/// The search index groups names by entity and normalised name, with the days each one was
/// carried. Deriving the raw names here (one row per language and name, its days merged) spares
/// PostgreSQL taking every stored document apart again after the import: at scale 1.0 the
/// AMPP names alone were 1.4 million rows to sort and aggregate. The rows must say exactly what
/// `sam_slice_names` and `sam_slice_days` (migration 0006) read from the stored document, so an
/// entity whose names have a shape those functions render differently is left to them.
package enum SAMSearchNames {
    /// The fields whose values are names, by entity type (as the search index's SQL reads them).
    package static let fields: [String: [String]] = [
        "amp": ["Name", "PrescriptionNameFamhp", "PrescriptionName", "AbbreviatedName", "OfficialName"],
        "ampp": ["PrescriptionNameFamhp", "PrescriptionName", "AbbreviatedName"],
        "vmp": ["Name"],
    ]

    /// One name of an entity in one language (nil: a plain, language-less value), with the days it
    /// was carried as a `datemultirange` literal (`{}` when its only slices end before they start).
    package struct Row: Sendable, Hashable {
        package var lang: String?
        package var name: String
        package var days: String
    }

    /// What the search index needs of an entity, if it is searched by name.
    package enum Names: Sendable, Hashable {
        /// The entity's name rows, ordered by language and name.
        case rows([Row])
        /// A name value is not plain text (e.g. a language holding an element): the SQL reads it.
        case leftToSQL
    }

    /// The names of `entity`, or nil when its type is not searched by name.
    package static func names(of entity: VersionedEntity) -> Names? {
        guard let fieldNames = fields[entity.type] else { return nil }
        // A handful of names per entity: a linear search is cheaper than hashing each one.
        var rows: [(lang: String?, name: String, ranges: [String])] = []
        for slice in entity.slices {
            let range = dayRange(from: slice.from, to: slice.to)
            for field in fieldNames {
                var found: [(String?, String)] = []
                switch slice.fields[field] {
                case .string(let text)?:
                    found.append((nil, text))
                case .object(let members)?:
                    for (key, value) in members {
                        // PostgreSQL's lower() agrees with Swift's only for ASCII; names are texts.
                        guard key.utf8.allSatisfy({ $0 < 0x80 }), case .string(let text) = value else {
                            return .leftToSQL
                        }
                        found.append((key.lowercased(), text))
                    }
                default:
                    continue  // arrays and other values carry no name for the SQL either
                }
                for (lang, name) in found {
                    if let i = rows.firstIndex(where: { $0.lang == lang && $0.name == name }) {
                        if let range { rows[i].ranges.append(range) }
                    } else {
                        rows.append((lang, name, range.map { [$0] } ?? []))
                    }
                }
            }
        }
        return .rows(
            rows.map { Row(lang: $0.lang, name: $0.name, days: "{" + $0.ranges.joined(separator: ",") + "}") }
                .sorted { ($0.lang ?? "", $0.name) < ($1.lang ?? "", $1.name) })
    }

    /// The days of one slice as a range literal (`to` inclusive, either end open), nil when it
    /// ends before it starts (`sam_slice_days` gives an empty range then).
    package static func dayRange(from: LocalDate?, to: LocalDate?) -> String? {
        if let from, let to, from.dayNumber > to.dayNumber { return nil }
        return "[" + (from?.description ?? "") + "," + (to?.description ?? "") + "]"
    }
}
