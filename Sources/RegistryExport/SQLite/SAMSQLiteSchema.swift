/// The relational schema of the SAM SQLite snapshot (`sam-{version}.sqlite`), declared once: the
/// snapshot builder creates and fills these tables, the delta carries rows in these shapes, and
/// `docs/EXPORTS.md` documents them. Changing a column is a schema change: bump `version`.
///
/// Conventions a vendor can rely on:
/// - one row per validity slice, with `valid_from` / `valid_to` (ISO dates, `to` inclusive, NULL
///   for open), so "valid on D" is `(valid_from IS NULL OR valid_from <= D) AND (valid_to IS NULL
///   OR valid_to >= D)`, the rule the API applies;
/// - `entity_key` is the registry's key of the entity the row comes from; `parent_key` joins to the
///   parent table's `entity_key` (an AMPP's AMP, a DMPP's AMPP, a copayment's context);
/// - prices and amounts are text, exactly as SAM publishes them (`CAST(price AS REAL)` to compute);
///   flags are 0/1; coded references are the code (`atc_code`, `company_actor_nr`);
/// - `fields` holds the slice's whole content as JSON, in SAM's own element names, so nothing the
///   typed columns leave out is lost (`json_extract(fields, '$.Note.Fr')`).
package enum SAMSQLiteSchema {
    package static let version = 1

    package static let tables: [SQLiteTable] = [
        SQLiteTable(
            "company", entityType: "company", about: "Marketing authorisation holders and distributors.",
            [
                .key("actor_nr", "actorNr"), .field("denomination", "Denomination"),
                .field("legal_form", "LegalForm"), .field("street_name", "StreetName"),
                .field("street_num", "StreetNum"), .field("postbox", "Postbox"), .field("postcode", "Postcode"),
                .field("city", "City"), .field("country_code", "CountryCode"), .field("language", "Language"),
            ], indexes: [["actor_nr"]]),
        SQLiteTable(
            "vtm", entityType: "vtm", about: "Virtual therapeutic moieties (the active substance as prescribed).",
            [.key("code", "code")] + names("name", "Name"), indexes: [["code"]]),
        SQLiteTable(
            "vmp_group", entityType: "vmp_group", about: "VMP groups: what a prescription by active substance names.",
            [.key("code", "code"), .attribute("product_id", "ProductId")] + names("name", "Name")
                + [
                    .field("no_generic_prescription_reason", "NoGenericPrescriptionReason", "@code"),
                    .field("no_switch_reason", "NoSwitchReason", "@code"),
                    .flag("patient_frailty_indicator", "PatientFrailtyIndicator"),
                ], indexes: [["code"]]),
        SQLiteTable(
            "vmp", entityType: "vmp", about: "Virtual medicinal products (generic descriptions).",
            [.key("code", "code")] + names("name", "Name") + names("abbreviation", "Abbreviation")
                + [.field("vtm_code", "Vtm", "@code"), .field("vmp_group_code", "VmpGroup", "@code")],
            indexes: [["code"], ["vmp_group_code"], ["vtm_code"]]),
        SQLiteTable(
            "vmp_component", entityType: "vmp_component", about: "Components of a VMP (parent: the VMP).",
            [.parentKey("vmp_code"), .key("code", "code")] + names("name", "Name")
                + [
                    .field("phase_number", "PhaseNumber"), .field("virtual_form_code", "VirtualForm", "@code"),
                    .field("route_of_administration_code", "RouteOfAdministration", "@code"),
                ], indexes: [["vmp_code"]]),
        SQLiteTable(
            "virtual_ingredient", entityType: "virtual_ingredient",
            about: "Ingredients of a VMP component (parent: the component's entity_key).",
            [
                .parentKey("vmp_component_key"), .key("rank", "rank"), .field("type", "Type"),
                .field("substance_code", "Substance", "@code"), .field("strength", "Strength", "#text"),
                .field("strength_unit", "Strength", "@unit"),
            ], indexes: [["vmp_component_key"], ["substance_code"]]),
        SQLiteTable(
            "amp", entityType: "amp", about: "Actual medicinal products (a brand: name, company, status).",
            [
                .key("code", "code"), .attribute("vmp_code", "vmpCode"), .field("official_name", "OfficialName"),
            ] + names("name", "Name") + names("abbreviated_name", "AbbreviatedName")
                + names("prescription_name", "PrescriptionName")
                + names("prescription_name_famhp", "PrescriptionNameFamhp")
                + names("proprietary_suffix", "ProprietarySuffix")
                + [
                    .field("status", "Status"), .flag("black_triangle", "BlackTriangle"),
                    .field("medicine_type", "MedicineType"), .field("company_actor_nr", "Company", "@actorNr"),
                ], indexes: [["code"], ["vmp_code"], ["company_actor_nr"]]),
        SQLiteTable(
            "amp_component", entityType: "amp_component", about: "Components of an AMP (parent: the AMP).",
            [
                .parentKey("amp_code"), .key("sequence_nr", "sequenceNr"),
                .attribute("vmp_component_code", "vmpComponentCode"),
                .field("pharmaceutical_form_code", "PharmaceuticalForm", "@code"),
                .field("route_of_administration_code", "RouteOfAdministration", "@code"),
            ], indexes: [["amp_code"]]),
        SQLiteTable(
            "real_actual_ingredient", entityType: "real_actual_ingredient",
            about: "Ingredients of an AMP component with their strength (parent: the component's entity_key).",
            [
                .parentKey("amp_component_key"), .key("rank", "rank"), .field("type", "Type"),
                .field("substance_code", "Substance", "@code"), .field("strength", "Strength", "#text"),
                .field("strength_unit", "Strength", "@unit"),
            ], indexes: [["amp_component_key"], ["substance_code"]]),
        SQLiteTable(
            "ampp", entityType: "ampp", about: "Actual medicinal product packages (parent: the AMP).",
            [.key("cti_extended", "ctiExtended"), .parentKey("amp_code")]
                + [
                    .field("status", "Status"), .field("atc_code", "Atc", "@code"),
                    .field("delivery_modus_code", "DeliveryModus", "@code"),
                    .field("authorisation_nr", "AuthorisationNr"), .flag("orphan", "Orphan"),
                    .field("pack_display_value", "PackDisplayValue"), .field("ex_factory_price", "ExFactoryPrice"),
                    .field("real_ex_factory_price", "RealExFactoryPrice"),
                    .field("official_ex_factory_price", "OfficialExFactoryPrice"),
                    .field("pricing_information_decision_date", "PricingInformationDecisionDate"),
                    .field("reimbursement_code", "ReimbursementCode"), .field("fmd_product_code", "FMDProductCode"),
                    .flag("fmd_in_scope", "FMDInScope"), .field("parallel_circuit", "ParallelCircuit"),
                ] + names("abbreviated_name", "AbbreviatedName") + names("prescription_name", "PrescriptionName")
                + names("leaflet_link", "LeafletLink") + names("spc_link", "SpcLink"),
            indexes: [["cti_extended"], ["amp_code"], ["atc_code"]]),
        SQLiteTable(
            "dmpp", entityType: "dmpp",
            about: "Delivered packages: a CNK per delivery environment (P public, H hospital) with its price.",
            [
                .key("code", "code"), .key("code_type", "codeType"),
                .key("delivery_environment", "deliveryEnvironment"),
                .parentKey("ampp_cti_extended"), .attribute("product_id", "ProductId"), .field("price", "Price"),
                .flag("cheap", "Cheap"), .flag("cheapest", "Cheapest"), .flag("reimbursable", "Reimbursable"),
            ], indexes: [["code", "delivery_environment"], ["ampp_cti_extended"]]),
        SQLiteTable(
            "reimbursement_context", entityType: "reimbursement_context",
            about: "Reimbursement of a DMPP under a legal reference (a Chapter IV paragraph for IV-…).",
            [
                .key("code", "code"), .key("code_type", "codeType"),
                .key("delivery_environment", "deliveryEnvironment"),
                .key("legal_reference_path", "legalReferencePath"),
                .field("reimbursement_criterion_category", "ReimbursementCriterion", "@category"),
                .field("reimbursement_criterion_code", "ReimbursementCriterion", "@code"),
                .field("multiple", "Multiple"), .flag("temporary", "Temporary"),
                .flag("flat_rate_system", "FlatRateSystem"), .flag("reference", "Reference"),
                .field("reference_base_price", "ReferenceBasePrice"),
                .field("reimbursement_base_price", "ReimbursementBasePrice"),
            ], indexes: [["code", "delivery_environment"], ["legal_reference_path"]]),
        SQLiteTable(
            "copayment", entityType: "copayment",
            about: "What the patient pays per regime (parent: the reimbursement context's entity_key).",
            [
                .parentKey("reimbursement_context_key"), .key("regime_type", "regimeType"),
                .field("fee_amount", "FeeAmount"), .field("reimbursement_amount", "ReimbursementAmount"),
            ], indexes: [["reimbursement_context_key"]]),
        SQLiteTable(
            "chapter_iv_paragraph", entityType: "paragraph", about: "Chapter IV paragraphs (prior authorisation).",
            [
                .key("chapter_name", "ChapterName"), .key("paragraph_name", "ParagraphName"),
                .field("paragraph_version", "ParagraphVersion"), .field("key_string_fr", "KeyStringFr"),
                .field("key_string_nl", "KeyStringNl"), .field("agreement_type", "AgreementType"),
            ], indexes: [["chapter_name", "paragraph_name"]]),
        SQLiteTable(
            "chapter_iv_verse", entityType: "verse", about: "Verses of a Chapter IV paragraph (parent: the paragraph).",
            [
                .parentKey("paragraph_key"), .key("verse_seq", "VerseSeq"), .field("verse_num", "VerseNum"),
                .field("verse_seq_parent", "VerseSeqParent"), .field("verse_level", "VerseLevel"),
                .field("text_fr", "TextFr"), .field("text_nl", "TextNl"), .field("check_box_ind", "CheckBoxInd"),
            ], indexes: [["paragraph_key"]]),
        SQLiteTable(
            "commercialization", entityType: "commercialization",
            about: "When an AMPP is on the market (parent: the AMPP).",
            [.parentKey("ampp_cti_extended")] + names("end_of_commercialization", "EndOfCommercialization")
                + names("reason", "Reason"),
            indexes: [["ampp_cti_extended"]]),
        SQLiteTable(
            "supply_problem", entityType: "supply_problem", about: "Supply problems of an AMPP (parent: the AMPP).",
            [.parentKey("ampp_cti_extended")] + names("reason", "Reason")
                + [.field("expected_end_on", "ExpectedEndOn"), .field("reported_by", "ReportedBy")]
                + names("impact", "Impact"),
            indexes: [["ampp_cti_extended"]]),
        SQLiteTable(
            "atc", entityType: "atc_classification", about: "ATC classification codes.",
            [.key("code", "code"), .field("description", "Description")], indexes: [["code"]]),
        SQLiteTable(
            "substance", entityType: "substance", about: "Substances.",
            [.key("code", "code"), .field("type", "Type")] + names("name", "Name"), indexes: [["code"]]),
    ]

    /// Every other entity type (packaging components, reference tables, non-medicinal products…):
    /// one row per slice in `other_entity`, its key, attributes and fields as JSON.
    package static let otherTable = "other_entity"

    /// Names for full-text search (`medicine_name_fts`, FTS5, accents removed): every distinct name
    /// of these types in any slice and language.
    package static let searchedNames: [String: [String]] = [
        "amp": ["Name", "OfficialName", "AbbreviatedName", "PrescriptionName"],
        "ampp": ["AbbreviatedName", "PrescriptionName"],
        "vmp": ["Name", "Abbreviation"],
        "vmp_group": ["Name"],
        "vtm": ["Name"],
        "substance": ["Name"],
    ]

    package static let tableByEntityType: [String: SQLiteTable] = Dictionary(
        uniqueKeysWithValues: tables.map { ($0.entityType, $0) })

    /// The four columns of a multilingual name: `{prefix}_fr`, `_nl`, `_de`, `_en`.
    static func names(_ prefix: String, _ field: String) -> [SQLiteColumn] {
        ["Fr", "Nl", "De", "En"].map { .field("\(prefix)_\($0.lowercased())", field, $0) }
    }

    /// The statements that create the empty schema (tables, the search table and `meta`); indexes
    /// come after the rows (`indexStatements`), which is faster than maintaining them while filling.
    package static var createStatements: [String] {
        var statements = tables.map { table in
            let columns =
                ["entity_key TEXT NOT NULL"] + table.columns.map { "\($0.name) \($0.kind.sqlType)" }
                + ["valid_from TEXT", "valid_to TEXT", "fields TEXT NOT NULL"]
            return "CREATE TABLE \(table.name) (\(columns.joined(separator: ", ")))"
        }
        statements.append(
            """
            CREATE TABLE \(otherTable) (entity_type TEXT NOT NULL, entity_key TEXT NOT NULL, parent_type TEXT, \
            parent_key TEXT, key TEXT NOT NULL, attributes TEXT NOT NULL, valid_from TEXT, valid_to TEXT, \
            fields TEXT NOT NULL)
            """)
        statements.append(
            "CREATE TABLE medicine_name (entity_type TEXT NOT NULL, entity_key TEXT NOT NULL, language TEXT NOT NULL, name TEXT NOT NULL)"
        )
        statements.append("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        statements.append(
            "CREATE TABLE entity_table (entity_type TEXT NOT NULL, table_name TEXT NOT NULL, type_column TEXT, PRIMARY KEY (entity_type, table_name))"
        )
        return statements
    }

    package static var indexStatements: [String] {
        var statements: [String] = []
        for table in tables {
            statements.append("CREATE INDEX \(table.name)_entity_key ON \(table.name) (entity_key)")
            for columns in table.indexes where columns != ["entity_key"] {
                statements.append(
                    "CREATE INDEX \(table.name)_\(columns.joined(separator: "_")) ON \(table.name) (\(columns.joined(separator: ", ")))"
                )
            }
        }
        statements.append("CREATE INDEX \(otherTable)_entity ON \(otherTable) (entity_type, entity_key)")
        statements.append("CREATE INDEX medicine_name_entity ON medicine_name (entity_type, entity_key)")
        // External-content FTS5 over medicine_name, kept in step by triggers (a delta's deletes and
        // inserts update the index too).
        statements.append(
            """
            CREATE VIRTUAL TABLE medicine_name_fts USING fts5(name, content='medicine_name', content_rowid='rowid', \
            tokenize='unicode61 remove_diacritics 2')
            """)
        statements.append("INSERT INTO medicine_name_fts (medicine_name_fts) VALUES ('rebuild')")
        statements.append(
            """
            CREATE TRIGGER medicine_name_fts_insert AFTER INSERT ON medicine_name BEGIN \
            INSERT INTO medicine_name_fts (rowid, name) VALUES (new.rowid, new.name); END
            """)
        statements.append(
            """
            CREATE TRIGGER medicine_name_fts_delete AFTER DELETE ON medicine_name BEGIN \
            INSERT INTO medicine_name_fts (medicine_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name); END
            """)
        return statements
    }

    /// `entity_table` rows: which tables hold an entity type's rows (and, for shared tables, the
    /// column naming the type), so a delta can remove an entity's rows without knowing the schema.
    /// `*` stands for every type without a row of its own. Fixed by the schema, not by the data.
    package static var entityTableRows: [[SQLiteValue]] {
        var rows: [[SQLiteValue]] = tables.map { [.text($0.entityType), .text($0.name), .null] }
        rows.append([.text("*"), .text(otherTable), .text("entity_type")])
        for type in searchedNames.keys.sorted() {
            rows.append([.text(type), .text("medicine_name"), .text("entity_type")])
        }
        return rows
    }
}

