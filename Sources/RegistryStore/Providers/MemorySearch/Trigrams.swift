/// pg_trgm's trigrams and similarity for name keys (lowercase a-z only, one word), computed the
/// way the extension does, so the in-memory search ranks exactly like `similarity()` and `%`.
enum Trigrams {
    /// pg_trgm's default `similarity_threshold`, the bound of the `%` operator.
    static let threshold = 0.3

    /// The distinct trigrams of `"  key "`, packed three bytes to an integer, sorted.
    static func of(_ key: String) -> [UInt32] {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty else { return [] }
        let padded: [UInt32] = [0x20, 0x20] + bytes.map(UInt32.init) + [0x20]
        var trigrams: [UInt32] = []
        trigrams.reserveCapacity(bytes.count + 1)
        for i in 0..<(padded.count - 2) {
            trigrams.append(padded[i] << 16 | padded[i + 1] << 8 | padded[i + 2])
        }
        return Array(Set(trigrams)).sorted()
    }

    /// `similarity()`: shared trigrams over distinct trigrams of both, in float4 as pg_trgm does.
    static func similarity(shared: Int, _ a: Int, _ b: Int) -> Float {
        guard a > 0, b > 0 else { return 0 }
        return Float(shared) / Float(a + b - shared)
    }

    /// Whether `%` holds: pg_trgm compares its float4 similarity with the float8 threshold.
    static func isSimilar(_ similarity: Float) -> Bool { Double(similarity) >= threshold }
}
