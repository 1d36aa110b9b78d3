import Testing

@testable import RegistryCore

@Suite struct BelgianIdentifierTests {
    /// Published examples: 85073003328 (1900 rule), 17073003384 (valid only with the 2000 rule),
    /// BIS 98472899765.
    @Test func ssinVectors() throws {
        let old = try #require(SSIN("85073003328"))
        #expect(old.kind == .national && !old.bornFrom2000)
        let young = try #require(SSIN("17073003384"))
        #expect(young.kind == .national && young.bornFrom2000)
        let bis = try #require(SSIN("98472899765"))
        #expect(bis.kind == .bis)
        #expect(SSIN("85.07.30-033.28") != nil)
        #expect(SSIN("85073003327") == nil)
        #expect(SSIN("8507300332") == nil)
        #expect(SSIN("85133003328") == nil)  // month 13
        #expect(String(describing: old) == "SSIN(…28)")
    }

    /// Property: numbers built with either rule validate (and say which rule when only one
    /// fits), and any other pair of check digits is refused.
    @Test func ssinCheckDigitsFollowTheCenturyRules() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let body =
                Int.random(in: 0...99, using: &generator) * 10_000_000 + Int.random(in: 1...12, using: &generator)
                * 100_000 + Int.random(in: 1...28, using: &generator) * 1000
                + Int.random(in: 1...997, using: &generator)
            let prefix = String(repeating: "0", count: 9 - String(body).count) + String(body)
            let old = 97 - body % 97
            let young = 97 - (2_000_000_000 + body) % 97
            func text(_ check: Int) -> String { prefix + (check < 10 ? "0" : "") + String(check) }
            #expect(SSIN(text(old))?.bornFrom2000 == false)
            #expect(SSIN(text(young))?.bornFrom2000 == (old != young))
            let other = (1...97).first { $0 != old && $0 != young }!
            #expect(SSIN(text(other)) == nil)
        }
    }

    /// Published examples: 0403019261 and 0428759497 valid, 0431150351 invalid.
    @Test func cbeVectors() throws {
        #expect(CBENumber("0403019261") != nil)
        #expect(CBENumber("0428759497") != nil)
        #expect(CBENumber("0431150351") == nil)
        #expect(CBENumber("BE 0403.019.261")?.digits == "0403019261")
        #expect(CBENumber("403019261")?.formatted == "0403.019.261")
        #expect(CBENumber("2403019261") == nil)
        #expect(CBENumber("04030192") == nil)
    }

    @Test func cbeCheckValue97IsAllowed() throws {
        // 97 × 100,000 = 9,700,000: remainder 0, so the check value is 97 (never 00).
        #expect(CBENumber("0970000097") != nil)
        #expect(CBENumber("0970000000") == nil)
    }
}
