import DatabaseTestSupport
import Foundation
import TestDataGenerators
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import SAMReaders
import SharedSamples
import Testing

/// The IDMP view of AMP and AMPP lookups and `/v1/mappings/coverage`, on a generated export with
/// small RMS and SMS lists written here. Expectations come from the generator's own tables (which
/// SAM form and route codes carry which EDQM term) and from the lists below, never from the code
/// under test.
@Suite(.timeLimit(.minutes(5)))
struct IDMPMappingTests {
    /// Dose forms and routes by EDQM code (the rectal route 20061000 is left out: "not in RMS").
    static let doseFormTerms = [
        "10219000": "900000000001", "11201000": "900000000002", "10210000": "900000000003", "10117000": "900000000004",
    ]
    static let routeTerms = [
        "20053000": "900000000011", "20045000": "900000000012", "20035000": "900000000013",
        "20003000": "900000000014", "20066000": "900000000015",
    ]
    static let milligramTerm = "900000000021"

    static func rmsExport() throws -> String {
        var lines = [
            "List ID,Term ID,Language,Term Name,Term Status,Current Term ID,Mapping Source ID,Mapping Source Term ID,Is Main Term Source"
        ]
        for (edqm, term) in doseFormTerms.sorted(by: { $0.key < $1.key }) {
            lines.append("200000000004,\(term),en,Form \(edqm),CURRENT,,100000073361,\(edqm),Y")
        }
        for (edqm, term) in routeTerms.sorted(by: { $0.key < $1.key }) {
            lines.append("100000073345,\(term),en,Route \(edqm),CURRENT,,100000073361,\(edqm),Y")
        }
        lines.append("100000110633,\(milligramTerm),en,milligram(s),CURRENT,,100000169812,mg,N")
        let dir = try TestDatabase.temporaryDirectory()
        for list in ["200000000004", "100000073345", "100000110633"] {
            let rows = [lines[0]] + lines.dropFirst().filter { $0.hasPrefix(list) }
            try rows.joined(separator: "\n").write(toFile: "\(dir)/\(list).csv", atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// SMS: every named substance of the generator except Omeprazole; Furosemide twice (ambiguous).
    static let omitted = "Omeprazole"
    static let ambiguous = "Furosemide"

    static func smsList() throws -> (path: String, ids: [String: String]) {
        var lines = ["substance_code,substance_name"]
        var ids: [String: String] = [:]
        for (index, name) in SAMExportGenerator.substanceNames.enumerated() where name != omitted {
            let id = String(100_000_500_000 + index)
            ids[name] = id
            lines.append("\(id),\(name.lowercased())")
            if name == ambiguous { lines.append("\(100_000_600_000 + index),\(name.uppercased())") }
        }
        let path = try TestDatabase.temporaryDirectory() + "/sms.csv"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, ids)
    }

    struct Expected {
        var fullyCoded: Bool
        var reasons: Set<String>
    }

    /// What the lists say about one component as the generator wrote it.
    static func expected(formCode: String?, routeCode: String?, substance: String?) -> Expected {
        var reasons: Set<String> = []
        if let form = SAMExportGenerator.forms.first(where: { $0.2 == formCode }) {
            if let edqm = form.3 {
                if doseFormTerms[edqm] == nil { reasons.insert("dose-form edqm-not-in-rms") }
            } else {
                reasons.insert("dose-form no-edqm-standard")
            }
        }
        if let routeCode, let index = Int(routeCode.dropFirst()) {
            if let edqm = SAMExportGenerator.routes[index].2 {
                if routeTerms[edqm] == nil { reasons.insert("route edqm-not-in-rms") }
            } else {
                reasons.insert("route no-edqm-standard")
            }
        }
        if let substance {
            if substance == ambiguous {
                reasons.insert("substance ambiguous-sms-match")
            } else if !SAMExportGenerator.substanceNames.contains(substance) || substance == omitted {
                reasons.insert("substance no-sms-match")
            }
        }
        return Expected(fullyCoded: reasons.isEmpty, reasons: reasons)
    }

    @Test func ampLookupsCarryTheirIDMPCodesAndCoverageCountsThem() async throws {
        let export = try generatedExport(seed: 5, scale: 0.004)
        let rms = try Self.rmsExport()
        let (sms, smsIds) = try Self.smsList()
        try await APITest.with(importing: [export]) { api, postgres in
            _ = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [rms])
            _ = try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [sms])
            let codes = try await postgres.strings("SELECT entity_key FROM sam_entity WHERE entity_type = 'amp'")
            var checked = 0
            var fullyCoded = 0
            var blockedBy: [String: Int] = [:]
            for code in codes {
                let response = try await api.get("/v1/medicines/amp/\(code)")
                guard response.status == .ok else { continue }  // not valid today
                checked += 1
                let body = response.json
                let idmp = body["idmp"]
                var allCoded = !idmp["components"].array.isEmpty
                var reasons: Set<String> = []
                for (component, coded) in zip(body["components"].array, idmp["components"].array) {
                    let fields = component["fields"]
                    let form = fields["pharmaceuticalForm"]["code"].string
                    let route = fields["routeOfAdministration"]["code"].string
                    let ingredient = component["ingredients"].array.first?["fields"]["substance"]["code"].string
                    let name = ingredient.flatMap(Int.init).map { SAMExportGenerator.substanceName($0 - 1) }
                    let expected = Self.expected(formCode: form, routeCode: route, substance: name)
                    allCoded = allCoded && expected.fullyCoded
                    reasons.formUnion(expected.reasons)

                    // The codes themselves, where they exist.
                    let doseForm = coded["doseForms"].array.first
                    #expect(doseForm?["samCode"].string == form)
                    if let edqm = SAMExportGenerator.forms.first(where: { $0.2 == form })?.3 {
                        #expect(doseForm?["edqmCode"].string == edqm, "\(code)")
                        #expect(doseForm?["rms"]["termId"].string == Self.doseFormTerms[edqm], "\(code)")
                    }
                    if let route, let edqm = SAMExportGenerator.routes[Int(route.dropFirst())!].2,
                        let term = Self.routeTerms[edqm]
                    {
                        #expect(coded["routes"].array.first?["rms"]["termId"].string == term, "\(code)")
                    }
                    let substance = coded["activeIngredients"].array.first
                    if let name, name != Self.ambiguous, let id = smsIds[name] {
                        #expect(substance?["substance"]["sms"]["substanceId"].string == id, "\(code) \(name)")
                    }
                    #expect(substance?["strength"]["unit"].string == "mg")
                    #expect(substance?["strength"]["rms"]["termId"].string == Self.milligramTerm)
                }
                let found = Set(
                    idmp["blockers"].array.map { "\($0["aspect"].string ?? "") \($0["reason"].string ?? "")" })
                #expect(found == reasons, "\(code)")
                #expect(idmp["fullyCoded"].bool == allCoded, "\(code)")
                if allCoded { fullyCoded += 1 }
                for reason in reasons { blockedBy[reason, default: 0] += 1 }
            }
            #expect(checked > 20)
            #expect(fullyCoded > 0 && fullyCoded < checked, "the export has coded and uncoded AMPs")

            let coverage = try await api.get("/v1/mappings/coverage").json
            #expect(coverage["amps"].number == Double(checked))
            #expect(coverage["fullyCodedAmps"].number == Double(fullyCoded))
            #expect(coverage["fullyCodedShare"].number! > 0)
            for reason in coverage["reasons"].array {
                let key = "\(reason["aspect"].string!) \(reason["reason"].string!)"
                #expect(reason["amps"].number == Double(blockedBy[key] ?? -1), "\(key)")
            }
            #expect(coverage["reasons"].array.count == blockedBy.count)
            // The rectal route is blocked because RMS lacks its EDQM term, and says so.
            let rectal = coverage["blockers"].array.first { $0["code"].string == "R5" }
            #expect(rectal?["reason"].string == "edqm-not-in-rms")
            #expect(rectal?["detail"].string?.contains("20061000") == true)

            // The AMPP lookup adds its packaging (EDQM 30001000 "Ampoule"; no RMS packaging list imported).
            let cti = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'ampp' ORDER BY entity_key")
            var packs = 0
            for key in cti.prefix(15) {
                let ampp = try await api.get("/v1/medicines/ampp/\(key)")
                guard ampp.status == .ok, !ampp.json["idmp"]["packaging"].array.isEmpty else { continue }
                packs += 1
                let packaging = ampp.json["idmp"]["packaging"].array[0]
                #expect(packaging["edqmCode"].string == "30001000")
                #expect(packaging["blocker"]["reason"].string == "edqm-not-in-rms")
                #expect(ampp.json["idmp"]["fullyCoded"].bool == false)
            }
            #expect(packs > 0)
        }
    }

