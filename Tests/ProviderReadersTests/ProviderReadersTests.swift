import Foundation
import ProviderReaders
import RegistryCore
import Testing
import XMLStreaming

/// Pure logic of the healthcare-actor importers: identifiers, per-record rules, the merge.
struct HealthcareIdentifierTests {
    /// 97 - (first six digits mod 97), written out independently of NIHII.
    static func checkDigits(_ text: String) -> String {
        String(format: "%02d", 97 - Int(text.prefix(6))! % 97)
    }

    @Test func nihiiNumbersHaveElevenDigitsForPeopleAndEightForOrganisations() {
        #expect(NIHII("1-00001-96-000")?.kind == .person)
        #expect(NIHII("71000436")?.kind == .organisation)
        #expect(NIHII("1000019600") == nil)
        #expect(NIHII("1000019600a") == nil)
        #expect(NIHII("10000196000")?.professionDigit == "1")
        #expect(NIHII("71000436")?.professionDigit == nil)
    }

    @Test func nihiiCheckDigitsFollowTheMod97Rule() {
        for body in [100001, 300005, 412345, 599999, 710004] {
            let text = String(body) + Self.checkDigits(String(body)) + "004"
            #expect(NIHII(text)?.checkDigitsValid == true, "\(text)")
            let wrong = String(body) + String(format: "%02d", (Int(Self.checkDigits(String(body)))! + 1) % 100) + "004"
            #expect(NIHII(wrong)?.checkDigitsValid == false, "\(wrong)")
            #expect(NIHII.person(professionDigit: body / 100_000, number: body % 100_000, competence: 4).digits == text)
        }
    }

    @Test func theProfessionDigitTableComesFromTheMappings() {
        let catalog = ProfessionCatalog.bundled
        #expect(catalog.nihiiDigits["persphysician"] == ["1"])
        #expect(catalog.digitMatches(NIHII("10000196000")!, profession: "persphysician"))
        #expect(!catalog.digitMatches(NIHII("40000196000")!, profession: "persphysician"))
        // A profession absent from the table is not checked.
        #expect(catalog.digitMatches(NIHII("90000196000")!, profession: "perspharmacist"))
        #expect(catalog.entries["persnurse"]?.labels["nl"] == "verpleegkundige")
        #expect(catalog.isOrganisationType("orghospital"))
        #expect(!catalog.isProfession("orghospital"))
    }

    @Test func ehpNumbersAreTenDigits() {
        #expect(EHPNumber("1990001234")?.digits == "1990001234")
        #expect(EHPNumber("199000123") == nil)
    }

    @Test func csvFieldsKeepQuotedCommasAndEscapedQuotes() {
        #expect(CSVLine.fields(#"a,"b, c","say ""hi""",,e"#) == ["a", "b, c", #"say "hi""#, "", "e"])
        #expect(CSVLine.fields("\"\"\"\"") == ["\""])
        #expect(CSVLine.fields(#""","x""#) == ["", "x"])
    }
}

struct CoBRHAMapperTests {
    static let ns = "urn:be:registry:cobrha:snapshot:1"

    /// Maps the first actor of a snapshot holding `body`, as the reader would.
    static func map(_ body: String) throws -> (fact: ActorFact?, rejectedKey: String?, findings: [QualityFinding]) {
        let xml =
            "<CoBRHASnapshot xmlns=\"\(ns)\" source=\"FPS-HEALTH\" snapshotId=\"t\" created=\"2026-11-27T00:00:00Z\">\(body)</CoBRHASnapshot>"
        let parser = XMLStreamParser(fileName: "t.xml")
        var node: XMLElementNode?
        parser.onEntity = { node = $0 }
        parser.feed(Array(xml.utf8))
        parser.finish()
        let element = try #require(node)
        let mapper = CoBRHAActorMapper(today: LocalDate(iso: "2026-11-27")!)
        var findings: [QualityFinding] = []
        let (fact, key) =
            element.name == "HealthCareProfessional"
            ? mapper.professional(element, source: "FPS-HEALTH", file: "t.xml", findings: &findings)
            : mapper.organisation(element, source: "FPS-HEALTH", file: "t.xml", findings: &findings)
        return (fact, key, findings)
    }

    static func person(_ professions: String, extra: String = "") -> String {
        "<HealthCareProfessional><SSIN>85073003328</SSIN><FirstName>Jan</FirstName><LastName>Peeters</LastName>\(extra)\(professions)</HealthCareProfessional>"
    }

