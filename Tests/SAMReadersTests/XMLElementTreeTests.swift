import RegistryCore
import Testing
import XMLStreaming

@testable import SAMReaders

/// The flat element tree the streaming parser builds per top-level entity.
@Suite struct XMLElementTreeTests {
    /// Parses `xml` fed in chunks of `chunkSize` bytes (libxml2 then hands text over in pieces)
    /// and returns the top-level entities.
    func entities(_ xml: String, chunkSize: Int = 3, maxTextBytes: Int = 1 << 20) -> [XMLElementNode] {
        let parser = XMLStreamParser(fileName: "t.xml", maxTextBytes: maxTextBytes)
        var found: [XMLElementNode] = []
        parser.onEntity = { found.append($0) }
        let bytes = Array(xml.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunkSize) {
            parser.feed(Array(bytes[start..<min(start + chunkSize, bytes.count)]))
        }
        parser.finish()
        #expect(parser.fatalProblem == nil)
        return found
    }

    @Test func childrenAttributesTextAndLinesBelongToTheirElement() throws {
        let found = entities(
            """
            <r:Root xmlns:r="urn:a">
            <r:E id="1" kind="x &amp; y">
              <r:C n="2">first</r:C>
              <C xmlns="urn:b">second</C>
            </r:E>
            <r:E id="3"/>
            </r:Root>
            """)
        try #require(found.count == 2)
        let e = found[0]
        #expect(e.name == "E" && e.namespace == "urn:a" && e.line == 2)
        #expect(e.attributes.map(\.name) == ["id", "kind"])
        #expect(e.attribute("kind") == "x & y" && e.attribute("missing") == nil)
        #expect(e.text.isEmpty, "indentation between children is not text")
        let children = e.children
        #expect(children.map(\.name) == ["C", "C"])
        #expect(children.map(\.namespace) == ["urn:a", "urn:b"])
        #expect(children.map(\.text) == ["first", "second"])
        #expect(children.map(\.line) == [3, 4])
        #expect(children[0].attribute("n") == "2" && children[1].attributes.isEmpty)
        #expect(children.allSatisfy { $0.children.isEmpty })
        #expect(found[1].attribute("id") == "3" && found[1].children.isEmpty)
        #expect(e.tree !== found[1].tree, "each entity has its own tree, valid after the next one is read")
    }

    @Test func mixedContentKeepsEachElementsTextWhole() throws {
        // The parent's text is interrupted by a child's: each element still reads its own text.
        let found = entities("<R><E>before-<C>inner</C>-after<D>d</D>end</E></R>", chunkSize: 2)
        let e = try #require(found.first)
        #expect(e.text == "before--afterend")
        #expect(e.children.map(\.text) == ["inner", "d"])
    }

    @Test func oneIdPerNameWhicheverPrefixOrRoleItHas() throws {
        // "from" is an attribute name and an element name; urn:a comes by two prefixes.
        let found = entities(
            #"<R xmlns:p="urn:a" xmlns:q="urn:a"><p:E from="1"><q:from/><p:from from="2"/></p:E></R>"#)
        let e = try #require(found.first)
        let tree = e.tree
        #expect(Set(tree.names).count == tree.names.count, "no name is interned twice: \(tree.names)")
        let children = e.children
        #expect(tree.elements[Int(children[0].index)].namespace == tree.elements[Int(children[1].index)].namespace)
        let fromID = try #require(tree.names.firstIndex(of: "from"))
        #expect(tree.attribute(Int32(fromID), of: e.index) == "1")
        #expect(tree.attribute(Int32(fromID), of: children[1].index) == "2")
        #expect(tree.elements[Int(children[0].index)].name == Int32(fromID))
    }

    @Test func textBeyondTheLimitIsCutAndMarked() throws {
        let found = entities("<R><E><T>abcdefghij</T><U>ok</U></E></R>", maxTextBytes: 4)
        let e = try #require(found.first)
        let children = e.children
        #expect(children[0].text == "abcd" && children[0].textTruncatedAt == 4)
        #expect(children[1].text == "ok" && children[1].textTruncatedAt == nil)
    }

    @Test func oneMapperReadsDocumentsWhoseNameTablesDiffer() throws {
        // The second document interns its names in another order (an unknown element and other
        // attributes first), so the same id means another name there.
        let export = "urn:be:fgov:ehealth:samws:v2:export"
        let first = entities(
            """
            <ExportCompanies xmlns="\(export)"><Company actorNr="01"><Data from="2020-01-01"><Name>A</Name></Data></Company></ExportCompanies>
            """)
        let second = entities(
            """
            <x:ExportCompanies xmlns:x="\(export)" xmlns:o="urn:other"><o:Noise kind="k" to="t"/><x:Company actorNr="02" ProductId="p"><x:Data to="2021-12-31" from="2021-01-01"><x:Name>B</x:Name></x:Data></x:Company></x:ExportCompanies>
            """)
        var mapper = SAMEntityMapper(file: "CPN.xml")
        let a = mapper.mapTopLevel(try #require(first.first))
        let noise = mapper.mapTopLevel(try #require(second.first))
        let b = mapper.mapTopLevel(try #require(second.last))
        #expect(noise.isEmpty, "an element outside the SAM namespaces is skipped")
        #expect(a.map(\.key) == ["01"] && b.map(\.key) == ["02"])
        #expect(b.first?.attributes == ["ProductId": "p"])
        #expect(a.first?.slices.map(\.period?.description) == ["2020-01-01.."])
        #expect(b.first?.slices.map(\.period?.description) == ["2021-01-01..2021-12-31"])
        #expect(b.first?.slices.first?.fields["Name"] == .string("B"))
    }
}
