import XMLStreaming
import Foundation
import RegistryCore

/// Writes XML text to a file through a 1 MiB buffer (the generator writes ~1 GB files).
final class XMLFileWriter {
    let handle: FileHandle
    var buffer: [UInt8] = []
    private(set) var bytesWritten: UInt64 = 0

    init(path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw InputError.cannotOpen(path: path, reason: "cannot create file")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20 + 4096)
    }

    func raw(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    /// Appends escaped character data.
    func text(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "&"): buffer.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): buffer.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): buffer.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): buffer.append(contentsOf: "&quot;".utf8)
            default: buffer.append(byte)
            }
        }
    }

    /// `<p:name a="v">value</p:name>` on one line.
    func element(_ qname: String, _ value: String, attributes: [(String, String)] = []) {
        raw("<\(qname)")
        for (n, v) in attributes {
            raw(" \(n)=\"")
            text(v)
            raw("\"")
        }
        raw(">")
        text(value)
        raw("</\(qname)>")
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        bytesWritten += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() {
        flush()
        try? handle.close()
    }
}

/// Seeded draws for the generator (which must be reproducible), on ``SplitMix64``.
struct SeededRandom {
    var mix: SplitMix64

    init(seed: UInt64) { mix = SplitMix64(state: seed &+ 0x9E37_79B9_7F4A_7C15) }

    init(seed: UInt64, stream: UInt64, index: Int) {
        self.init(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93) ^ (UInt64(index) &* 0xA076_1D64_78BD_642F))
        _ = next()
    }

    mutating func next() -> UInt64 { mix.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, int(0...i)) }
    }
}
