import RegistryCore
import Testing

@testable import SAMReaders

/// The names staged for the search index while reading, per language and name, with their days.
@Suite struct SearchNamesTests {
    func entity(_ type: String, _ slices: [EntitySlice]) -> VersionedEntity {
        VersionedEntity(
            type: type, keyParts: [], key: "K", parentType: nil, parentKey: nil, attributes: [:], slices: slices,
            file: "AMP.xml", line: 1)
    }

    func day(_ iso: String) -> LocalDate { LocalDate(iso: iso)! }

    @Test func namesAreGroupedByLanguageAndNameWithTheDaysOfEverySliceCarryingThem() throws {
        let amp = entity(
            "amp",
            [
                EntitySlice(
                    from: day("2020-01-01"), to: day("2020-12-31"),
                    fields: [
                        "Name": .object(["Fr": .string("Dafalgan"), "Nl": .string("Dafalgan")]),
                        "AbbreviatedName": .object(["Fr": .string("Dafalgan")]),
                        "Description": .object(["Fr": .string("not a name field")]),
                    ]),
                EntitySlice(
                    from: day("2021-01-01"), to: nil,
                    fields: [
                        "Name": .object(["Fr": .string("Dafalgan Forte"), "Nl": .string("Dafalgan")]),
                        "OfficialName": .string("DAFALGAN"),
                        "PrescriptionName": .array([.string("a"), .string("b")]),
                    ]),
            ])
        let names = try #require(SAMSearchNames.names(of: amp))
        #expect(
            names
                == .rows([
                    .init(lang: nil, name: "DAFALGAN", days: "{[2021-01-01,]}"),
                    .init(lang: "fr", name: "Dafalgan", days: "{[2020-01-01,2020-12-31],[2020-01-01,2020-12-31]}"),
                    .init(lang: "fr", name: "Dafalgan Forte", days: "{[2021-01-01,]}"),
                    .init(lang: "nl", name: "Dafalgan", days: "{[2020-01-01,2020-12-31],[2021-01-01,]}"),
                ]))
    }

    @Test func aSliceEndingBeforeItStartsKeepsItsNameWithoutDays() throws {
        let vmp = entity(
            "vmp",
            [
                EntitySlice(from: day("2022-05-01"), to: day("2022-04-30"), fields: ["Name": .string("Paracetamol")]),
                EntitySlice(from: nil, to: day("1999-12-31"), fields: ["Name": .string("Old")]),
            ])
        #expect(
            SAMSearchNames.names(of: vmp)
                == .rows([
                    .init(lang: nil, name: "Old", days: "{[,1999-12-31]}"),
                    .init(lang: nil, name: "Paracetamol", days: "{}"),
                ]))
    }

    @Test func aNameThatIsNotPlainTextIsLeftToTheSQL() {
        let ampp = entity(
            "ampp",
            [
                EntitySlice(
                    from: day("2020-01-01"), to: nil,
                    fields: ["PrescriptionName": .object(["Fr": .object(["@x": .string("1"), "#text": .string("A")])])])
            ])
        #expect(SAMSearchNames.names(of: ampp) == .leftToSQL)
        let accented = entity(
            "ampp",
            [EntitySlice(from: day("2020-01-01"), to: nil, fields: ["AbbreviatedName": .object(["É": .string("A")])])])
        #expect(SAMSearchNames.names(of: accented) == .leftToSQL)
    }

    @Test func entitiesNotSearchedByNameHaveNone() {
        let dmpp = entity("dmpp", [EntitySlice(from: day("2020-01-01"), to: nil, fields: ["Name": .string("x")])])
        #expect(SAMSearchNames.names(of: dmpp) == nil)
    }
}
