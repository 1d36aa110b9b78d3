/// The files of a SAM v2 full export, identified by their document element.
///
/// The export namespace is the same in every file; the file kind is told by the root's local
/// name, never by the file name (download names carry timestamps).
package enum SAMExportFile: String, Sendable, CaseIterable, Codable {
    case ref = "REF"
    case cpn = "CPN"
    case vmp = "VMP"
    case amp = "AMP"
    case rmb = "RMB"
    case rml = "RML"
    case chapterIV = "CHAPTERIV"
    case cmp = "CMP"
    case nonMedicinal = "NONMEDICINAL"

    package static let exportNamespace = "urn:be:fgov:ehealth:samws:v2:export"
    /// The namespace of the REF file's reference tables.
    package static let refdataNamespace = "urn:be:fgov:ehealth:samws:v2:refdata"
    /// Every SAM namespace starts with this; elements outside it are unknown to us.
    package static let samNamespacePrefix = "urn:be:fgov:ehealth:samws:v2:"

    package var rootElement: String {
        switch self {
        case .ref: "ExportReferences"
        case .cpn: "ExportCompanies"
        case .vmp: "ExportVirtualMedicines"
        case .amp: "ExportActualMedicines"
        case .rmb: "ExportReimbursements"
        case .rml: "ExportReimbursementLaws"
        case .chapterIV: "ExportChapterIV"
        case .cmp: "ExportCompounding"
        case .nonMedicinal: "ExportNonMedicinal"
        }
    }

    package init?(rootElement: String) {
        guard let kind = SAMExportFile.allCases.first(where: { $0.rootElement == rootElement }) else { return nil }
        self = kind
    }

    /// The entity types whose current set this file defines (for deletion detection and the gate).
    package var entityTypes: [String] {
        switch self {
        case .ref: []  // open-ended: every top-level reference table; resolved from what the file contains
        case .cpn: ["company"]
        case .vmp:
            [
                "vtm", "vmp_group", "commented_classification", "vmp", "vmp_component", "virtual_ingredient",
                "real_virtual_ingredient", "standard_dosage",
            ]
        case .amp:
            [
                "amp", "amp_component", "real_actual_ingredient", "real_actual_ingredient_equivalent", "ampp",
                "ampp_component", "ampp_component_equivalent", "commercialization", "supply_problem",
                "derogation_import", "dmpp",
            ]
        case .rmb: ["reimbursement_context", "copayment", "reimbursement_criterion"]
        case .rml:
            [
                "legal_basis", "legal_reference", "legal_text", "formal_interpretation", "reimbursement_condition",
                "reimbursement_term", "attachment",
            ]
        case .chapterIV:
            [
                "paragraph", "verse", "exclusion", "added_document", "paragraph_trace", "qualification_list",
                "professional_authorisation", "name_explanation", "name_translation",
            ]
        case .cmp: ["compounding_ingredient", "compounding_formula"]
        case .nonMedicinal: ["non_medicinal_product"]
        }
    }
}
