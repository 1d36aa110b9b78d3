import Testing

@testable import RegistryCore

@Suite struct EffectiveChangeTests {
    func entity(_ slices: [(String?, String?, [String: String])]) -> StoredSAMEntity {
        let document: JSONValue = .object([
            "key": .object(["code": .string("1")]),
            "slices": .array(
                slices.map { from, to, fields in
                    var members: [String: JSONValue] = ["fields": .object(fields.mapValues(JSONValue.string))]
                    if let from { members["from"] = .string(from) }
                    if let to { members["to"] = .string(to) }
                    return .object(members)
                }),
        ])
        return StoredSAMEntity(
            type: "dmpp", key: "1", parentType: nil, parentKey: nil, document: document, changedRunId: nil)
    }

    let day = LocalDate(iso: "2026-12-01")!

    @Test func aNewPriceSliceChangesOnlyThePrice() {
        let pack = entity([
            ("2020-01-01", "2026-11-30", ["Price": "10.00", "Cheap": "false"]),
            ("2026-12-01", nil, ["Price": "9.50", "Cheap": "false"]),
        ])
        #expect(EffectiveChange.fields(of: pack, on: day) == ["Price"])
        // The day before and after: nothing begins or ends.
        #expect(EffectiveChange.fields(of: pack, on: day.adding(days: -1)) == nil)
        #expect(EffectiveChange.fields(of: pack, on: day.adding(days: 1)) == nil)
    }

    @Test func startingAndEndingValidityAreChangesOfValidity() {
        let starting = entity([("2026-12-01", nil, ["Price": "1"])])
        #expect(EffectiveChange.fields(of: starting, on: day) == ["validity", "Price"])
        let ending = entity([("2020-01-01", "2026-11-30", ["Price": "1"])])
        #expect(EffectiveChange.fields(of: ending, on: day) == ["validity", "Price"])
    }

    @Test func aNewSliceWithTheSameValuesIsNoChange() {
        let same = entity([("2020-01-01", "2026-11-30", ["Price": "1"]), ("2026-12-01", nil, ["Price": "1"])])
        #expect(EffectiveChange.fields(of: same, on: day) == nil)
    }

    @Test func unsortedSlicesAreReadInDateOrder() {
        let unsorted = entity([("2026-12-01", nil, ["Price": "2"]), ("2020-01-01", "2026-11-30", ["Price": "1"])])
        #expect(EffectiveChange.fields(of: unsorted, on: day) == ["Price"])
    }
}
