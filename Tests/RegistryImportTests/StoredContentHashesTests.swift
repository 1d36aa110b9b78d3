import Testing

@testable import RegistryImport
import RegistryStore

/// Recognising unchanged entities by stored hash, without the database.
@Suite struct StoredContentHashesTests {
    @Test func anEntityIsStoredOnlyWithItsTypeKeyAndHash() {
        var stored = StoredContentHashes()
        let hash = String(repeating: "ab", count: 32)
        stored.insert(type: "ampp", key: "000025-01", contentHash: hash)
        #expect(stored.count == 1)
        #expect(stored.isStored(type: "ampp", key: "000025-01", contentHash: hash))
        #expect(!stored.isStored(type: "ampp", key: "000025-01", contentHash: "ac" + hash.dropFirst(2)))
        #expect(!stored.isStored(type: "amp", key: "000025-01", contentHash: hash))
        #expect(!stored.isStored(type: "ampp", key: "000025-02", contentHash: hash))
        stored.insert(type: "amp", key: "x", contentHash: "not hex")
        #expect(stored.count == 1, "a hash that is not hexadecimal is never taken as stored")
    }
}
