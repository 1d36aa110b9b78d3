import SAMReaders
import XMLStreaming
import Foundation
import RegistryCore

/// What the generator was asked to produce; stored as `generator.json` next to the files so a
/// later `--from DIR --changes N` can write the next version of the same export.
package struct SAMGeneratorConfig: Codable, Sendable, Hashable {
    package var seed: UInt64
    package var scale: Double
    /// Change sets applied on top of the base export, in order (each: count and seed).
    package var changeSets: [ChangeSet] = []

    package struct ChangeSet: Codable, Sendable, Hashable {
        package var count: Int
        package var seed: UInt64
    }

    package init(seed: UInt64, scale: Double) {
        self.seed = seed
        self.scale = scale
    }
}

/// One entity change a generated delta contains, so delta imports can be checked independently.
package struct GeneratedChange: Codable, Sendable, Hashable {
    package var entityType: String
    package var entityKey: String
    package var kind: String
}

/// Writes deterministic, realistic SAM v2 exports (all nine files) with the real shape.
///
/// Shape (DESIGN.md and the real fragments): ~19.5k current AMPs plus history per scale 1.0,
/// ~5 AMPPs per AMP, DMPPs in P plus A/H pairs sharing a CNK, ~2 Data slices per AMP, 2.6 per
/// AMPP, 1.9 per DMPP, unsorted slices, one-day slices, future-dated slices, embedded
/// Company/ATC/DeliveryModus copies in every slice, Fr+Nl always and De/En often missing, and
/// namespace prefixes that differ per file. Entities are produced from their index and the
/// seed, so nothing is held in memory and a delta regenerates the same export with changes.
package struct SAMExportGenerator: Sendable {
    package let config: SAMGeneratorConfig

    package init(config: SAMGeneratorConfig) { self.config = config }

    static let ns = (
        export: "urn:be:fgov:ehealth:samws:v2:export",
        core: "urn:be:fgov:ehealth:samws:v2:core",
        actual: "urn:be:fgov:ehealth:samws:v2:actual:common",
        company: "urn:be:fgov:ehealth:samws:v2:company:submit",
        refdata: "urn:be:fgov:ehealth:samws:v2:refdata",
        virtual: "urn:be:fgov:ehealth:samws:v2:virtual:common",
        reimbursement: "urn:be:fgov:ehealth:samws:v2:reimbursement:submit",
        law: "urn:be:fgov:ehealth:samws:v2:reimbursementlaw:submit",
        chapterIV: "urn:be:fgov:ehealth:samws:v2:chapteriv:submit",
        compounding: "urn:be:fgov:ehealth:samws:v2:compounding:common",
        nonMedicinal: "urn:be:fgov:ehealth:samws:v2:nonmedicinal:common"
    )

    // MARK: Sizes

    var ampCount: Int { max(4, Int(19_500 * config.scale * 1.15)) }
    var companyCount: Int { max(3, Int(900 * config.scale)) }
    var vmpCount: Int { max(3, Int(9_000 * config.scale)) }
    var vmpGroupCount: Int { max(2, Int(6_000 * config.scale)) }
    /// Substances of the REF file; ingredients refer to these only.
    var substanceCount: Int { max(5, Int(5_000 * config.scale)) }
    var vtmCount: Int { max(2, Int(2_500 * config.scale)) }
    var paragraphCount: Int { max(2, Int(1_500 * config.scale)) }
    var compoundingCount: Int { max(2, Int(1_500 * config.scale)) }
    var nonMedicinalCount: Int { max(2, Int(8_000 * config.scale)) }
    static let atcCodes: [String] = {
        var codes: [String] = []
        for (i, group) in ["A", "B", "C", "D", "G", "H", "J", "L", "M", "N", "P", "R", "S", "V"].enumerated() {
            codes.append(group)
            for sub in 1...4 {
                let l2 = group + String(format: "%02d", sub + i % 3)
                codes.append(l2)
                for (k, l3) in ["A", "B", "C"].enumerated() {
                    codes.append(l2 + l3)
                    for l4 in ["A", "B", "X"] {
                        codes.append(l2 + l3 + l4)
                        for n in 1...3 { codes.append(l2 + l3 + l4 + String(format: "%02d", n + k)) }
                    }
                }
            }
        }
        return codes
    }()
    static var leafAtc: [String] { atcCodes.filter { $0.count == 7 } }

    // MARK: Change plan

    /// The modifications of every change set, by target, computed from the seeds.
    struct ChangePlan {
        var futurePrice: [Int: Int] = [:]  // amp index → change-set number
        var closeSlice: [Int: Int] = [:]
        var newAmpp: [Int: [Int]] = [:]  // amp index → change sets that added one AMPP
        var withdraw: [Int: Int] = [:]
        var renamedCompany: [Int: [Int]] = [:]  // company index → change sets that renamed it
        var lastSet: [GeneratedChange] = []
    }

    func plan(ampppCount: (Int) -> Int) -> ChangePlan {
        var plan = ChangePlan()
        var permutation = Array(0..<ampCount)
        var rng = SeededRandom(seed: config.seed, stream: 99, index: 0)
        rng.shuffle(&permutation)
        var companies = Array(0..<companyCount)
        rng.shuffle(&companies)
        var position = 0
        var renames = 0
        for (setIndex, set) in config.changeSets.enumerated() {
            let isLast = setIndex == config.changeSets.count - 1
            var expected: [GeneratedChange] = []
            let number = setIndex + 1
            for _ in 0..<set.count {
                guard position < permutation.count else { break }
                let amp = permutation[position]
                var kind = position % 5
                position += 1
                if kind == 4 && renames >= companies.count { kind = 0 }
                let cti = ctiExtended(amp, 0)
                switch kind {
                case 0:
                    plan.futurePrice[amp] = number
                    expected.append(
                        .init(entityType: "dmpp", entityKey: "P|CNK|\(cnk(amp, 0, public: true))", kind: "updated"))
                case 1:
                    plan.closeSlice[amp] = number
                    expected.append(.init(entityType: "ampp", entityKey: cti, kind: "updated"))
                case 2:
                    plan.newAmpp[amp, default: []].append(number)
                    let j = ampppCount(amp) + plan.newAmpp[amp]!.count - 1
                    let newCti = ctiExtended(amp, j)
                    expected.append(.init(entityType: "ampp", entityKey: newCti, kind: "created"))
                    expected.append(.init(entityType: "ampp_component", entityKey: "\(newCti)/1", kind: "created"))
                    expected.append(
                        .init(entityType: "ampp_component_equivalent", entityKey: "\(newCti)/1/1", kind: "created"))
                    expected.append(
                        .init(entityType: "dmpp", entityKey: "P|CNK|\(cnk(amp, j, public: true))", kind: "created"))
                case 3:
                    plan.withdraw[amp] = number
                    expected.append(
                        .init(entityType: "dmpp", entityKey: "P|CNK|\(cnk(amp, 0, public: true))", kind: "deleted"))
                default:
                    let company = companies[renames]
                    renames += 1
                    plan.renamedCompany[company, default: []].append(number)
                    expected.append(.init(entityType: "company", entityKey: actorNr(company), kind: "updated"))
                    var a = company
                    while a < ampCount {
                        expected.append(.init(entityType: "amp", entityKey: ampCode(a), kind: "updated"))
                        a += companyCount
                    }
                }
            }
            if isLast { plan.lastSet = expected }
        }
        return plan
    }

    // MARK: Identifiers

    func ampCode(_ i: Int) -> String { "SAM" + String(format: "%06d", i + 1) + "-00" }
    func ctiExtended(_ i: Int, _ j: Int) -> String {
        String(format: "%06d", i + 1) + "-" + String(format: "%02d", j + 1)
    }
    func cnk(_ i: Int, _ j: Int, public isPublic: Bool) -> String {
        String(format: "%07d", (isPublic ? 1_000_000 : 5_000_000) + i * 20 + j)
    }
    func actorNr(_ c: Int) -> String { String(format: "%05d", c + 1) }
    func amppCount(_ i: Int) -> Int {
        var rng = SeededRandom(seed: config.seed, stream: 2, index: i)
        return rng.int(1...9)
    }

    // MARK: Writing

    /// Writes the nine XML files (or, with `zip`, one zip holding them) into `directory`.
    /// Returns the entity changes of the last change set (empty for a base export).
    @discardableResult
    package func write(to directory: String, zip: Bool = false, progress: ((String) -> Void)? = nil) throws
        -> [GeneratedChange]
    {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let plan = plan(ampppCount: amppCount)
        let stamp = String(1_764_000_000_000 + Int(config.seed % 1000) * 1000 + config.changeSets.count)
        var files: [String] = []
        for kind in SAMExportFile.allCases {
            let name = "\(kind.rawValue)-\(stamp).xml"
            let path = (directory as NSString).appendingPathComponent(name)
            progress?("writing \(name)")
            let writer = try XMLFileWriter(path: path)
            try writeFile(kind, writer: writer, plan: plan)
            writer.close()
            files.append(name)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: URL(fileURLWithPath: directory).appendingPathComponent("generator.json"))
        try encoder.encode(plan.lastSet).write(
            to: URL(fileURLWithPath: directory).appendingPathComponent("changes.json"))
        if zip {
            let zipPath = (directory as NSString).appendingPathComponent("SAMv2-full-\(stamp).zip")
            progress?("zipping into \(zipPath)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments =
                [
                    "python3", "-c",
                    "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, allowZip64=True) as z:\n    for f in sys.argv[2:]:\n        z.write(f, f.split('/')[-1])\n",
                    zipPath,
                ] + files.map { (directory as NSString).appendingPathComponent($0) }
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw InputError.cannotOpen(path: zipPath, reason: "zipping failed (python3 zipfile)")
            }
            for f in files { try fm.removeItem(atPath: (directory as NSString).appendingPathComponent(f)) }
        }
        return plan.lastSet
    }

    /// Reads `generator.json` of a previous export and writes its next version with `changes` changes.
    package static func writeNextVersion(
        from previous: String, to directory: String, changes: Int, seed: UInt64, zip: Bool = false
    )
        throws -> [GeneratedChange]
    {
        let data = try Data(contentsOf: URL(fileURLWithPath: previous).appendingPathComponent("generator.json"))
        var config = try JSONDecoder().decode(SAMGeneratorConfig.self, from: data)
        config.changeSets.append(.init(count: changes, seed: seed))
        return try SAMExportGenerator(config: config).write(to: directory, zip: zip)
    }

    /// Prefixes per file: the same namespaces get different generated prefixes in each file.
    func prefixes(for kind: SAMExportFile, namespaces: [String]) -> [String: String] {
        var rng = SeededRandom(seed: config.seed, stream: 7, index: SAMExportFile.allCases.firstIndex(of: kind)!)
        var numbers = Array(2...(namespaces.count + 1))
        rng.shuffle(&numbers)
        var out: [String: String] = [:]
        for (i, n) in namespaces.enumerated() { out[n] = "ns\(numbers[i])" }
        return out
    }

    func writeFile(_ kind: SAMExportFile, writer w: XMLFileWriter, plan: ChangePlan) throws {
        let ns = Self.ns
        // The default namespace holds the unprefixed fields, as in the real files.
        let defaultNamespace: String
        let others: [String]
        switch kind {
        case .amp: defaultNamespace = ns.actual; others = [ns.core, ns.company, ns.export, ns.refdata]
        case .vmp: defaultNamespace = ns.core; others = [ns.virtual, ns.export, ns.refdata]
        case .cpn: defaultNamespace = ns.company; others = [ns.core, ns.export]
        case .ref: defaultNamespace = ns.refdata; others = [ns.core, ns.export]
        case .rmb: defaultNamespace = ns.reimbursement; others = [ns.core, ns.export, ns.refdata]
        case .rml: defaultNamespace = ns.law; others = [ns.core, ns.export]
        case .chapterIV: defaultNamespace = ns.chapterIV; others = [ns.core, ns.export]
        case .cmp: defaultNamespace = ns.compounding; others = [ns.core, ns.export]
        case .nonMedicinal: defaultNamespace = ns.nonMedicinal; others = [ns.core, ns.export]
        }
        let p = prefixes(for: kind, namespaces: others)
        let ctx = FileContext(
            w: w, x: p[ns.export]!, core: p[ns.core].map { $0 + ":" } ?? "", company: p[ns.company],
            refdata: p[ns.refdata], virtual: p[ns.virtual])
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n")
        w.raw("<\(ctx.x):\(kind.rootElement) xmlns=\"\(defaultNamespace)\"")
        for n in others { w.raw(" xmlns:\(p[n]!)=\"\(n)\"") }
        let samId = "SAM-\(config.seed)-\(config.changeSets.count)"
        w.raw(" version=\"6.0\" SamId=\"\(samId)\">\n")
        switch kind {
        case .ref: writeReferences(ctx)
        case .cpn: for c in 0..<companyCount { writeCompany(ctx, c, plan: plan, embedded: false) }
        case .vmp: writeVirtual(ctx)
        case .amp: for i in 0..<ampCount { writeAmp(ctx, i, plan: plan) }
        case .rmb: writeReimbursements(ctx, plan: plan)
        case .rml: writeLaws(ctx)
        case .chapterIV: writeChapterIV(ctx)
        case .cmp: writeCompounding(ctx)
        case .nonMedicinal: writeNonMedicinal(ctx)
        }
        w.raw("</\(ctx.x):\(kind.rootElement)>\n")
    }

    struct FileContext {
        let w: XMLFileWriter
        let x: String  // export prefix
        let core: String
        let company: String?
        let refdata: String?
        let virtual: String?

        /// `<Name><core:Fr>…</core:Fr><core:Nl>…</core:Nl>[De][En]</Name>`
        func text(_ qname: String, fr: String, nl: String, de: String? = nil, en: String? = nil) {
            w.raw("<\(qname)>")
            w.element("\(core)Fr", fr)
            w.element("\(core)Nl", nl)
            if let de { w.element("\(core)De", de) }
            if let en { w.element("\(core)En", en) }
            w.raw("</\(qname)>")
        }

        func data(from: String, to: String?, _ body: () -> Void) {
            w.raw("<\(x):Data from=\"\(from)\"" + (to.map { " to=\"\($0)\"" } ?? "") + ">")
            body()
            w.raw("</\(x):Data>\n")
        }
    }

    static let words = [
        "Haldol", "Dafalgan", "Perdolan", "Motilium", "Zyrtec", "Nexiam", "Lipitor", "Crestor", "Xarelto", "Eliquis",
        "Asaflow", "Cardioaspirine", "Amlor", "Coversyl", "Ledertrexate", "Medrol", "Augmentin", "Clamoxyl",
        "Sipralexa",
        "Trazolan", "Redomex", "Dormonoct", "Lormetazepam", "Paracetamol", "Ibuprofen", "Omeprazol", "Pantoprazol",
        "Metformine", "Gliclazide", "Simvastatine", "Bisoprolol", "Nebivolol", "Lisinopril", "Furosemide", "Salbutamol",
    ]
    /// Pharmaceutical forms: French and Dutch abbreviations, SAM code, EDQM standard term (the REF
    /// file's StandardForm; one form has none, as in the real data some have none), English name.
    package static let forms: [(String, String, String, String?, String)] = [
        ("sol. inj.", "inj. opl.", "306", "11201000", "Solution for injection"),
        ("compr.", "tabl.", "10", "10219000", "Tablet"), ("gél.", "caps.", "18", "10210000", "Capsule, hard"),
        ("sirop", "siroop", "45", "10117000", "Syrup"), ("pommade", "zalf", "62", nil, "Ointment"),
    ]

    /// Routes of administration R0…R6 with their EDQM standard terms (R6 has none).
    package static let routes: [(String, String, String?, String)] = [
        ("Voie orale", "Oraal gebruik", "20053000", "Oral use"),
        ("Voie intraveineuse", "Intraveneus gebruik", "20045000", "Intravenous use"),
        ("Voie intramusculaire", "Intramusculair gebruik", "20035000", "Intramuscular use"),
        ("Voie cutanée", "Cutaan gebruik", "20003000", "Cutaneous use"),
        ("Voie sous-cutanée", "Subcutaan gebruik", "20066000", "Subcutaneous use"),
        ("Voie rectale", "Rectaal gebruik", "20061000", "Rectal use"),
        ("Voie dentaire", "Tandheelkundig gebruik", nil, "Dental use"),
    ]

    /// English names of the first substances (INNs that SMS knows); the others are "substance N".
    package static let substanceNames = [
        "Paracetamol", "Ibuprofen", "Amoxicillin", "Haloperidol", "Metformin hydrochloride", "Atorvastatin",
        "Omeprazole", "Amlodipine besilate", "Simvastatin", "Lisinopril", "Diclofenac sodium", "Salbutamol",
        "Levothyroxine sodium", "Furosemide", "Prednisolone", "Warfarin sodium", "Tramadol hydrochloride",
        "Sertraline hydrochloride", "Ciprofloxacin", "Bisoprolol fumarate",
    ]

    package static func substanceName(_ index: Int) -> String {
        index < substanceNames.count ? substanceNames[index] : "substance \(index + 1)"
    }

    func date(_ dayOffset: Int) -> String { LocalDate(dayNumber: dayOffset).description }

    // MARK: Files

    func writeCompany(_ c: FileContext, _ index: Int, plan: ChangePlan, embedded: Bool) {
        let w = c.w
        let cp = c.company.map { $0 + ":" } ?? ""
        w.raw("<\(c.x):Company actorNr=\"\(actorNr(index))\">")
        var rng = SeededRandom(seed: config.seed, stream: 3, index: index)
        let name = Self.words[index % Self.words.count] + " Pharma " + String(index + 1)
        let city = rng.pick(["Brussel", "Beerse", "Wavre", "Gent", "Liège", "Antwerpen"])
        var slices: [(String, String?, String)] = [
            ("1960-01-01", "2022-06-29", name + " NV"), ("2022-06-30", nil, name),
        ]
        for set in plan.renamedCompany[index] ?? [] {
            let from = date(20_819 + set * 7)  // 2027-01-01 + a week per change set
            let previousTo = date(20_819 + set * 7 - 1)
            slices[slices.count - 1].1 = previousTo
            slices.append((from, nil, name + " (renamed \(set))"))
        }
        if !embedded { rng.shuffle(&slices) }
        for (from, to, denomination) in slices {
            c.data(from: from, to: to) {
                w.element("\(cp)Denomination", denomination)
                w.element("\(cp)LegalForm", "S.A.-N.V.")
                w.element("\(cp)StreetName", "Industriepark")
                w.element("\(cp)StreetNum", String(index % 200 + 1))
                w.element("\(cp)Postcode", String(1000 + index % 8000))
                w.element("\(cp)City", city)
                w.element("\(cp)CountryCode", "BE")
                w.element("\(cp)Language", index % 2 == 0 ? "NL" : "FR")
            }
        }
        w.raw("</\(c.x):Company>\n")
    }

    func writeAmp(_ c: FileContext, _ i: Int, plan: ChangePlan) {
        let w = c.w
        var rng = SeededRandom(seed: config.seed, stream: 1, index: i)
        let brand = Self.words[i % Self.words.count] + (i >= Self.words.count ? " \(i / Self.words.count)" : "")
        let strength = rng.pick(["5 mg", "10 mg", "20 mg", "500 mg", "1 g", "5 mg/ml", "40 mg"])
        let form = rng.pick(Self.forms)
        let company = i % companyCount
        let isHistory = i >= Int(Double(ampCount) / 1.15)
        let hasVmp = !rng.chance(0.1)
        let vmp = i % vmpCount + 1
        w.raw("<\(c.x):Amp code=\"\(ampCode(i))\"" + (hasVmp ? " vmpCode=\"\(vmp)\"" : "") + ">\n")
        // ~2.2 slices: an early one-day slice sometimes, a closed one, a current or future one; unsorted.
        var slices: [(String, String?)] = []
        let start = rng.int(-3_000...18_000)  // days since 1970: back to the 1960s
        if rng.chance(0.2) { slices.append((date(start - 1), date(start - 1))) }
        let mid = start + rng.int(200...2_000)
        slices.append((date(start), date(mid)))
        if isHistory {
            if rng.chance(0.5) { slices.append((date(mid + 1), date(mid + rng.int(10...500)))) }
        } else {
            slices.append((date(mid + 1), nil))
        }
        rng.shuffle(&slices)
        for (k, (from, to)) in slices.enumerated() {
            c.data(from: from, to: to) {
                w.element("OfficialName", "\(brand) \(strength)")
                w.element("Status", to == nil ? "AUTHORIZED" : (isHistory ? "SUSPENDED" : "AUTHORIZED"))
                c.text(
                    "Name", fr: "\(brand) \(strength)", nl: "\(brand) \(strength)",
                    de: rng.chance(0.6) ? "\(brand) \(strength)" : nil,
                    en: rng.chance(0.5) ? "\(brand) \(strength)" : nil)
                w.element("BlackTriangle", rng.chance(0.05) ? "true" : "false")
                w.element("MedicineType", "ALLOPATHIC")
                if k > 0 || rng.chance(0.7) {
                    c.text(
                        "PrescriptionNameFamhp", fr: "\(brand) \(strength) \(form.0)",
                        nl: "\(brand) \(strength) \(form.1)",
                        de: rng.chance(0.5) ? "\(brand) \(strength) \(form.1)" : nil)
                }
                writeCompany(c, company, plan: plan, embedded: true)
                // The BCPI fields come as a group (all three or none), in 125 of 269 real slices.
                if rng.chance(0.46) {
                    c.text(
                        "AbbreviatedName", fr: "\(brand) \(form.0) \(strength)", nl: "\(brand) \(form.1) \(strength)")
                    c.text("ProprietarySuffix", fr: strength, nl: strength)
                    c.text(
                        "PrescriptionName", fr: "\(brand) \(form.0) [\(strength)]",
                        nl: "\(brand) \(form.1) [\(strength)]")
                }
            }
        }
        // One component with its ingredient.
        w.raw("<\(c.x):AmpComponent sequenceNr=\"1\"" + (hasVmp ? " vmpComponentCode=\"\(vmp)\"" : "") + ">")
        // Forms, routes and substances are export elements with their reference data inline
        // (names, standard terms), as in the real file.
        let r = c.refdata.map { $0 + ":" } ?? ""
        c.data(from: slices.map(\.0).min()!, to: nil) {
            w.raw("<\(c.x):PharmaceuticalForm code=\"\(form.2)\">")
            c.text("\(r)Name", fr: form.0, nl: form.1, en: form.4)
            if let edqm = form.3 { w.raw("<\(c.x):StandardForm standard=\"EDQM\" code=\"\(edqm)\"/>") }
            w.raw("</\(c.x):PharmaceuticalForm>")
            writeInlineRoute(c, i % 7)
        }
        w.raw("<\(c.x):RealActualIngredient rank=\"1\">")
        c.data(from: slices.map(\.0).min()!, to: nil) {
            w.element("Type", "ACTIVE_SUBSTANCE")
            w.element("Strength", strength.split(separator: " ")[0].description, attributes: [("unit", "mg")])
            writeInlineSubstance(c, i % substanceCount)
        }
        w.raw("</\(c.x):RealActualIngredient>")
        w.raw("</\(c.x):AmpComponent>\n")
        var count = amppCount(i)
        count += plan.newAmpp[i]?.count ?? 0
        for j in 0..<count {
            if j >= amppCount(i) {
                writeAmpp(
                    c, i, j, brand: brand, strength: strength, form: form, plan: plan,
                    addedInSet: plan.newAmpp[i]![j - amppCount(i)])
            } else {
                writeAmpp(c, i, j, brand: brand, strength: strength, form: form, plan: plan, addedInSet: nil)
            }
        }
        w.raw("</\(c.x):Amp>\n")
    }

    func writeAmpp(
        _ c: FileContext, _ i: Int, _ j: Int, brand: String, strength: String,
        form: (String, String, String, String?, String),
        plan: ChangePlan, addedInSet: Int?
    ) {
        let w = c.w
        let r = c.refdata.map { $0 + ":" } ?? ""
        var rng = SeededRandom(seed: config.seed, stream: 4, index: i * 64 + j)
        let cti = ctiExtended(i, j)
        let pack = rng.pick(["1 ml", "5 x 1 ml", "20", "30", "60", "100", "28", "56", "98", "200 ml"])
        let atc = Self.leafAtc[(i * 7 + j) % Self.leafAtc.count]
        w.raw("<\(c.x):Ampp ctiExtended=\"\(cti)\">\n")
        // 2.6 slices on average.
        var slices: [(String, String?)] = []
        var day = addedInSet.map { 20_819 + $0 * 7 } ?? rng.int(0...19_000)
        let n = addedInSet == nil ? rng.int(1...4) : 1
        for k in 0..<n {
            let end = day + rng.int(30...1_500)
            slices.append((date(day), k == n - 1 ? nil : date(end)))
            day = end + 1
        }
        if let set = plan.closeSlice[i], j == 0 {
            let last = slices.count - 1
            slices[last].1 = date(max(20_819 + set * 7, LocalDate(iso: slices[last].0)!.dayNumber + 1))
        }
        rng.shuffle(&slices)
        let price = Double(rng.int(150...25_000)) / 100
        for (from, to) in slices {
            c.data(from: from, to: to) {
                w.element("AuthorisationNr", "BE" + String(format: "%06d", i + 1))
                w.element("Orphan", "false")
                c.text(
                    "LeafletLink", fr: "https://app.fagg-afmps.be/pharma-status/api/files/\(cti)?fr",
                    nl: "https://app.fagg-afmps.be/pharma-status/api/files/\(cti)?nl",
                    de: rng.chance(0.6) ? "https://app.fagg-afmps.be/pharma-status/api/files/\(cti)?de" : nil)
                c.text(
                    "SpcLink", fr: "https://app.fagg-afmps.be/pharma-status/api/files/\(cti)?rcp",
                    nl: "https://app.fagg-afmps.be/pharma-status/api/files/\(cti)?skp")
                w.element("ParallelCircuit", "0")
                w.element("PackDisplayValue", pack)
                w.element("Status", "AUTHORIZED")
                c.text(
                    "PrescriptionNameFamhp", fr: "\(brand) \(strength) \(form.0) \(pack)",
                    nl: "\(brand) \(strength) \(form.1) \(pack)",
                    de: rng.chance(0.5) ? "\(brand) \(strength) \(form.1) \(pack)" : nil,
                    en: rng.chance(0.5) ? "\(brand) \(strength) \(form.0) \(pack)" : nil)
                w.element("FMDProductCode", String(format: "0541%010d", i * 20 + j))
                w.element("FMDInScope", "true")
                w.element("AntiTemperingDevicePresent", "true")
                w.raw("<\(c.x):Atc code=\"\(atc)\">")
                w.element("\(r)Description", "Substance \(atc)")
                w.raw("</\(c.x):Atc>")
                w.raw("<\(c.x):DeliveryModus code=\"M1\"><\(r)Description>")
                w.element(
                    "\(c.core)Fr",
                    "Prescription médicale - Art 6, §1 bis, troisième alinéa, premier tiret de la Loi du 25/03/1964 + Art 61 de l'AR 14/12/2006"
                )
                w.element(
                    "\(c.core)Nl",
                    "Medisch voorschrift - Art 6, §1 bis, derde alinea, eerste streepje van de Wet van 25/03/1964 + Art 61 van het KB van 14/12/2006"
                )
                w.element(
                    "\(c.core)De",
                    "Arzneimittel auf Verschreibung - Art. 6, §1 bis, Absatz 3, erster Gedankenstrich des Gesetzes vom 25.03.1964"
                )
                w.element(
                    "\(c.core)En",
                    "Medical prescription - Art 6, §1 bis, 3rd paragraph, 1st indent Law 25/03/1964 + Art 61 Royal Decree 14/12/2006"
                )
                w.raw("</\(r)Description></\(c.x):DeliveryModus>")
                // BCPI fields: in 292 of 560 real AMPP slices; a note in 14 of those.
                if rng.chance(0.52) {
                    c.text(
                        "AbbreviatedName", fr: "\(brand) \(form.0) \(pack) \(strength)",
                        nl: "\(brand) \(form.1) \(pack) \(strength)")
                    c.text(
                        "PrescriptionName", fr: "\(brand) \(strength) \(form.0) \(pack)",
                        nl: "\(brand) \(strength) \(form.1) \(pack)")
                    if rng.chance(0.05) {
                        c.text(
                            "Note", fr: "Conserver au réfrigérateur (2-8 °C).", nl: "Bewaren in de koelkast (2-8 °C).")
                    }
                    c.text(
                        "CrmLink", fr: "http://www.cbip.be/fr/contents/jump?amppid=\(i * 20 + j)",
                        nl: "http://www.bcfi.be/nl/contents/jump?amppid=\(i * 20 + j)")
                }
                w.element("ExFactoryPrice", String(format: "%.4f", price))
                w.element("ReimbursementCode", "0")
                w.element("OfficialExFactoryPrice", String(format: "%.4f", price))
                w.element("RealExFactoryPrice", String(format: "%.4f", price))
                w.element("PricingInformationDecisionDate", from)
            }
        }
        let firstFrom = slices.map(\.0).min()!
        w.raw("<\(c.x):AmppComponent sequenceNr=\"1\">")
        c.data(from: firstFrom, to: nil) {
            w.element("AmpcSequenceNr", "1")
            w.element("ContentType", "ACTIVE_COMPONENT")
            w.raw("<\(c.x):PackagingType code=\"1\">")
            c.text("\(r)Name", fr: "Ampoule", nl: "Ampul", de: "Ampulle", en: "Ampoule")
            w.element("\(r)EdqmCode", "30001000")
            w.raw("</\(c.x):PackagingType>")
        }
        w.raw("<\(c.x):AmppComponentEquivalent sequenceNr=\"1\">")
        c.data(from: firstFrom, to: nil) { w.element("Content", "1.0000", attributes: [("unit", "mL")]) }
        w.raw("</\(c.x):AmppComponentEquivalent></\(c.x):AmppComponent>\n")
        if addedInSet == nil && rng.chance(0.4) {
            w.raw("<\(c.x):Commercialization>")
            c.data(from: firstFrom, to: nil) { c.text("EndOfCommercialization", fr: "-", nl: "-") }
            w.raw("</\(c.x):Commercialization>\n")
        }
        if addedInSet == nil && rng.chance(0.02) {
            w.raw("<\(c.x):SupplyProblem>")
            c.data(from: date(20_400 + i % 300), to: date(20_500 + i % 300)) {
                c.text("Reason", fr: "Problèmes de production", nl: "Productieproblemen", en: "Production problems")
            }
            w.raw("</\(c.x):SupplyProblem>\n")
        }
        // DMPPs: P always (unless withdrawn); A/H pairs share another CNK with different prices.
        let withdrawn = plan.withdraw[i] != nil && j == 0
        // Each DMPP draws from its own stream, so withdrawing one leaves the others byte-identical.
        var dmppRandom = SeededRandom(seed: config.seed, stream: 6, index: i * 64 + j)
        let hasHospitalPair = addedInSet == nil && rng.chance(0.3)
        if !withdrawn {
            writeDmpp(
                c, env: "P", code: cnk(i, j, public: true), price: price * 1.6, rng: &dmppRandom,
                futureSet: j == 0 ? plan.futurePrice[i] : nil, added: addedInSet)
        }
        if hasHospitalPair {
            let hospital = cnk(i, j, public: false)
            var aRandom = SeededRandom(seed: config.seed, stream: 8, index: i * 64 + j)
            var hRandom = SeededRandom(seed: config.seed, stream: 9, index: i * 64 + j)
            writeDmpp(c, env: "A", code: hospital, price: price * 1.1, rng: &aRandom, futureSet: nil, added: nil)
            writeDmpp(c, env: "H", code: hospital, price: price * 1.05, rng: &hRandom, futureSet: nil, added: nil)
        }
        w.raw("</\(c.x):Ampp>\n")
    }

    func writeDmpp(
        _ c: FileContext, env: String, code: String, price: Double, rng: inout SeededRandom, futureSet: Int?,
        added: Int?
    ) {
        let w = c.w
        w.raw(
            "<\(c.x):Dmpp ProductId=\"P\(code)\(env)\" deliveryEnvironment=\"\(env)\" code=\"\(code)\" codeType=\"CNK\">\n"
        )
        var slices: [(String, String?, Double)] = []
        if let added {
            slices.append((date(20_819 + added * 7), nil, price))
        } else {
            let start = rng.int(12_000...19_000)
            let split = start + rng.int(100...1_500)
            if rng.chance(0.9) { slices.append((date(start), date(split), price * 0.97)) }
            slices.append((date(split + 1), nil, price))
            if rng.chance(0.1) {  // a price change announced for the future
                slices[slices.count - 1].1 = date(20_850 - 1)
                slices.append((date(20_850), nil, price * 1.02))
            }
        }
        if let futureSet {
            let from = max(20_819 + futureSet * 7 + 40, LocalDate(iso: slices[slices.count - 1].0)!.dayNumber + 1)
            slices[slices.count - 1].1 = date(from - 1)
            slices.append((date(from), nil, slices[slices.count - 1].2 * 1.05))
        }
        rng.shuffle(&slices)
        for (from, to, p) in slices {
            c.data(from: from, to: to) {
                w.element("Price", String(format: "%.4f", p))
                if env == "P" {
                    w.element("Cheap", "false")
                    w.element("Cheapest", "true")
                }
                w.element("Reimbursable", "true")
            }
        }
        w.raw("</\(c.x):Dmpp>\n")
    }

    func writeReferences(_ c: FileContext) {
        // Reference tables are refdata elements (the file's default namespace), without Data slices.
        let w = c.w
        for code in Self.atcCodes {
            w.raw("<AtcClassification code=\"\(code)\">")
            w.element("Description", "Substance \(code)")
            w.raw("</AtcClassification>\n")
        }
        for (code, fr, nl) in [
            ("M1", "Prescription médicale", "Medisch voorschrift"), ("M0", "Sans prescription", "Zonder voorschrift"),
            ("M3 + M4", "Prescription médicale", "Medisch voorschrift"),
        ] {
            w.raw("<DeliveryModus code=\"\(code)\">")
            c.text("Description", fr: fr, nl: nl)
            w.raw("</DeliveryModus>\n")
        }
        for form in Self.forms {
            w.raw("<PharmaceuticalForm code=\"\(form.2)\">")
            c.text("Name", fr: form.0, nl: form.1, en: form.4)
            w.raw("</PharmaceuticalForm>\n")
        }
        for (index, route) in Self.routes.enumerated() {
            w.raw("<RouteOfAdministration code=\"R\(index)\">")
            c.text("Name", fr: route.0, nl: route.1, en: route.3)
            w.raw("</RouteOfAdministration>\n")
        }
        for s in 0..<substanceCount {
            let english = Self.substanceName(s)
            w.raw("<Substance code=\"\(s + 1)\">")
            c.text("Name", fr: english, nl: english, en: english)
            w.element("Type", "ACTIVE_SUBSTANCE")
            w.raw("</Substance>\n")
        }
        // The EDQM standard terms of forms and routes, as the REF file links them.
        for form in Self.forms {
            guard let edqm = form.3 else { continue }
            w.raw("<StandardForm standard=\"EDQM\" code=\"\(edqm)\">")
            c.text("Name", fr: form.4, nl: form.4, en: form.4)
            w.raw("<PharmaceuticalForm code=\"\(form.2)\"/></StandardForm>\n")
        }
        for (index, route) in Self.routes.enumerated() {
            guard let edqm = route.2 else { continue }
            w.raw("<StandardRoute standard=\"EDQM\" code=\"\(edqm)\">")
            c.text("Name", fr: route.3, nl: route.3, en: route.3)
            w.raw("<RouteOfAdministration code=\"R\(index)\"/></StandardRoute>\n")
        }
    }

    /// A route of administration as an export element with its reference data inline (name, and
    /// the EDQM standard term when it has one and `standardTerm`).
    func writeInlineRoute(_ c: FileContext, _ index: Int, standardTerm: Bool = true) {
        let w = c.w
        let r = c.refdata.map { $0 + ":" } ?? ""
        let route = Self.routes[index]
        w.raw("<\(c.x):RouteOfAdministration code=\"R\(index)\">")
        c.text("\(r)Name", fr: route.0, nl: route.1, en: route.3)
        if standardTerm, let edqm = route.2 {
            w.raw("<\(c.x):StandardRoute standard=\"EDQM\" code=\"\(edqm)\"/>")
        }
        w.raw("</\(c.x):RouteOfAdministration>")
    }

    /// A substance as an export element with its reference data inline (name, type).
    func writeInlineSubstance(_ c: FileContext, _ index: Int) {
        let w = c.w
        let r = c.refdata.map { $0 + ":" } ?? ""
        let name = Self.substanceName(index)
        w.raw("<\(c.x):Substance code=\"\(index + 1)\">")
        c.text("\(r)Name", fr: name, nl: name, en: name)
        w.element("\(r)Type", "ACTIVE_SUBSTANCE")
        w.raw("</\(c.x):Substance>")
    }

    /// Virtual forms (the VMP file's own table: code, abbreviations and names FR/NL).
    static let virtualForms:
        [(code: String, abbreviationFr: String, abbreviationNl: String, nameFr: String, nameNl: String)] = [
            ("70", "sol.", "oploss.", "solution buvable", "oplossing voor oraal gebruik"),
            ("11", "compr.", "tabl.", "comprimé", "tablet"), ("20", "gél.", "caps.", "gélule", "capsule"),
            ("55", "sol. inj.", "inj. opl.", "solution injectable", "oplossing voor injectie"),
            ("62", "pommade", "zalf", "pommade", "zalf"),
        ]

    func writeVirtual(_ c: FileContext) {
        let w = c.w
        let v = c.virtual.map { $0 + ":" } ?? ""
        let r = c.refdata.map { $0 + ":" } ?? ""
        for t in 0..<vtmCount {
            w.raw("<\(c.x):Vtm code=\"\(t + 1)\">")
            c.data(from: "2016-10-01", to: nil) { c.text("\(v)Name", fr: "molécule \(t + 1)", nl: "molecule \(t + 1)") }
            w.raw("</\(c.x):Vtm>\n")
        }
        for g in 0..<vmpGroupCount {
            w.raw("<\(c.x):VmpGroup code=\"\(g + 1)\" ProductId=\"G\(g + 1)\">")
            c.data(from: "2016-10-01", to: nil) { c.text("\(v)Name", fr: "Groupe \(g + 1)", nl: "Groep \(g + 1)") }
            w.raw("</\(c.x):VmpGroup>\n")
        }
        for k in 0..<max(2, vmpGroupCount / 50) {
            w.raw("<\(c.x):CommentedClassification code=\"CC\(k + 1)\">")
            c.data(from: "2016-10-01", to: nil) {
                c.text("\(v)Title", fr: "Classe \(k + 1)", nl: "Klasse \(k + 1)")
                c.text("\(v)PosologyNote", fr: "/", nl: "/")
                c.text(
                    "\(v)Url", fr: "http://www.cbip.be/fr/chapters/\(k + 1)",
                    nl: "http://www.bcfi.be/nl/chapters/\(k + 1)")
            }
            w.raw("</\(c.x):CommentedClassification>\n")
        }
        for m in 0..<vmpCount {
            var rng = SeededRandom(seed: config.seed, stream: 5, index: m)
            w.raw("<\(c.x):Vmp code=\"\(m + 1)\">\n")
            c.data(from: "2016-10-01", to: rng.chance(0.1) ? "2019-09-15" : nil) {
                c.text("\(v)Name", fr: "Générique \(m + 1)", nl: "Generiek \(m + 1)")
                c.text("\(v)Abbreviation", fr: "Gén. \(m + 1)", nl: "Gen. \(m + 1)")
                w.raw("<\(c.x):VmpGroup code=\"\(m % vmpGroupCount + 1)\" ProductId=\"G\(m % vmpGroupCount + 1)\">")
                c.data(from: "2016-10-01", to: nil) {
                    c.text("\(v)Name", fr: "Groupe \(m % vmpGroupCount + 1)", nl: "Groep \(m % vmpGroupCount + 1)")
                }
                w.raw("</\(c.x):VmpGroup>")
                w.raw("<\(c.x):Vtm code=\"\(m % vtmCount + 1)\">")
                c.data(from: "2016-10-01", to: nil) {
                    c.text("\(v)Name", fr: "molécule \(m % vtmCount + 1)", nl: "molecule \(m % vtmCount + 1)")
                }
                w.raw("</\(c.x):Vtm>")
            }
            w.raw("<\(c.x):VmpComponent code=\"\(m + 1)\">")
            // The component's virtual form and route, and the ingredient's substance, with their
            // reference data inline (as in the real VMP file).
            let form = Self.virtualForms[m % Self.virtualForms.count]
            c.data(from: "2016-10-01", to: nil) {
                w.element("\(v)PhaseNumber", "1")
                c.text("\(v)Name", fr: "Générique \(m + 1)", nl: "Generiek \(m + 1)")
                w.raw("<\(c.x):VirtualForm code=\"\(form.code)\">")
                c.text("\(r)Abbreviation", fr: form.abbreviationFr, nl: form.abbreviationNl)
                c.text("\(r)Name", fr: form.nameFr, nl: form.nameNl)
                w.raw("</\(c.x):VirtualForm>")
                writeInlineRoute(c, m % Self.routes.count)
            }
            w.raw("<\(c.x):VirtualIngredient rank=\"1\">")
            c.data(from: "2016-10-01", to: nil) {
                w.element("\(v)Type", "ACTIVE_SUBSTANCE")
                writeInlineSubstance(c, m % substanceCount)
            }
            w.raw("</\(c.x):VirtualIngredient></\(c.x):VmpComponent>\n</\(c.x):Vmp>\n")
        }
        for d in 0..<max(2, vmpCount / 20) {
            w.raw("<\(c.x):StandardDosage code=\"\(d + 1)\">")
            c.data(from: "2016-10-01", to: nil) {
                w.element("\(v)TargetGroup", "ADULT")
                w.element("\(v)TreatmentDurationType", ["CHRONIC", "TEMPORARY", "IF_NECESSARY"][d % 3])
                w.raw("<\(c.x):Indication code=\"\(d % 40 + 1)\">")
                c.text("\(r)Name", fr: "Indication \(d % 40 + 1)", nl: "Indicatie \(d % 40 + 1)")
                w.raw("</\(c.x):Indication>")
                writeInlineRoute(c, d % Self.routes.count, standardTerm: false)
            }
            w.raw("</\(c.x):StandardDosage>\n")
        }
    }

    func writeReimbursements(_ c: FileContext, plan: ChangePlan) {
        let w = c.w
        var written = 0
        for i in 0..<ampCount where i % 5 == 0 {
            let code = cnk(i, 0, public: true)
            w.raw(
                "<\(c.x):ReimbursementContext deliveryEnvironment=\"P\" code=\"\(code)\" codeType=\"CNK\" legalReferencePath=\"RD20180201-IV-\(i % 900 + 1)\">\n"
            )
            c.data(from: "2020-01-01", to: nil) {
                writeReimbursementFields(
                    c, multiple: i % 3 == 0 ? "V" : "M", temporary: i % 17 == 0,
                    price: Double(i % 4000) / 10 + 1, criterion: ("B", "\(i % 900 + 1)"))
            }
            for regime in ["1", "2"] {
                w.raw("<\(c.x):Copayment regimeType=\"\(regime)\">")
                c.data(from: "2020-01-01", to: nil) { w.element("FeeAmount", regime == "1" ? "4.50" : "9.90") }
                w.raw("</\(c.x):Copayment>\n")
            }
            w.raw("</\(c.x):ReimbursementContext>\n")
            written += 1
        }
        // Real exports contain contexts for DMPPs the AMP file does not list.
        for k in 0..<max(1, written / 200) {
            w.raw(
                "<\(c.x):ReimbursementContext deliveryEnvironment=\"P\" code=\"\(String(format: "%07d", 9_900_000 + k))\" codeType=\"CNK\" legalReferencePath=\"RD20180201-IV-1\">"
            )
            c.data(from: "2020-01-01", to: nil) {
                writeReimbursementFields(c, multiple: "M", temporary: false, price: 10, criterion: ("B", "1"))
            }
            w.raw("</\(c.x):ReimbursementContext>\n")
        }
    }

    /// A reimbursement context's slice in the XSD's order: the flags (Temporary, Reference and
    /// FlatRateSystem are required), prices, pricing unit, then the criterion (an export element).
    func writeReimbursementFields(
        _ c: FileContext, multiple: String, temporary: Bool, price: Double, criterion: (String, String)
    ) {
        let w = c.w
        let r = c.refdata.map { $0 + ":" } ?? ""
        w.element("Multiple", multiple)
        w.element("Temporary", temporary ? "true" : "false")
        w.element("Reference", "true")
        w.element("FlatRateSystem", "false")
        w.element("ReimbursementBasePrice", String(format: "%.2f", price))
        w.element("ReferenceBasePrice", String(format: "%.2f", price))
        w.raw("<PricingUnit>")
        w.element("Quantity", "1")
        c.text("Label", fr: "Conditionnement", nl: "Verpakking")
        w.raw("</PricingUnit>")
        w.raw("<\(c.x):ReimbursementCriterion category=\"\(criterion.0)\" code=\"\(criterion.1)\">")
        c.text("\(r)Description", fr: "Catégorie \(criterion.0)", nl: "Categorie \(criterion.0)")
        w.raw("</\(c.x):ReimbursementCriterion>")
    }

    func writeLaws(_ c: FileContext) {
        let w = c.w
        w.raw("<\(c.x):LegalBasis key=\"RD20180201\">")
        c.data(from: "2018-02-01", to: nil) {
            c.text("Title", fr: "Arrêté royal du 1er février 2018", nl: "Koninklijk besluit van 1 februari 2018")
            w.element("Type", "ROYAL_DECREE")
        }
        for k in 0..<max(2, paragraphCount / 10) {
            w.raw("<\(c.x):LegalReference key=\"IV\(k + 1)\">")
            c.data(from: "2018-02-01", to: nil) {
                c.text("Title", fr: "Chapitre IV, \(k + 1)", nl: "Hoofdstuk IV, \(k + 1)")
                w.element("Type", "CHAPTER")
                w.element("FirstPublishedOn", "2018-02-01")
            }
            w.raw("</\(c.x):LegalReference>\n")
        }
        w.raw("</\(c.x):LegalBasis>\n")
    }

    func writeChapterIV(_ c: FileContext) {
        let w = c.w
        for k in 0..<paragraphCount {
            w.raw("<\(c.x):Paragraph ChapterName=\"IV\" ParagraphName=\"\(k + 1)\">")
            c.data(from: "2014-03-01", to: "2018-03-31") {
                w.element("KeyStringNl", "aandoening \(k + 1)")
                w.element("KeyStringFr", "affection \(k + 1)")
                w.element("ParagraphVersion", "1")
            }
            c.data(from: "2018-04-01", to: nil) {
                w.element("KeyStringNl", "aandoening \(k + 1)")
                w.element("KeyStringFr", "affection \(k + 1)")
                w.element("ParagraphVersion", "2")
            }
            w.raw("<\(c.x):Verse VerseSeq=\"1\">")
            c.data(from: "2014-03-01", to: nil) {
                w.element("VerseNum", "1")
                w.element("VerseSeqParent", "0")
                w.element("VerseLevel", "1")
                w.element("CheckBoxInd", "false")
                w.element("TextFr", "Le médicament est remboursé si…")
                w.element("TextNl", "Het geneesmiddel wordt vergoed als…")
            }
            w.raw("</\(c.x):Verse></\(c.x):Paragraph>\n")
        }
    }

    func writeCompounding(_ c: FileContext) {
        let w = c.w
        for k in 0..<compoundingCount {
            w.raw(
                "<\(c.x):CompoundingIngredient codeType=\"CNK\" code=\"\(String(format: "%07d", 8_000_000 + k))\" ProductId=\"C\(k)\">"
            )
            // Synonyms are plain text, one element per language.
            c.data(from: "2015-01-01", to: nil) {
                w.element("Synonym", "ingrédient \(k + 1)", attributes: [("xml:lang", "fr")])
                w.element("Synonym", "ingrediënt \(k + 1)", attributes: [("xml:lang", "nl")])
            }
            w.raw("</\(c.x):CompoundingIngredient>\n")
        }
        for k in 0..<max(2, compoundingCount / 5) {
            w.raw(
                "<\(c.x):CompoundingFormula codeType=\"CNK\" code=\"\(String(format: "%07d", 8_500_000 + k))\" ProductId=\"F\(k)\">"
            )
            c.data(from: "2015-01-01", to: nil) {
                w.element("Synonym", "formule \(k + 1)", attributes: [("xml:lang", "fr")])
                w.element("Synonym", "formule \(k + 1)", attributes: [("xml:lang", "nl")])
            }
            w.raw("</\(c.x):CompoundingFormula>\n")
        }
    }

    func writeNonMedicinal(_ c: FileContext) {
        let w = c.w
        for k in 0..<nonMedicinalCount {
            w.raw(
                "<\(c.x):NonMedicinalProduct code=\"\(String(format: "%07d", 3_000_000 + k))\" ProductId=\"N\(k)\">"
            )
            c.data(from: "2012-01-01", to: nil) {
                c.text("Name", fr: "produit \(k + 1)", nl: "product \(k + 1)")
                w.element("Category", "H")
                w.element("CommercialStatus", k % 10 == 0 ? "S" : "M")
                c.text("Producer", fr: "Producteur \(k % 300)", nl: "Producent \(k % 300)")
            }
            w.raw("</\(c.x):NonMedicinalProduct>\n")
        }
    }
}
