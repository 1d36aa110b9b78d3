/// Identifier formats of the SAM v2 export, each a validated value type.
///
/// Formats come from the SAM v2 XSD patterns and the real export: CNK codes are 7 digits with
/// leading zeros, AMP codes are `SAM` + 6 digits + `-` + 2 digits, CTI-extended is 6 + 2 digits,
/// company actor numbers are 5 digits with leading zeros, ATC codes follow the WHO levels.
package enum SAMIdentifierKind: String, Sendable, CaseIterable {
    case cnk, ampCode, ctiExtended, actorNr, atcCode

    /// A human description of what was expected, used in findings.
    package var expectation: String {
        switch self {
        case .cnk: return "7 digits (leading zeros kept), e.g. 0046128"
        case .ampCode: return "SAM + 6 digits + '-' + 2 digits, e.g. SAM000025-00"
        case .ctiExtended: return "6 digits + '-' + 2 digits, e.g. 000025-01"
        case .actorNr: return "5 digits (leading zeros kept), e.g. 01028"
        case .atcCode: return "a WHO ATC code of level 1 to 5, e.g. N05AD01"
        }
    }

    package func isValid(_ text: String) -> Bool {
        let u = Array(text.utf8)
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func allDigits(_ r: Range<Int>) -> Bool { r.allSatisfy { isDigit(u[$0]) } }
        switch self {
        case .cnk:
            return u.count == 7 && allDigits(0..<7)
        case .actorNr:
            return u.count == 5 && allDigits(0..<5)
        case .ctiExtended:
            return u.count == 9 && allDigits(0..<6) && u[6] == UInt8(ascii: "-") && allDigits(7..<9)
        case .ampCode:
            return u.count == 12 && text.hasPrefix("SAM") && allDigits(3..<9) && u[9] == UInt8(ascii: "-")
                && allDigits(10..<12)
        case .atcCode:
            // Levels: A | A01 | A01A | A01AA | A01AA01
            guard [1, 3, 4, 5, 7].contains(u.count), isUpper(u[0]) else { return false }
            if u.count >= 3 { guard isDigit(u[1]), isDigit(u[2]) else { return false } }
            if u.count >= 4 { guard isUpper(u[3]) else { return false } }
            if u.count >= 5 { guard isUpper(u[4]) else { return false } }
            if u.count == 7 { guard isDigit(u[5]), isDigit(u[6]) else { return false } }
            return true
        }
    }
}

/// The identity of a DMPP: delivery environment, code type and code.
///
/// The public (P) and hospital (H) environments can share one CNK with different prices,
/// so the CNK alone does not identify a DMPP.
package struct DmppKey: Sendable, Hashable, CustomStringConvertible {
    package enum DeliveryEnvironment: String, Sendable, CaseIterable { case P, A, H, R }
    package enum CodeType: String, Sendable, CaseIterable { case CNK, PSEUDO }

    package let deliveryEnvironment: DeliveryEnvironment
    package let codeType: CodeType
    package let code: String

    package init?(deliveryEnvironment: String, codeType: String, code: String) {
        guard let env = DeliveryEnvironment(rawValue: deliveryEnvironment), let type = CodeType(rawValue: codeType),
            SAMIdentifierKind.cnk.isValid(code)
        else { return nil }
        self.deliveryEnvironment = env
        self.codeType = type
        self.code = code
    }

    package var description: String { "\(deliveryEnvironment.rawValue)|\(codeType.rawValue)|\(code)" }
}