    @Test func coverageRefusesBadParameters() async throws {
        try await APITest.with(importing: []) { api, _ in
            for uri in [
                "/v1/mappings/coverage?at=yesterday", "/v1/mappings/coverage?limit=0", "/v1/mappings/coverage?x=1",
            ] {
                let response = try await api.get(uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            let empty = try await api.get("/v1/mappings/coverage").json
            #expect(empty["amps"].number == 0)
            #expect(empty["fullyCodedShare"].number == 0)
        }
    }

    /// The real Haldol AMP with the real RMS exports and SMS extract: the substance and unit are
    /// coded; its form and routes are not, because SAM gives them no EDQM standard term (the
    /// fragment's routes have SNOMED CT codes only) and the fragment has no REF file.
    @Test(
        .enabled(
            if: SharedSamples.available && SPORSamples.available, "../shared reference samples are not present"))
    func realHaldolWithRealSPORData() async throws {
        let dir = try TestDatabase.temporaryDirectory()
        try SharedSamples.haldolExport().write(toFile: "\(dir)/AMP-real.xml", atomically: true, encoding: .utf8)
        try await APITest.with(importing: ["\(dir)/AMP-real.xml"]) { api, postgres in
            _ = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [
                SPORSamples.exports
            ])
            _ = try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [
                SPORSamples.directory.appendingPathComponent("sms-substances/substance.csv").path
            ])
            let idmp = try await api.get("/v1/medicines/amp/SAM000025-00?at=2023-01-01").json["idmp"]
            let ingredient = idmp["components"].array.first?["activeIngredients"].array.first
            // substance.csv: "100000092645,haloperidol,,"
            #expect(ingredient?["substance"]["sms"]["substanceId"].string == "100000092645")
            // derived/rms_en_terms_with_source_codes.csv: 100000110686 milligram(s)/millilitre, UCUM mg/mL.
            #expect(ingredient?["strength"]["rms"]["termId"].string == "100000110686")
            #expect(ingredient?["strength"]["value"].string == "5.0000")
            let reasons = Set(
                idmp["blockers"].array.map { "\($0["aspect"].string!) \($0["code"].string!) \($0["reason"].string!)" })
            #expect(reasons == ["dose-form 306 no-edqm-standard", "route 38 no-edqm-standard"])
            #expect(idmp["fullyCoded"].bool == false)
        }
    }
}
