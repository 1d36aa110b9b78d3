import XMLStreaming
import Foundation
import RegistryCore
import Testing

@testable import SAMReaders

@Suite struct NamespaceTests {
    static let exportNS = "urn:be:fgov:ehealth:samws:v2:export"

    func company(rootPrefix: String, fieldPrefix: String?, fieldNamespaceDeclared: String) -> String {
        let f = fieldPrefix.map { $0 + ":" } ?? ""
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <\(rootPrefix):ExportCompanies xmlns:\(rootPrefix)="\(Self.exportNS)" \(fieldNamespaceDeclared) version="6.0" SamId="X1">
              <\(rootPrefix):Company actorNr="01028">
                <\(rootPrefix):Data from="2022-06-30"><\(f)Denomination>Janssen-Cilag</\(f)Denomination><\(f)City>Beerse</\(f)City></\(rootPrefix):Data>
                <\(rootPrefix):Data from="1960-01-01" to="2022-06-29"><\(f)Denomination>Janssen-Cilag NV</\(f)Denomination></\(rootPrefix):Data>
              </\(rootPrefix):Company>
            </\(rootPrefix):ExportCompanies>
            """
    }

    @Test func prefixesDoNotMatterOnlyNamespaces() throws {
        let a = try readDocument(
            company(
                rootPrefix: "ns4", fieldPrefix: "ns3",
                fieldNamespaceDeclared: #"xmlns:ns3="urn:be:fgov:ehealth:samws:v2:company:submit""#),
            name: "CPN-1.xml")
        let b = try readDocument(
            company(
                rootPrefix: "x", fieldPrefix: nil,
                fieldNamespaceDeclared: #"xmlns="urn:be:fgov:ehealth:samws:v2:company:submit""#),
            name: "CPN-2.xml")
        #expect(a.kind == .cpn && b.kind == .cpn)
        #expect(a.entities.count == 1 && b.entities.count == 1)
        #expect(a.entities[0].key == "01028", "actorNr keeps its leading zero")
        #expect(a.entities[0].canonicalDocument().hash == b.entities[0].canonicalDocument().hash)
        #expect(a.entities[0].slices.count == 2)
    }

    @Test func wrongNamespaceIsNotAnExport() throws {
        let text = company(
            rootPrefix: "ns4", fieldPrefix: "ns3",
            fieldNamespaceDeclared: #"xmlns:ns3="urn:be:fgov:ehealth:samws:v2:company:submit""#
        )
        .replacingOccurrences(of: Self.exportNS, with: "urn:example:not-sam")
        let result = try readDocument(text, name: "CPN-1.xml")
        #expect(result.refused)
        #expect(result.findings.contains { $0.rule == "SAM-FILE-UNKNOWN" })
    }

    @Test func unknownElementsBecomeFindingsNotCrashes() throws {
        let text = company(
            rootPrefix: "ns4", fieldPrefix: "ns3",
            fieldNamespaceDeclared: #"xmlns:ns3="urn:be:fgov:ehealth:samws:v2:company:submit" xmlns:o="urn:other""#
        )
        .replacingOccurrences(
            of: "<ns3:City>Beerse</ns3:City>", with: "<ns3:City>Beerse</ns3:City><o:Gadget>1</o:Gadget>")
        let result = try readDocument(text, name: "CPN-1.xml")
        #expect(!result.refused)
        let finding = try #require(result.findings.first { $0.rule == "SAM-XML-UNKNOWN-ELEMENT" })
        #expect(finding.message.contains("{urn:other}Gadget"))
        #expect(finding.line == 4 && finding.file == "CPN-1.xml" && finding.entityKey == "01028")
        #expect(result.entities.count == 1)
        #expect(result.entities[0].slices.allSatisfy { $0.fields["Gadget"] == nil })
    }
}

@Suite struct HostileXMLTests {
    @Test func entityExpansionBombIsRefusedWithoutExpanding() throws {
        var text = #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">"#
        var previous = "lol"
        for i in 1...9 {
            text += "<!ENTITY lol\(i) \"" + String(repeating: "&\(previous);", count: 10) + "\">"
            previous = "lol\(i)"
        }
        text +=
            #"]><ns4:ExportCompanies xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export"><ns4:Company actorNr="01028"><ns4:Data from="2020-01-01"><Denomination>&lol9;</Denomination></ns4:Data></ns4:Company></ns4:ExportCompanies>"#
        let result = try readDocument(text, name: "CPN-1.xml")
        #expect(result.refused)
        #expect(result.entities.isEmpty)
        #expect(result.findings.contains { $0.rule == "SAM-XML-DOCTYPE" && $0.line == 1 })
    }

    @Test func externalEntityIsNeverFetched() throws {
        let secret = try temporaryFile("secret.txt", contents: Array("TOP-SECRET".utf8))
        let text = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY xxe SYSTEM "file://\(secret)">]>
            <ns4:ExportCompanies xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export"><ns4:Company actorNr="01028"><ns4:Data from="2020-01-01"><Denomination>&xxe;</Denomination></ns4:Data></ns4:Company></ns4:ExportCompanies>
            """
        let result = try readDocument(text, name: "CPN-1.xml")
        #expect(result.refused)
        #expect(result.findings.contains { $0.rule == "SAM-XML-DOCTYPE" })
        let everything =
            result.entities.map { $0.document.canonicalText }.joined() + result.findings.map(\.message).joined()
        #expect(!everything.contains("TOP-SECRET"))
    }

