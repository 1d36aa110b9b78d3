import Crypto
import Foundation

/// An AES-256 key that encrypts webhook signing secrets at rest, named by a key id derived from it
/// (the first 8 bytes of its SHA-256, in hex: it names the key without revealing it).
package struct SecretKey: Sendable {
    package let id: String
    let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// The base64 of exactly 32 bytes (e.g. `head -c 32 /dev/urandom | base64`).
    package init?(base64 text: String) {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == 32
        else { return nil }
        self.bytes = Array(bytes)
        self.id = SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random key (tests).
    package static func generate() -> (key: SecretKey, base64: String) {
        let text = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        return (SecretKey(base64: text)!, text)
    }
}

/// Why a stored secret cannot be read.
package enum SecretKeyringError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Encrypted with a key that is neither the current nor a previous one.
    case unknownKey(String)
    /// Encrypted, but the ciphertext does not authenticate (altered, or bound to another row).
    case undecryptable(keyId: String)
    /// Neither a `whsec_` secret nor an encrypted one.
    case malformed

    package var description: String {
        switch self {
        case .unknownKey(let id):
            "the secret is encrypted with key \(id), which is neither REGISTRY_SECRET_KEY nor in REGISTRY_SECRET_KEY_PREVIOUS"
        case .undecryptable(let id): "the secret encrypted with key \(id) does not authenticate"
        case .malformed: "the stored secret is neither plain nor encrypted"
        }
    }
}

/// Encrypts webhook signing secrets at rest (AES-256-GCM) and reads them back.
///
/// Stored form: `enc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, with the subscription id
/// as authenticated data (a ciphertext copied to another subscription does not decrypt). Rows
/// written before encryption, or with plain storage chosen, hold the `whsec_…` text and are still
/// read. The current key encrypts; previous keys only decrypt, until `registry secrets rotate`
/// has re-encrypted every row under the current one.
package struct SecretKeyring: Sendable {
    package static let encryptedPrefix = "enc:v1:"

    /// Encrypts new secrets; nil stores them in plain text (only when the operator chose that).
    package let current: SecretKey?
    package let previous: [SecretKey]

    package init(current: SecretKey?, previous: [SecretKey] = []) {
        self.current = current
        self.previous = previous.filter { $0.id != current?.id }
    }

    /// No key: secrets stored and read in plain text (`--plaintext-secrets`).
    package static let plaintext = SecretKeyring(current: nil)

    package var encrypts: Bool { current != nil }

    /// The key ids this keyring can decrypt, current first.
    package var keyIds: [String] { (current.map { [$0.id] } ?? []) + previous.map(\.id) }

    static func associatedData(_ subscriptionId: String) -> Data { Data("subscription_secret:\(subscriptionId)".utf8) }

    /// What to store for `secret` of `subscriptionId`.
    package func seal(_ secret: WebhookSecret, subscriptionId: String) throws -> String {
        guard let current else { return secret.text }
        let box = try AES.GCM.seal(
            Data(secret.text.utf8), using: current.key, authenticating: Self.associatedData(subscriptionId))
        guard let combined = box.combined else { throw SecretKeyringError.malformed }
        return Self.encryptedPrefix + current.id + ":" + combined.base64EncodedString()
    }

    /// The key id a stored value is encrypted with; nil when it is plain text.
    package static func keyId(of stored: String) -> String? {
        guard stored.hasPrefix(encryptedPrefix) else { return nil }
        return stored.dropFirst(encryptedPrefix.count).split(separator: ":", maxSplits: 1).first.map(String.init)
    }

    /// The secret a stored value holds.
    package func open(_ stored: String, subscriptionId: String) throws -> WebhookSecret {
        guard stored.hasPrefix(Self.encryptedPrefix) else {
            guard let secret = WebhookSecret(stored) else { throw SecretKeyringError.malformed }
            return secret
        }
        let parts = stored.dropFirst(Self.encryptedPrefix.count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let combined = Data(base64Encoded: String(parts[1])) else {
            throw SecretKeyringError.malformed
        }
        let id = String(parts[0])
        guard let key = ([current].compactMap { $0 } + previous).first(where: { $0.id == id }) else {
            throw SecretKeyringError.unknownKey(id)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            let plain = try AES.GCM.open(box, using: key.key, authenticating: Self.associatedData(subscriptionId))
            guard let secret = WebhookSecret(String(decoding: plain, as: UTF8.self)) else {
                throw SecretKeyringError.malformed
            }
            return secret
        } catch let error as SecretKeyringError {
            throw error
        } catch {
            throw SecretKeyringError.undecryptable(keyId: id)
        }
    }

    /// True when a stored value is not yet under the current key (plain, or an older key).
    package func needsRotation(_ stored: String) -> Bool {
        guard let current else { return false }
        return Self.keyId(of: stored) != current.id
    }

    /// Reads `REGISTRY_SECRET_KEY` (current) and `REGISTRY_SECRET_KEY_PREVIOUS` (comma-separated,
    /// decryption only) from `environment`. `plaintextAllowed` (the operator's explicit choice)
    /// permits running without a current key.
    package static func fromEnvironment(_ environment: [String: String], plaintextAllowed: Bool)
        throws(SecretKeyConfigurationError) -> SecretKeyring
    {
        var previous: [SecretKey] = []
        for (index, text) in (environment["REGISTRY_SECRET_KEY_PREVIOUS"] ?? "").split(separator: ",").enumerated() {
            guard let key = SecretKey(base64: String(text)) else {
                throw .invalid("REGISTRY_SECRET_KEY_PREVIOUS (entry \(index + 1))")
            }
            previous.append(key)
        }
        let text = environment["REGISTRY_SECRET_KEY"] ?? ""
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            guard plaintextAllowed else { throw .missing }
            return SecretKeyring(current: nil, previous: previous)
        }
        guard let current = SecretKey(base64: text) else { throw .invalid("REGISTRY_SECRET_KEY") }
        return SecretKeyring(current: current, previous: previous)
    }
}

/// The encryption key for signing secrets is missing or malformed (the process refuses to start).
package enum SecretKeyConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case missing
    case invalid(String)

    package var description: String {
        switch self {
        case .missing:
            "REGISTRY_SECRET_KEY is not set: webhook signing secrets are encrypted at rest with it. Set it to 32 random bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`), or store secrets in plain text explicitly with --plaintext-secrets (REGISTRY_PLAINTEXT_SECRETS=1)."
        case .invalid(let name):
            "\(name) must be the base64 of exactly 32 bytes (e.g. `head -c 32 /dev/urandom | base64`)."
        }
    }
}