    @Test func aValidRecordBecomesAFactKeyedBySSIN() throws {
        let result = try Self.map(
            Self.person(
                "<Profession from=\"2000-01-01\"><ProfessionCode>persphysician</ProfessionCode><NIHII>10000106004</NIHII></Profession>"
            ))
        #expect(result.findings.isEmpty)
        #expect(result.fact?.key == "85073003328")
        #expect(result.fact?.document["professions"]?[0]?["nihii"]?.stringValue == "10000106004")
    }

    @Test func eachRuleIsReportedWithItsIdAndLine() throws {
        let cases: [(String, String, Bool)] = [
            // (profession XML, expected rule, record rejected)
            (
                "<Profession from=\"2000-01-01\"><ProfessionCode>persphysician</ProfessionCode><NIHII>40000196004</NIHII></Profession>",
                "COBRHA-NIHII-PROFESSION", true
            ),
            (
                "<Profession from=\"2000-01-01\"><ProfessionCode>persphysician</ProfessionCode><NIHII>10000197004</NIHII></Profession>",
                "COBRHA-NIHII-CHECK", false
            ),
            (
                "<Profession from=\"2000-01-01\"><ProfessionCode>persphysician</ProfessionCode><NIHII>1000019600</NIHII></Profession>",
                "COBRHA-NIHII", true
            ),
            (
                "<Profession from=\"2010-01-01\" to=\"2001-01-01\"><ProfessionCode>persphysician</ProfessionCode></Profession>",
                "COBRHA-PERIOD", true
            ),
            (
                "<Profession from=\"2000-01-01\" to=\"2010-12-31\"><ProfessionCode>persnurse</ProfessionCode></Profession><Profession from=\"2010-06-01\"><ProfessionCode>persnurse</ProfessionCode></Profession>",
                "COBRHA-PERIOD-OVERLAP", true
            ),
            (
                "<Profession from=\"2000-01-01\"><ProfessionCode>wizard</ProfessionCode></Profession>",
                "COBRHA-PROFESSION", true
            ),
            (
                "<Profession from=\"2000-13-01\"><ProfessionCode>persnurse</ProfessionCode></Profession>",
                "COBRHA-DATE", true
            ),
        ]
        for (xml, rule, rejected) in cases {
            let result = try Self.map(Self.person(xml))
            #expect(result.findings.map(\.rule).contains(rule), "\(rule): \(result.findings)")
            #expect((result.fact == nil) == rejected, "\(rule)")
            #expect(result.findings.allSatisfy { $0.line != nil && $0.file == "t.xml" })
        }
        // Non-overlapping periods of one profession are fine.
        let sequential = try Self.map(
            Self.person(
                "<Profession from=\"2000-01-01\" to=\"2009-12-31\"><ProfessionCode>persnurse</ProfessionCode></Profession><Profession from=\"2010-01-01\"><ProfessionCode>persnurse</ProfessionCode></Profession>"
            ))
        #expect(sequential.findings.isEmpty)
    }

    @Test func identityRulesNeverRevealTheSSIN() throws {
        let bad = try Self.map(
            "<HealthCareProfessional><SSIN>85073003329</SSIN><FirstName>A</FirstName><LastName>B</LastName></HealthCareProfessional>"
        )
        #expect(bad.findings.map(\.rule) == ["COBRHA-SSIN"])
        #expect(!bad.findings[0].description.contains("85073003329"))
        let deceased = try Self.map(
            Self.person(
                "<Profession from=\"2000-01-01\"><ProfessionCode>persnurse</ProfessionCode></Profession>",
                extra: "<BirthDate>1950-01-01</BirthDate><DeathDate>2020-02-02</DeathDate>"))
        #expect(deceased.findings.map(\.rule) == ["COBRHA-DECEASED-ACTIVE"])
        #expect(deceased.fact != nil)
        let noName = try Self.map(
            "<HealthCareProfessional><SSIN>85073003328</SSIN><FirstName>A</FirstName><LastName/></HealthCareProfessional>"
        )
        #expect(noName.findings.map(\.rule) == ["COBRHA-NAME"])
        #expect(noName.rejectedKey == "85073003328")
    }