    @Test func invalidUTF8IsAFindingWithItsLine() throws {
        var bytes = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8) + [0x0A]
        bytes += Array(#"<ns4:ExportCompanies xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export">"#.utf8) + [0x0A]
        bytes +=
            Array(#"<ns4:Company actorNr="01028"><ns4:Data from="2020-01-01"><Denomination>Bad "#.utf8) + [
                0xC3, 0x28, 0xFF,
            ]
        bytes += Array("</Denomination></ns4:Data></ns4:Company></ns4:ExportCompanies>".utf8)
        let result = try readDocument(bytes: bytes, name: "CPN-1.xml")
        #expect(result.refused)
        let finding = try #require(result.findings.first { $0.rule == "SAM-XML-WELLFORMED" })
        #expect(finding.line == 3)
        #expect(finding.file == "CPN-1.xml")
        #expect(finding.severity == .fatal)
    }

    @Test func fiftyMegabyteTextNodeRejectsOnlyItsEntity() throws {
        var bytes = Array(
            #"<ns4:ExportCompanies xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export" xmlns="urn:be:fgov:ehealth:samws:v2:company:submit">"#
                .utf8)
        bytes += Array(#"<ns4:Company actorNr="01028"><ns4:Data from="2020-01-01"><Denomination>"#.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: 50 * 1_048_576)
        bytes += Array(#"</Denomination></ns4:Data></ns4:Company>"#.utf8)
        bytes += Array(
            #"<ns4:Company actorNr="01029"><ns4:Data from="2020-01-01"><Denomination>Fine</Denomination></ns4:Data></ns4:Company></ns4:ExportCompanies>"#
                .utf8)
        let result = try readDocument(bytes: bytes, name: "CPN-1.xml", chunkSize: 256 * 1024)
        #expect(!result.refused, "\(result.findings)")
        #expect(result.findings.contains { $0.rule == "SAM-XML-TEXT-TOO-LONG" && $0.entityKey == "01028" })
        #expect(result.rejected.map(\.key) == ["01028"])
        #expect(result.entities.map(\.key) == ["01029"])
        #expect(result.entities[0].slices[0].fields["Denomination"] == .string("Fine"))
    }

    @Test func truncatedDocumentIsRefused() throws {
        let text =
            #"<ns4:ExportCompanies xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export"><ns4:Company actorNr="01028"><ns4:Data from="2020-01-01"><Denomination>X</Denomination></ns4:Data></ns4:Company>"#
        let result = try readDocument(text, name: "CPN-1.xml")
        #expect(result.refused)
        #expect(result.findings.contains { $0.rule == "SAM-XML-WELLFORMED" && $0.message.contains("truncated") })
    }
}
