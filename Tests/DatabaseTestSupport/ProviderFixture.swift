import Foundation

/// Small CoBRHA snapshots and practice registers written by hand for tests: identifiers are
/// computed here with the published rules, independently of the registry's own validators.
package enum ProviderFixture {
    package struct Person: Sendable {
        package var ssin: String
        package var first: String
        package var last: String
        package var profession: String
        package var nihii: String
        package var birth = "1980-05-17"
        package var death: String?
        package var speciality: String?

        package init(
            ssin: String, first: String, last: String, profession: String, nihii: String, speciality: String? = nil
        ) {
            self.ssin = ssin
            self.first = first
            self.last = last
            self.profession = profession
            self.nihii = nihii
            self.speciality = speciality
        }
    }

    /// An SSIN born before 2000: YYMMDD + serial + 97 - (nine digits mod 97).
    package static func ssin(_ yymmdd: String, serial: Int) -> String {
        let body = yymmdd + String(format: "%03d", serial)
        return body + String(format: "%02d", 97 - Int(body)! % 97)
    }

    /// A person's NIHII: digit + 5 digits + 97 - (first six mod 97) + competence.
    package static func nihii(digit: Int, number: Int, competence: String = "000") -> String {
        let body = String(digit) + String(format: "%05d", number)
        return body + String(format: "%02d", 97 - Int(body)! % 97) + competence
    }

    /// Physicians (digit 1), nurses (4) and dentists (3) with Belgian name variants.
    package static let people: [Person] = [
        Person(
            ssin: ssin("800517", serial: 11), first: "Jan", last: "Van de Casteele", profession: "persphysician",
            nihii: nihii(digit: 1, number: 1), speciality: "persgeneralphysician"),
        Person(
            ssin: ssin("810203", serial: 12), first: "Marie", last: "Vandecasteele", profession: "persnurse",
            nihii: nihii(digit: 4, number: 2)),
        Person(
            ssin: ssin("750911", serial: 13), first: "Pieter", last: "De Smet", profession: "persphysician",
            nihii: nihii(digit: 1, number: 3), speciality: "perscardiologist"),
        Person(
            ssin: ssin("690101", serial: 14), first: "Anne", last: "Desmet", profession: "persphysician",
            nihii: nihii(digit: 1, number: 4), speciality: "persgeneralphysician"),
        Person(
            ssin: ssin("880630", serial: 15), first: "Luc", last: "Desmedt", profession: "persdentist",
            nihii: nihii(digit: 3, number: 5)),
        Person(
            ssin: ssin("920222", serial: 16), first: "Émilie", last: "Lefèvre", profession: "persnurse",
            nihii: nihii(digit: 4, number: 6)),
    ]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }

    /// The FPS Health snapshot: identity, professions and visas, no NIHII.
    package static func fpsHealth(_ people: [Person] = people, extra: String = "") -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <c:CoBRHASnapshot xmlns:c="urn:be:registry:cobrha:snapshot:1" source="FPS-HEALTH" snapshotId="fps-1" created="2026-11-27T06:00:00Z">

            """
        for p in people {
            xml += """
                <c:HealthCareProfessional><c:SSIN>\(p.ssin)</c:SSIN><c:FirstName>\(escape(p.first))</c:FirstName>
                <c:LastName>\(escape(p.last))</c:LastName><c:Gender>U</c:Gender><c:BirthDate>\(p.birth)</c:BirthDate>
                \(p.death.map { "<c:DeathDate>\($0)</c:DeathDate>" } ?? "")<c:Language>nl</c:Language>
                <c:Profession from="2005-09-01"><c:ProfessionCode authenticSource="FPS-HEALTH">\(p.profession)</c:ProfessionCode>
                <c:Licence kind="visa" status="ACTIVE" from="2005-09-01"/></c:Profession></c:HealthCareProfessional>

                """
        }
        return xml + extra + "</c:CoBRHASnapshot>\n"
    }

    /// The RIZIV-INAMI snapshot: NIHII numbers, specialities, recognitions, and one hospital.
    package static func rizivInami(_ people: [Person] = people) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <r:CoBRHASnapshot xmlns:r="urn:be:registry:cobrha:snapshot:1" source="RIZIV-INAMI" snapshotId="riziv-1" created="2026-11-27T06:00:00Z">

            """
        for p in people {
            let speciality = p.speciality.map { "<r:Speciality code=\"\($0)\" from=\"2010-01-01\"/>" } ?? ""
            xml += """
                <r:HealthCareProfessional><r:SSIN>\(p.ssin)</r:SSIN><r:FirstName>\(escape(p.first))</r:FirstName>
                <r:LastName>\(escape(p.last))</r:LastName>
                <r:Profession from="2006-01-01"><r:ProfessionCode>\(p.profession)</r:ProfessionCode><r:NIHII>\(p.nihii)</r:NIHII>
                \(speciality)<r:Licence kind="recognition" status="ACTIVE" from="2006-01-01"/></r:Profession></r:HealthCareProfessional>

                """
        }
        xml += """
            <r:HealthCareOrganization><r:Identifier scheme="nihii">71000436</r:Identifier><r:Identifier scheme="cbe">0403019261</r:Identifier>
            <r:Type>orghospital</r:Type><r:Name xml:lang="fr">Hôpital Saint-Test</r:Name><r:Name xml:lang="nl">Sint-Testziekenhuis</r:Name>
            <r:Address><r:Street xml:lang="fr">Rue Haute</r:Street><r:HouseNumber>322</r:HouseNumber><r:PostalCode>1000</r:PostalCode>
            <r:Municipality xml:lang="fr">Bruxelles</r:Municipality><r:Municipality xml:lang="nl">Brussel</r:Municipality></r:Address>
            <r:Status code="ACTIVE" from="1990-01-01"/></r:HealthCareOrganization>
            </r:CoBRHASnapshot>

            """
        return xml
    }

    package struct Practice: Sendable {
        package var id: String
        package var nihii: String
        package var postcode: String
        package var latitude: Double
        package var longitude: Double
        package var languages = "nl|fr"
        package var validTo = ""

        package init(id: String, nihii: String, postcode: String, latitude: Double, longitude: Double) {
            self.id = id
            self.nihii = nihii
            self.postcode = postcode
            self.latitude = latitude
            self.longitude = longitude
        }
    }

    package static let header =
        "practice_id,nihii,role,institution,street_fr,street_nl,house_number,post_box,postcode,municipality_fr,municipality_nl,nis_code,latitude,longitude,languages,competences,phone,email,website,valid_from,valid_to"

    package static func practicesCSV(_ practices: [Practice]) -> String {
        var csv = header + "\n"
        for p in practices {
            csv +=
                "\(p.id),\(p.nihii),owner,,\"Rue de la Loi, 16\",Wetstraat,16,,\(p.postcode),Bruxelles,Brussel,,\(p.latitude),\(p.longitude),\(p.languages),,,,,2015-01-01,\(p.validTo)\n"
        }
        return csv
    }

    /// Writes files into a fresh folder and returns its path.
    package static func folder(_ files: [String: String]) throws -> String {
        let dir = try TestDatabase.temporaryDirectory()
        for (name, text) in files {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        return dir
    }
}
