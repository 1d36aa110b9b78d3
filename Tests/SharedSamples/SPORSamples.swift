import Foundation

/// Where the real SPOR samples of `../shared` are (RMS exports, the SMS extract, UNICOM's
/// derivations); tests that use them are skipped, saying why, where they are absent.
package enum SPORSamples {
    package static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/reference/spor-samples")
    package static let exports = directory.appendingPathComponent("rms-list-exports-csv").path
    package static var available: Bool { FileManager.default.fileExists(atPath: exports) }
}
