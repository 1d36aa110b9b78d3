import Crypto
import Foundation

/// A Standard Webhooks signing secret: `whsec_` followed by the base64 of 32 random bytes.
///
/// The key is the decoded bytes (not the text), as the specification and its reference
/// libraries use it; a receiver configured with the `whsec_…` text verifies our signatures.
package struct WebhookSecret: Sendable, Hashable, CustomStringConvertible {
    package static let prefix = "whsec_"
    package let text: String
    package let key: [UInt8]

    package init?(_ text: String) {
        guard text.hasPrefix(Self.prefix),
            let key = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))), (24...64).contains(key.count)
        else { return nil }
        self.text = text
        self.key = Array(key)
    }

    /// A new secret from the system's cryptographic random source.
    package static func generate() -> WebhookSecret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return WebhookSecret(prefix + Data(bytes).base64EncodedString())!
    }

    /// Never the secret itself in logs or descriptions.
    package var description: String { "whsec_…" }
}

/// Signs (and verifies) webhook messages as the Standard Webhooks specification says:
/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several signatures separated by spaces
/// while a rotated secret is still valid.
package enum WebhookSigner {
    package static func signature(id: String, timestamp: Int64, body: [UInt8], secret: WebhookSecret) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The `webhook-signature` header value: one signature per valid secret, newest first.
    package static func header(id: String, timestamp: Int64, body: [UInt8], secrets: [WebhookSecret]) -> String {
        secrets.map { signature(id: id, timestamp: timestamp, body: body, secret: $0) }.joined(separator: " ")
    }

    /// True when one of the header's `v1` signatures is the one `secret` makes (constant-time compare).
    package static func verify(header: String, id: String, timestamp: Int64, body: [UInt8], secret: WebhookSecret)
        -> Bool
    {
        let expected = Array(signature(id: id, timestamp: timestamp, body: body, secret: secret).utf8)
        return header.split(separator: " ").contains { candidate in
            let bytes = Array(candidate.utf8)
            guard bytes.count == expected.count else { return false }
            return zip(bytes, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
