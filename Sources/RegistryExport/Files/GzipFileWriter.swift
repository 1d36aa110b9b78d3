import CompressNIO
import Crypto
import Foundation
import NIOCore

/// Writes a gzip file in pieces (compressing as it goes, 64 KiB window), and the SHA-256 and size
/// of what lands on disk, which the export listing publishes.
package final class GzipFileWriter {
    let handle: FileHandle
    let compressor: any NIOCompressor
    var pending = ByteBuffer()
    var hash = SHA256()
    private(set) var bytesWritten: Int64 = 0

    package init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ExportError.cannotWrite(path)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        // Level 3: less CPU than the default 6 for files about 40 % larger (32 → 44 MB at scale 1.0;
        // BENCHMARKS.md, "Offline mirrors"): the build runs beside the API on the same cores.
        compressor =
            CompressionAlgorithm.gzip(configuration: ZlibConfiguration(compressionLevel: 3))
            .compressor
        compressor.window = ByteBuffer(repeating: 0, count: 1 << 16)
        compressor.window?.clear()
        try compressor.startStream()
    }

    /// Appends `bytes`; compresses once 256 KiB are pending.
    package func write(_ bytes: some Sequence<UInt8>) throws {
        pending.writeBytes(bytes)
        if pending.readableBytes >= 1 << 18 { try compress(flush: .no) }
    }

    /// Compresses what is pending, finishes the gzip stream and closes the file.
    package func finish() throws -> (size: Int64, sha256: String) {
        try compress(flush: .finish)
        try compressor.finishStream()
        try handle.close()
        return (bytesWritten, hash.finalize().map { String(format: "%02x", $0) }.joined())
    }

    private func compress(flush: CompressNIOFlush) throws {
        try pending.compressStream(with: compressor, flush: flush) { window in
            let data = Data(window.readableBytesView)
            hash.update(data: data)
            bytesWritten += Int64(data.count)
            try handle.write(contentsOf: data)
        }
        pending.clear()
    }
}

package enum ExportError: Error, CustomStringConvertible {
    case cannotWrite(String)
    case noSAMData

    package var description: String {
        switch self {
        case .cannotWrite(let path): "cannot create \(path)"
        case .noSAMData: "no applied SAM import: there is nothing to export"
        }
    }
}

/// The SHA-256 (hex) and size of a file, read in 1 MiB pieces.
package func fileDigest(path: String) throws -> (size: Int64, sha256: String) {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var hash = SHA256()
    var size: Int64 = 0
    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
        hash.update(data: data)
        size += Int64(data.count)
    }
    return (size, hash.finalize().map { String(format: "%02x", $0) }.joined())
}