/// One table of the snapshot: the rows of one entity type.
package struct SQLiteTable: Sendable {
    package var name: String
    package var entityType: String
    package var about: String
    package var columns: [SQLiteColumn]
    package var indexes: [[String]]

    init(_ name: String, entityType: String, about: String, _ columns: [SQLiteColumn], indexes: [[String]]) {
        self.name = name
        self.entityType = entityType
        self.about = about
        self.columns = columns
        self.indexes = indexes
    }

    /// Every column in insertion order: `entity_key`, the declared ones, the period, `fields`.
    package var allColumnNames: [String] {
        ["entity_key"] + columns.map(\.name) + ["valid_from", "valid_to", "fields"]
    }
}

/// A typed column and where its value comes from in the stored entity.
package struct SQLiteColumn: Sendable {
    package enum Kind: Sendable {
        case text, flag

        var sqlType: String {
            switch self {
            case .text: "TEXT"
            case .flag: "INTEGER"
            }
        }
    }

    package enum Source: Sendable {
        /// A member of the document's `key`.
        case key(String)
        /// A member of the document's `attributes`.
        case attribute(String)
        /// The parent entity's registry key.
        case parentKey
        /// A path into the slice's fields (`["Atc", "@code"]`, `["Name", "Fr"]`).
        case field([String])
    }

    package var name: String
    package var kind: Kind
    package var source: Source

    static func key(_ name: String, _ member: String) -> SQLiteColumn {
        .init(name: name, kind: .text, source: .key(member))
    }
    static func attribute(_ name: String, _ member: String) -> SQLiteColumn {
        .init(name: name, kind: .text, source: .attribute(member))
    }
    static func parentKey(_ name: String) -> SQLiteColumn { .init(name: name, kind: .text, source: .parentKey) }
    static func field(_ name: String, _ path: String...) -> SQLiteColumn {
        .init(name: name, kind: .text, source: .field(path))
    }
    static func flag(_ name: String, _ path: String...) -> SQLiteColumn {
        .init(name: name, kind: .flag, source: .field(path))
    }
}

/// A value bound into the snapshot: text, an integer or NULL.
package enum SQLiteValue: Sendable, Hashable {
    case null
    case text(String)
    case integer(Int64)
}
