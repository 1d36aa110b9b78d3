/// `registry_name_exact` and `registry_name_key` (migration 0011) computed in Swift, so a
/// search by name needs no round trip to fold the name.
///
/// The table is PostgreSQL's own `lower(unaccent(c))` for every character of the Basic
/// Multilingual Plane, read from the server (so it agrees with the `unaccent` rules and the
/// database's case mapping by construction). A name the table cannot fold for sure (a folded
/// character outside ASCII, or whitespace other than spaces) returns nil: the caller then asks
/// PostgreSQL.
package struct NameFolding: Sendable {
    /// Scalar value → its folding, for the scalars whose folding differs from themselves.
    let table: [UInt32: String]
    /// The highest scalar the table covers.
    let coverage: UInt32

    package init(table: [UInt32: String], coverage: UInt32 = 0xFFFF) {
        self.table = table
        self.coverage = coverage
    }

    /// Returns (exact, key): case and accents folded with spacing normalised, and letters only.
    package func fold(_ name: String) -> (exact: String, key: String)? {
        var folded: [UInt8] = []
        folded.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            guard scalar.value <= coverage else { return nil }
            if let mapped = table[scalar.value] {
                for byte in mapped.utf8 {
                    guard byte < 0x80 else { return nil }
                    folded.append(byte)
                }
            } else {
                guard scalar.value < 0x80 else { return nil }
                folded.append(UInt8(scalar.value))
            }
        }
        // PostgreSQL's \s also matches tab, newline, return, form feed and vertical tab; trim()
        // removes spaces only. Names with those characters are left to PostgreSQL.
        guard !folded.contains(where: { (0x09...0x0D).contains($0) }) else { return nil }
        var exact: [UInt8] = []
        var key: [UInt8] = []
        var pendingSpace = false
        for byte in folded {
            if byte == 0x20 {
                pendingSpace = !exact.isEmpty
                continue
            }
            if pendingSpace {
                exact.append(0x20)
                pendingSpace = false
            }
            exact.append(byte)
            if (0x61...0x7A).contains(byte) { key.append(byte) }
        }
        return (String(decoding: exact, as: UTF8.self), String(decoding: key, as: UTF8.self))
    }
}
