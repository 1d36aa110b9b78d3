import Foundation

/// The limits every importer applies to hostile or broken input, in one place.
///
/// An importer reads files an operator downloaded from somewhere else; a file that nests
/// elements 10,000 deep, a zip entry that inflates to terabytes or a CSV with a 2 GB line must be
/// refused with a reason (exit 3, nothing applied), never crash the process or exhaust its memory.
/// The defaults are far above what the real sources need and each can be changed through the
/// environment (documented in README.md, "What an import guarantees").
package struct InputLimits: Sendable, Equatable {
    /// Deepest element nesting inside one entity (the entity's own element is level 1) and the
    /// deepest nesting of a JSON document. SAM entities nest about 6 levels, CoBRHA records 4, SPOR
    /// JSON a handful; the element tree, its mapping and the canonical JSON of an entity are walked
    /// recursively, so this bounds their stack use. `REGISTRY_MAX_NESTING`.
    package var maxNesting: Int
    /// Most bytes one entity's element tree may hold (text, attributes and ~48 bytes of
    /// bookkeeping per element): only one entity is in memory at a time, so this bounds the
    /// reader's memory even when an entity has millions of children. `REGISTRY_MAX_ENTITY_MB`.
    package var maxEntityBytes: Int
    /// Largest uncompressed size a zip entry may declare. `REGISTRY_MAX_ZIP_ENTRY_MB`.
    package var maxZipEntryBytes: UInt64
    /// Highest compression ratio (uncompressed : compressed) a zip entry may declare once it is
    /// larger than 1 MiB: XML and CSV compress about 5-30 to 1, a zip bomb of zeros about 1000 to 1.
    /// `REGISTRY_MAX_ZIP_RATIO`.
    package var maxZipRatio: UInt64
    /// Largest file (or zip entry) an importer reads whole into memory (SPOR lists, the pharmacy
    /// and practice JSON): a streamed importer never holds a file. `REGISTRY_MAX_DOCUMENT_MB`.
    package var maxDocumentBytes: Int
    /// Longest line of a CSV file. `REGISTRY_MAX_LINE_KB`.
    package var maxLineBytes: Int

    package init(
        maxNesting: Int = 64, maxEntityBytes: Int = 64 << 20, maxZipEntryBytes: UInt64 = 4 << 30,
        maxZipRatio: UInt64 = 200, maxDocumentBytes: Int = 256 << 20, maxLineBytes: Int = 1 << 20
    ) {
        self.maxNesting = maxNesting
        self.maxEntityBytes = maxEntityBytes
        self.maxZipEntryBytes = maxZipEntryBytes
        self.maxZipRatio = maxZipRatio
        self.maxDocumentBytes = maxDocumentBytes
        self.maxLineBytes = maxLineBytes
    }

    /// Entries smaller than this are never refused for their ratio (a tiny file of blanks may
    /// legitimately compress very well).
    package static let ratioExemptBytes: UInt64 = 1 << 20

    /// The defaults, overridden by the environment variables named on each limit.
    package static let current: InputLimits = from(environment: ProcessInfo.processInfo.environment)

    /// The defaults overridden by whichever of the variables `environment` sets to a positive number.
    package static func from(environment: [String: String]) -> InputLimits {
        var limits = InputLimits()
        func value(_ name: String) -> Int? {
            guard let text = environment[name], let number = Int(text), number > 0 else { return nil }
            return number
        }
        if let n = value("REGISTRY_MAX_NESTING") { limits.maxNesting = n }
        if let n = value("REGISTRY_MAX_ENTITY_MB") { limits.maxEntityBytes = n << 20 }
        if let n = value("REGISTRY_MAX_ZIP_ENTRY_MB") { limits.maxZipEntryBytes = UInt64(n) << 20 }
        if let n = value("REGISTRY_MAX_ZIP_RATIO") { limits.maxZipRatio = UInt64(n) }
        if let n = value("REGISTRY_MAX_DOCUMENT_MB") { limits.maxDocumentBytes = n << 20 }
        if let n = value("REGISTRY_MAX_LINE_KB") { limits.maxLineBytes = n << 10 }
        return limits
    }
}
