import Logging
import PostgresNIO
import RegistryStore

/// The content hashes of the stored SAM entities, held compactly while an import reads, so an
/// entity whose canonical document hashes as stored is staged without its document.
///
/// Most of a re-import, and of a delta, is unchanged: its documents (700 MB at scale 1.0) used to
/// be sent to PostgreSQL, parsed as jsonb and written to the staging table only to be compared
/// by hash and dropped. Entries are 16 bytes (a hash of type and key, the first 64 bits of the
/// content hash): 700k entities take about 15 MB. A false match would need both 64-bit values to
/// collide; it could not go unnoticed either: a changed entity without its document violates
/// `sam_entity.document NOT NULL` and fails the run, which changes nothing.
struct StoredContentHashes: Sendable {
    private var entries: [Int: UInt64] = [:]

    var count: Int { entries.count }

    static func entryKey(type: String, key: String) -> Int {
        var hasher = Hasher()
        hasher.combine(type)
        hasher.combine(key)
        return hasher.finalize()
    }

    /// The first 64 bits of a hexadecimal SHA-256.
    static func prefix(_ hexHash: some StringProtocol) -> UInt64? { UInt64(hexHash.prefix(16), radix: 16) }

    mutating func insert(type: String, key: String, contentHash: String) {
        guard let prefix = Self.prefix(contentHash) else { return }
        entries[Self.entryKey(type: type, key: key)] = prefix
    }

    /// True when the entity is stored with this content hash (its document need not be sent).
    func isStored(type: String, key: String, contentHash: String) -> Bool {
        isStored(entry: Self.entryKey(type: type, key: key), contentHash: contentHash)
    }

    /// The same, for an entity whose ``entryKey(type:key:)`` the caller has already computed.
    func isStored(entry: Int, contentHash: String) -> Bool {
        guard let stored = entries[entry] else { return false }
        return stored == Self.prefix(contentHash)
    }

    /// Reads the hashes of every stored SAM entity (the import holds the SAM advisory lock, so they
    /// stay what the later diff compares with).
    static func load(connection: PostgresConnection, logger: Logger) async throws -> StoredContentHashes {
        var hashes = StoredContentHashes()
        let rows = try await connection.query(
            "SELECT entity_type, entity_key, content_hash FROM sam_entity", logger: logger)
        for try await (type, key, hash) in rows.decode((String, String, String).self) {
            hashes.insert(type: type, key: key, contentHash: hash)
        }
        return hashes
    }
}

/// The type-and-key hashes a run has read, staged or rejected, to know whether a key came twice
/// (then the SQL duplicate check runs, and a first import builds its search index in place).
struct SeenEntityKeys {
    private var entries = Set<Int>()
    /// Set once a hash was seen twice: a duplicate key or, rarely, a collision.
    private(set) var sawRepeat = false

    /// Notes an entity; returns its ``StoredContentHashes/entryKey(type:key:)``.
    @discardableResult
    mutating func note(type: String, key: String) -> Int {
        let entry = StoredContentHashes.entryKey(type: type, key: key)
        if !entries.insert(entry).inserted { sawRepeat = true }
        return entry
    }
}
