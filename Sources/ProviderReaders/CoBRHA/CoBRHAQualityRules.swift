import RegistryCore

/// Quality rules of the CoBRHA snapshot and the practice register (stable ids).
package enum CoBRHAQualityRules {
    package static let unreadable = QualityRule(
        id: "COBRHA-FILE", severity: .fatal,
        summary: "The file is a well-formed, complete CoBRHA snapshot (namespace urn:be:registry:cobrha:snapshot:1).")
    package static let duplicateSource = QualityRule(
        id: "COBRHA-SOURCE-TWICE", severity: .fatal, summary: "One run holds at most one snapshot per source.")
    package static let unknownElement = QualityRule(
        id: "COBRHA-UNKNOWN-ELEMENT", severity: .warning, summary: "Elements outside the snapshot schema are ignored.")
    package static let ssin = QualityRule(
        id: "COBRHA-SSIN", severity: .error,
        summary:
            "SSIN: 11 digits, valid date part (BIS: month + 20/40), mod-97 check (born from 2000: over 2 + nine digits)."
    )
    package static let ssinTwice = QualityRule(
        id: "COBRHA-SSIN-TWICE", severity: .error,
        summary: "One SSIN appears on one record per snapshot; all its records are rejected otherwise.")
    package static let name = QualityRule(
        id: "COBRHA-NAME", severity: .error, summary: "A professional has a first and a last name.")
    package static let date = QualityRule(
        id: "COBRHA-DATE", severity: .error, summary: "Dates are YYYY-MM-DD; birth before death, not in the future.")
    package static let period = QualityRule(
        id: "COBRHA-PERIOD", severity: .error, summary: "A validity period has from ≤ to.")
    package static let overlap = QualityRule(
        id: "COBRHA-PERIOD-OVERLAP", severity: .error,
        summary: "Periods of one profession (or of one speciality) of a person do not overlap.")
    package static let professionCode = QualityRule(
        id: "COBRHA-PROFESSION", severity: .error, summary: "A profession is a CD-HCPARTY person code.")
    package static let specialityCode = QualityRule(
        id: "COBRHA-SPECIALITY", severity: .warning, summary: "A speciality is a CD-HCPARTY person code.")
    package static let nihii = QualityRule(
        id: "COBRHA-NIHII", severity: .error, summary: "A person's NIHII is 11 digits, an organisation's 8.")
    package static let nihiiCheck = QualityRule(
        id: "COBRHA-NIHII-CHECK", severity: .warning,
        summary: "NIHII check digits are 97 - (first six digits mod 97) (the rule is not officially published).")
    package static let nihiiProfession = QualityRule(
        id: "COBRHA-NIHII-PROFESSION", severity: .error,
        summary:
            "A person's NIHII starts with the digit of its profession (Mappings/providers/nihii-profession-digits.csv)."
    )
    package static let nihiiTwice = QualityRule(
        id: "COBRHA-NIHII-TWICE", severity: .error, summary: "One NIHII belongs to one person or one organisation.")
    package static let deceasedActive = QualityRule(
        id: "COBRHA-DECEASED-ACTIVE", severity: .warning,
        summary: "A deceased person has no profession or practice valid after the date of death.")
    package static let organisationId = QualityRule(
        id: "COBRHA-ORG-ID", severity: .error,
        summary:
            "An organisation has a valid identifier: NIHII 8 digits, CBE mod-97, EHP 10 digits; one of them at least.")
    package static let organisationName = QualityRule(
        id: "COBRHA-ORG-NAME", severity: .error, summary: "An organisation has a French or a Dutch name.")
    package static let organisationType = QualityRule(
        id: "COBRHA-ORG-TYPE", severity: .warning, summary: "An organisation's type is a CD-HCPARTY organisation code.")
    package static let postcode = QualityRule(
        id: "COBRHA-POSTCODE", severity: .warning, summary: "A Belgian address has a postcode that exists.")
    package static let outsideBelgium = QualityRule(
        id: "COBRHA-GEO-BELGIUM", severity: .warning,
        summary: "Coordinates lie inside Belgium (else the postcode centroid stands in).")
    package static let farFromPostcode = QualityRule(
        id: "COBRHA-GEO-POSTCODE", severity: .warning,
        summary: "Coordinates lie within 20 km of the postcode's centroid (else the centroid stands in).")
    package static let massDeletion = QualityRule(
        id: "COBRHA-MASS-DELETION", severity: .fatal,
        summary: "A run may not remove more than the configured share of a source's actors.")

    // The practice register.
    package static let practiceFile = QualityRule(
        id: "PRACTICE-FILE", severity: .fatal,
        summary: "The practice register is a CSV with the documented header, or a JSON array of objects.")
    package static let practiceColumn = QualityRule(
        id: "PRACTICE-COLUMN", severity: .warning, summary: "Columns outside the documented ones are ignored.")
    package static let practiceId = QualityRule(
        id: "PRACTICE-ID", severity: .error, summary: "practice_id: 1-64 of A-Za-z0-9._-, unique in the register.")
    package static let practiceNIHII = QualityRule(
        id: "PRACTICE-NIHII", severity: .error, summary: "nihii: 11 digits.")
    package static let practiceUnknownNIHII = QualityRule(
        id: "PRACTICE-NIHII-UNKNOWN", severity: .warning,
        summary: "nihii names a professional the registry knows (else the practice is kept but not searchable by name)."
    )
    package static let practicePostcode = QualityRule(
        id: "PRACTICE-POSTCODE", severity: .error, summary: "postcode exists in Belgium.")
    package static let practiceDate = QualityRule(
        id: "PRACTICE-DATE", severity: .error, summary: "valid_from is a date, valid_to a date ≥ valid_from or empty.")
    package static let practiceField = QualityRule(
        id: "PRACTICE-FIELD", severity: .error,
        summary: "role, languages and competences use the documented values; a street is present.")
    package static let practiceGeo = QualityRule(
        id: "PRACTICE-GEO", severity: .warning,
        summary: "Coordinates lie in Belgium within 20 km of the postcode centroid (else the centroid stands in).")
    package static let practiceInstitution = QualityRule(
        id: "PRACTICE-INSTITUTION", severity: .warning, summary: "institution is scheme:id of a known institution.")
    package static let practiceMassDeletion = QualityRule(
        id: "PRACTICE-MASS-DELETION", severity: .fatal,
        summary: "A run may not remove more than the configured share of the practices.")
}
