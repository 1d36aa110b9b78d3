import Testing

@testable import RegistryCore

@Suite struct LocalDateTests {
    @Test func parsesStrictISODates() throws {
        let date = try #require(LocalDate(iso: "1961-07-01"))
        #expect(date.year == 1961 && date.month == 7 && date.day == 1)
        #expect(date.description == "1961-07-01")
        #expect(LocalDate(iso: "2023-02-29") == nil)
        #expect(LocalDate(iso: "2024-02-29") != nil)
        #expect(LocalDate(iso: "2024-13-01") == nil)
        #expect(LocalDate(iso: "2024-1-01") == nil)
        #expect(LocalDate(iso: "2024-01-01T00:00") == nil)
    }

    @Test func dayNumbersRoundTripAcrossCenturies() {
        #expect(LocalDate(iso: "1970-01-01")!.dayNumber == 0)
        #expect(LocalDate(iso: "2000-03-01")!.dayNumber == 11_017)
        for day in stride(from: -40_000, to: 40_000, by: 97) {
            #expect(LocalDate(dayNumber: day).dayNumber == day)
        }
        #expect(LocalDate(iso: "1999-12-31")!.adding(days: 1).description == "2000-01-01")
    }

    @Test func formatsPaddedAndOrdersLikeItsDayNumbers() throws {
        // Independent of the formatter: the expected text is built from the parts with String(format:)-like padding.
        for day in stride(from: -700_000, to: 2_900_000, by: 9_973) {
            let date = LocalDate(dayNumber: day)
            let expected = [(date.year, 4), (date.month, 2), (date.day, 2)].map { value, width in
                String(repeating: "0", count: width - String(value).count) + String(value)
            }.joined(separator: "-")
            #expect(date.description == expected)
            var bytes: [UInt8] = [0x22]
            date.writeISO(into: &bytes)
            #expect(bytes == [0x22] + Array(expected.utf8))
            #expect(LocalDate(iso: expected) == date, "parses what it writes")
            let next = LocalDate(dayNumber: day + 1)
            #expect(date < next && !(next < date) && !(date < date))
        }
        #expect(LocalDate(iso: "0999-01-05")?.description == "0999-01-05")
        // A substring of a longer text parses in place.
        let text = "from=2024-02-29;"
        let slice = text.dropFirst(5).dropLast()
        #expect(LocalDate(iso: slice) == LocalDate(year: 2024, month: 2, day: 29))
        #expect(LocalDate(iso: text.dropFirst(5)) == nil)
        #expect(LocalDate(iso: "2024-02-2x") == nil && LocalDate(iso: "2024/02/29") == nil)
    }

    @Test func periodsAreInclusiveAndOpenEnded() {
        let oneDay = ValidityPeriod(from: LocalDate(iso: "1961-07-01")!, to: LocalDate(iso: "1961-07-01")!)
        #expect(oneDay.contains(LocalDate(iso: "1961-07-01")!))
        #expect(!oneDay.contains(LocalDate(iso: "1961-07-02")!))
        let open = ValidityPeriod(from: LocalDate(iso: "1961-07-02")!, to: nil)
        #expect(open.contains(LocalDate(iso: "2099-01-01")!))
        #expect(!oneDay.overlaps(open))
        let touching = ValidityPeriod(from: LocalDate(iso: "1961-07-01")!, to: LocalDate(iso: "1961-07-02")!)
        #expect(touching.overlaps(open))
        #expect(!ValidityPeriod(from: LocalDate(iso: "2020-01-02")!, to: LocalDate(iso: "2020-01-01")!).isWellOrdered)
    }
}

@Suite struct SAMIdentifierTests {
    @Test(arguments: [
        (SAMIdentifierKind.cnk, "0046128", true), (.cnk, "46128", false), (.cnk, "00461281", false),
        (.cnk, "004612a", false),
        (.ampCode, "SAM000025-00", true), (.ampCode, "SAM00025-00", false), (.ampCode, "sam000025-00", false),
        (.ctiExtended, "000025-01", true), (.ctiExtended, "000025-1", false), (.ctiExtended, "00002501", false),
        (.actorNr, "01028", true), (.actorNr, "1028", false),
        (.atcCode, "N05AD01", true), (.atcCode, "N", true), (.atcCode, "N05", true), (.atcCode, "N05A", true),
        (.atcCode, "N05AD", true), (.atcCode, "N05AD1", false), (.atcCode, "n05AD01", false),
        (.atcCode, "N5AD01", false),
    ])
    func identifierFormats(kind: SAMIdentifierKind, text: String, valid: Bool) {
        #expect(kind.isValid(text) == valid, "\(kind) \(text)")
    }

    @Test func dmppKeyNeedsKnownEnvironmentAndType() {
        #expect(DmppKey(deliveryEnvironment: "H", codeType: "CNK", code: "0708289")?.description == "H|CNK|0708289")
        #expect(DmppKey(deliveryEnvironment: "X", codeType: "CNK", code: "0708289") == nil)
        #expect(DmppKey(deliveryEnvironment: "P", codeType: "EAN", code: "0708289") == nil)
    }
}
