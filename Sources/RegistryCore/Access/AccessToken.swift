import Crypto
import Foundation

/// What an API client may do. Stored as text; unknown scopes are refused when a client is created.
package enum Scope: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Create and manage its own webhook subscriptions.
    case subscriptionsManage = "subscriptions:manage"
    /// Read providers' personal data (SSIN, private addresses): every such read is audited.
    case providersSensitive = "providers:sensitive"
    /// Scrape `/metrics` on the API listener.
    case metricsRead = "metrics:read"
    /// Run FHIR Bulk Data exports (`GET /fhir/$export`) and download their files.
    case exports
    /// Everything, including other clients' subscriptions and the audit log.
    case admin

    package static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses `s1,s2`; fails on the first unknown scope.
    package static func parseList(_ text: String) -> Result<[Scope], UnknownScope> {
        var scopes: Set<Scope> = []
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let scope = Scope(rawValue: name) else { return .failure(UnknownScope(name: name)) }
            scopes.insert(scope)
        }
        return .success(scopes.sorted())
    }
}

package struct UnknownScope: Error, Sendable, CustomStringConvertible {
    package var name: String
    package var description: String {
        "unknown scope \"\(name)\" (known: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}

/// A bearer token: `rgt_` + 32 random bytes in base64url. Only its SHA-256 is stored, so a
/// stolen database does not hand out working tokens; the token is shown once, at creation.
package struct AccessToken: Sendable, Hashable {
    package static let prefix = "rgt_"
    package let text: String

    package init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), (20...200).contains(text.utf8.count),
            text.utf8.dropFirst(Self.prefix.utf8.count).allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            })
        else { return nil }
        self.text = text
    }

    package static func generate() -> AccessToken {
        AccessToken(prefix + RandomText.base64url(bytes: 32))!
    }

    /// SHA-256 of the token text, hex.
    package var hash: String { hexString(Array(SHA256.hash(data: Array(text.utf8)))) }
}

/// Random identifiers from the system's cryptographic source.
package enum RandomText {
    package static func base64url(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `prefix` + 20 lowercase hex characters (80 bits): ids that are unguessable but readable.
    package static func identifier(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + hexString((0..<10).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
