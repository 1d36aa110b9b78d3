/// What EMA's Referentials Management Service calls valid: the term statuses and the shape of an
/// RMS identifier. The reader checks exports with it; the API checks query parameters with it.
package enum RMSVocabulary {
    /// The statuses a term can have.
    package static let statuses: Set<String> = ["CURRENT", "NON_CURRENT", "NULLIFIED", "PROVISIONAL"]

    /// An RMS list or term id: twelve ASCII digits.
    package static func isRMSId(_ text: String) -> Bool {
        text.count == 12 && text.allSatisfy(\.isASCII) && Int(text) != nil
    }
}

/// Names of the RMS mapping sources we know (the rest keep only their id).
package enum RMSMappingSources {
    /// From EMA's RMS exports and the UNICOM derivations (`../shared/reference/spor-samples/SOURCE.txt`).
    static let known: [String: String] = [
        "100000073361": "EDQM", "100000075665": "XEVMPD", "100000169812": "UCUM", "200000010646": "VICH",
    ]

    package static func name(of sourceId: String) -> String? { known[sourceId] }

    /// A source given by name (`EDQM`) or by id, as its id.
    package static func id(of source: String) -> String? {
        if RMSVocabulary.isRMSId(source) { return source }
        return known.first { $0.value.caseInsensitiveCompare(source) == .orderedSame }?.key
    }
}

/// English names of RMS lists: the exports carry only the list id. The ones the registry's
/// users meet (IDMP dose forms, routes, units, packaging and the lists around them).
package enum RMSListNames {
    static let known: [String: String] = [
        "100000000002": "Country", "100000000004": "Domain", "100000000008": "Quantity operator",
        "100000072049": "Regulatory entitlement status", "100000072050": "Ingredient role",
        "100000072051": "Legal status for the supply", "100000072052": "Marketing status",
        "100000072057": "Language", "100000073345": "Routes and methods of administration",
        "100000073346": "Packaging", "100000110633": "Units of measurement",
        "200000000004": "Pharmaceutical dose form", "200000000006": "Combined pharmaceutical dose form",
        "200000000007": "Combined term", "200000000008": "Combination package", "200000000009": "Basic dose form",
        "200000000014": "Unit of presentation", "200000003199": "Material",
        "220000000000": "Medicinal product name part type", "220000000060": "Regulatory entitlement type",
    ]

    package static func name(of listId: String) -> String? { known[listId] }
}

/// The shape of an OMS identifier (EMA's Organisation Management Service).
package enum OMSVocabulary {
    /// `ORG-` or `LOC-` followed by digits (at most 20 characters in all).
    package static func isOMSId(_ text: String) -> Bool {
        (text.hasPrefix("ORG-") || text.hasPrefix("LOC-")) && text.count > 4 && text.count <= 20
            && text.dropFirst(4).allSatisfy { $0.isASCII && $0.isNumber }
    }
}