    @Test func organisationsNeedAValidIdentifierAndAFrenchOrDutchName() throws {
        let good = try Self.map(
            "<HealthCareOrganization><Identifier scheme=\"cbe\">0403019261</Identifier><Type>orghospital</Type><Name xml:lang=\"nl\">Ziekenhuis</Name><Address><Street xml:lang=\"nl\">Straat</Street><PostalCode>9000</PostalCode><Municipality xml:lang=\"nl\">Gent</Municipality><Latitude>60.0</Latitude><Longitude>3.7</Longitude></Address></HealthCareOrganization>"
        )
        #expect(good.fact?.key == "cbe:0403019261")
        // Coordinates outside Belgium are dropped for the postcode centroid, with a warning.
        #expect(good.findings.map(\.rule) == ["COBRHA-GEO-BELGIUM"])
        #expect(good.fact?.document["position"]?["from"]?.stringValue == "postcode-centroid")
        let badCBE = try Self.map(
            "<HealthCareOrganization><Identifier scheme=\"cbe\">0431150351</Identifier><Type>orghospital</Type><Name xml:lang=\"nl\">X</Name></HealthCareOrganization>"
        )
        #expect(badCBE.fact == nil)
        #expect(badCBE.findings.map(\.rule) == ["COBRHA-ORG-ID"])
        let germanOnly = try Self.map(
            "<HealthCareOrganization><Identifier scheme=\"nihii\">71000436</Identifier><Type>orghospital</Type><Name xml:lang=\"de\">Klinik</Name></HealthCareOrganization>"
        )
        #expect(germanOnly.fact == nil)
        #expect(germanOnly.findings.map(\.rule).contains("COBRHA-ORG-NAME"))
    }
}

struct ActorMergeTests {
    static func fact(_ json: String) -> JSONValue { try! JSONValue.parse(json) }

    @Test func identityFollowsPrecedenceAndProfessionsAreMergedByCodeAndPeriod() {
        let riziv = Self.fact(
            #"{"firstName":"Jan","lastName":"Peters","languages":[],"professions":[{"code":"persphysician","assertedBy":"RIZIV-INAMI","from":"2006-01-01","nihii":"10000196004","specialities":[{"code":"persgeneralphysician","from":"2010-01-01"}],"licences":[]}]}"#
        )
        let fps = Self.fact(
            #"{"firstName":"Jan","lastName":"Peeters","gender":"M","languages":["nl"],"professions":[{"code":"persphysician","assertedBy":"FPS-HEALTH","from":"2005-09-01","specialities":[],"licences":[{"kind":"visa","status":"ACTIVE","from":"2005-09-01"}]},{"code":"persnurse","assertedBy":"FPS-HEALTH","from":"1990-01-01","to":"1999-12-31","specialities":[],"licences":[]}]}"#
        )
        let other = Self.fact(#"{"firstName":"J","lastName":"P","birthDate":"1985-07-30","professions":[]}"#)
        let merged = ActorMerge.professional([("ZZ-LOCAL", other), ("RIZIV-INAMI", riziv), ("FPS-HEALTH", fps)])
        #expect(merged["lastName"]?.stringValue == "Peeters")
        #expect(merged["identitySource"]?.stringValue == "FPS-HEALTH")
        #expect(merged["sources"] == .array([.string("FPS-HEALTH"), .string("RIZIV-INAMI"), .string("ZZ-LOCAL")]))
        // A field the leading source lacks comes from the next source that has it.
        #expect(merged["birthDate"]?.stringValue == "1985-07-30")
        guard case .array(let professions)? = merged["professions"] else {
            Issue.record("no professions")
            return
        }
        #expect(professions.compactMap { $0["code"]?.stringValue } == ["persnurse", "persphysician"])
        let physician = professions[1]
        #expect(physician["sources"] == .array([.string("FPS-HEALTH"), .string("RIZIV-INAMI")]))
        #expect(physician["nihii"]?.stringValue == "10000196004")
        #expect(physician["nihiiSource"]?.stringValue == "RIZIV-INAMI")
        #expect(physician["from"]?.stringValue == "2005-09-01")
        #expect(physician["specialities"]?[0]?["source"]?.stringValue == "RIZIV-INAMI")
        #expect(physician["licences"]?[0]?["source"]?.stringValue == "FPS-HEALTH")
        #expect(professions[0]["sources"] == .array([.string("FPS-HEALTH")]))
    }

    @Test func institutionsTakeIdentifiersFromEverySource() {
        let a = Self.fact(#"{"kind":"orghospital","name":{"fr":"A"},"identifiers":{"nihii":"71000436"}}"#)
        let b = Self.fact(
            #"{"kind":"orghospital","name":{"fr":"B"},"identifiers":{"nihii":"71000436","ehp":"1990001234"}}"#)
        let merged = ActorMerge.institution([("OTHER", b), ("RIZIV-INAMI", a)])
        #expect(merged["name"]?["fr"]?.stringValue == "A")
        #expect(merged["identifiers"]?["ehp"]?.stringValue == "1990001234")
        #expect(merged["sources"] == .array([.string("RIZIV-INAMI"), .string("OTHER")]))
    }
}
