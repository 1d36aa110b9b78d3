import Foundation

/// Where the real SPOR samples of `../shared` are (RMS exports, the SMS extract, UNICOM's
/// derivations); tests that use them are skipped, saying why, where they are absent.
public enum SPORSamples {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/reference/spor-samples")
    public static let exports = directory.appendingPathComponent("rms-list-exports-csv").path
    public static var available: Bool { FileManager.default.fileExists(atPath: exports) }
}
