import Testing

@testable import RegistryCore

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysAndEscapes() {
        let value = JSONValue.object(["b": .string("x\"y\n"), "a": .array([.bool(true), .null, .number("1.50")])])
        #expect(value.canonicalText == #"{"a":[true,null,1.50],"b":"x\"y\n"}"#)
    }

    @Test func manyMembersComeOutInByteOrderWhateverTheirInsertionOrder() {
        let names = (0..<40).map { "k\($0 * 7 % 40)" } + ["@code", "#text", "Z", "a", "ä", "a-much-longer-member-name"]
        var members: [String: JSONValue] = [:]
        for name in names.shuffled() {
            members[name] = .array([.string(name), .object(["y": .null, "x": .bool(false)])])
        }
        let expected =
            "{"
            + names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { #""\#($0)":["\#($0)",{"x":false,"y":null}]"# }.joined(separator: ",") + "}"
        #expect(JSONValue.object(members).canonicalText == expected)
    }

    @Test func parsesWhatItWritesAndPostgresStyleSpacing() throws {
        let value = JSONValue.object([
            "name": .object(["Fr": .string("Prescription médicale – Art 6, §1"), "Nl": .string("tab\there \u{1}")]),
            "list": .array([.string("é"), .number("-2.5e3")]),
        ])
        #expect(try JSONValue.parse(value.canonicalText) == value)
        #expect(
            try JSONValue.parse(#"{"a": [1, "x"], "b": {"c": null}}"#)
                == .object(["a": .array([.number("1"), .string("x")]), "b": .object(["c": .null])]))
        #expect(throws: (any Error).self) { try JSONValue.parse(#"{"a": }"#) }
    }
}

@Suite struct VersionedEntityTests {
    func slice(_ from: String, _ to: String?, price: String) -> EntitySlice {
        EntitySlice(
            from: LocalDate(iso: from), to: to.flatMap { LocalDate(iso: $0) },
            fields: ["Price": .string(price), "Reimbursable": .string("true")])
    }

    func dmpp(_ slices: [EntitySlice]) -> VersionedEntity {
        VersionedEntity(
            type: "dmpp",
            keyParts: [
                .init(name: "deliveryEnvironment", value: "P"), .init(name: "codeType", value: "CNK"),
                .init(name: "code", value: "0046128"),
            ],
            key: "P|CNK|0046128", parentType: "ampp", parentKey: "000025-01", attributes: [:], slices: slices,
            file: "f", line: 1)
    }

    @Test func hashIgnoresSliceOrderButNotContent() {
        let a = dmpp([slice("2021-01-01", "2021-12-31", price: "7.82"), slice("2022-01-01", nil, price: "7.87")])
        let b = dmpp([slice("2022-01-01", nil, price: "7.87"), slice("2021-01-01", "2021-12-31", price: "7.82")])
        let c = dmpp([slice("2022-01-01", nil, price: "7.88"), slice("2021-01-01", "2021-12-31", price: "7.82")])
        #expect(a.canonicalDocument().hash == b.canonicalDocument().hash)
        #expect(a.canonicalDocument().hash != c.canonicalDocument().hash)
        #expect(a.canonicalDocument().hash.count == 64)
    }

    @Test func directWriterMatchesTheCanonicalDocument() {
        var entity = dmpp([slice("2022-01-01", nil, price: "7.87"), slice("1961-07-01", "1961-07-01", price: "1\"\\2")])
        entity.attributes = ["ProductId": "T5x/=", "vmpCode": "16469"]
        entity.slices.append(
            EntitySlice(from: nil, to: nil, fields: ["Name": .object(["Fr": .string("é\n"), "Nl": .string("x")])]))
        #expect(entity.canonicalBytes() == entity.document.canonicalBytes)
        #expect(entity.canonicalDocument().text == entity.document.canonicalText)
    }

    @Test func directWriterMatchesTheCanonicalDocumentForASinglePartKey() {
        let entity = VersionedEntity(
            type: "amp", keyParts: [.init(name: "code", value: "SAM\"000")], key: "SAM\"000", parentType: nil,
            parentKey: nil, attributes: ["vmpCode": "1"], slices: [slice("2022-01-01", "2022-12-31", price: "1")],
            file: "f", line: 1)
        #expect(entity.canonicalBytes() == entity.document.canonicalBytes)
        #expect(entity.canonicalDocument().text.contains(#""key":{"code":"SAM\"000"}"#))
    }

    @Test func futurePriceSliceReportsPriceFromItsStart() throws {
        let old = dmpp([slice("2021-01-01", nil, price: "7.82")]).document
        let new = dmpp([slice("2021-01-01", "2026-12-31", price: "7.82"), slice("2027-01-01", nil, price: "7.97")])
            .document
        let change = try #require(EntityDiff.compare(old: old, new: new))
        #expect(change.kind == .updated)
        #expect(change.changedFields == ["Price"])
        #expect(change.effectiveFrom == "2027-01-01")
    }

    @Test func closingASliceReportsItsFieldsFromTheNextDay() throws {
        let old = dmpp([slice("2021-01-01", nil, price: "7.82")]).document
        let new = dmpp([slice("2021-01-01", "2026-06-30", price: "7.82")]).document
        let change = try #require(EntityDiff.compare(old: old, new: new))
        #expect(change.changedFields == ["Price", "Reimbursable"])
        #expect(change.effectiveFrom == "2026-07-01")
    }

    @Test func creationAndDeletionAndNoChange() throws {
        let doc = dmpp([slice("2021-01-01", nil, price: "7.82"), slice("1961-07-02", "1961-07-02", price: "1.00")])
            .document
        let created = try #require(EntityDiff.compare(old: nil, new: doc))
        #expect(
            created.kind == .created && created.effectiveFrom == "1961-07-02"
                && created.changedFields == ["Price", "Reimbursable"])
        #expect(EntityDiff.compare(old: doc, new: nil)?.kind == .deleted)
        #expect(EntityDiff.compare(old: doc, new: doc) == nil)
    }
}

@Suite struct JSONDepthTests {
    @Test func deeplyNestedInputIsRefusedNotACrash() {
        let hostile = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(hostile) }
        let deepButFine = String(repeating: "[", count: 200) + "1" + String(repeating: "]", count: 200)
        #expect((try? JSONValue.parse(deepButFine)) != nil)
        // Depth is counted per open container, not per container seen: long flat lists are fine.
        let wide = "[" + Array(repeating: "[1]", count: 5000).joined(separator: ",") + "]"
        #expect((try? JSONValue.parse(wide)) != nil)
    }
}
