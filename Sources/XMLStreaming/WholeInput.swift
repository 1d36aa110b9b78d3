import Foundation

/// Reads a file or a zip entry whole, for the importers that must hold their input in memory (a
/// JSON document, a SPOR list), within ``InputLimits``.
///
/// It reads in chunks and stops as soon as a limit is passed, so a 10 GB file or a 2 GB line costs
/// one chunk past the limit, not the file: the size is never trusted from the file system or the
/// zip alone (a FIFO has none, a zip entry's is only declared).
package enum WholeInput {
    /// The bytes of `source`, named `name` in errors; `lines` also refuses a line longer than
    /// ``InputLimits/maxLineBytes`` (CSV; JSON may well be one line).
    package static func read(
        _ source: inout some ByteSource, name: String, limits: InputLimits = .current, lines: Bool,
        expectedSize: UInt64? = nil
    ) throws -> [UInt8] {
        var bytes: [UInt8] = []
        // Sized once: appending chunk by chunk would double the capacity past the limit.
        bytes.reserveCapacity(Int(min(expectedSize ?? 0, UInt64(limits.maxDocumentBytes))))
        var line = 1
        var lineLength = 0
        while true {
            let chunk = try source.read(maxLength: 1 << 20)
            if chunk.isEmpty { break }
            if lines {
                try chunk.withUnsafeBufferPointer { buffer in
                    for byte in buffer {
                        if byte == 0x0A {
                            line += 1
                            lineLength = 0
                        } else {
                            lineLength += 1
                            if lineLength > limits.maxLineBytes {
                                throw InputError.lineTooLong(path: name, line: line, limit: limits.maxLineBytes)
                            }
                        }
                    }
                }
            }
            guard bytes.count + chunk.count <= limits.maxDocumentBytes else {
                throw InputError.fileTooLarge(path: name, limit: limits.maxDocumentBytes)
            }
            bytes += chunk
        }
        return bytes
    }

    /// The bytes of the file at `path`.
    package static func read(path: String, name: String? = nil, limits: InputLimits = .current, lines: Bool)
        throws -> [UInt8]
    {
        // A regular file says its size: one over the limit is refused before a byte is read.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? UInt64
        if let size, size > UInt64(limits.maxDocumentBytes) {
            throw InputError.fileTooLarge(path: name ?? path, limit: limits.maxDocumentBytes)
        }
        var source = try FileByteSource(path: path)
        defer { source.close() }
        return try read(&source, name: name ?? path, limits: limits, lines: lines, expectedSize: size)
    }

    /// The bytes of one zip entry, refused before inflating when it declares more than a document may have.
    package static func read(
        _ entry: ZipEntry, of archive: ZipArchive, name: String, limits: InputLimits = .current, lines: Bool
    ) throws -> [UInt8] {
        try archive.check(entry)
        guard entry.uncompressedSize <= UInt64(limits.maxDocumentBytes) else {
            throw InputError.fileTooLarge(path: name, limit: limits.maxDocumentBytes)
        }
        var source = try archive.open(entry)
        return try read(&source, name: name, limits: limits, lines: lines, expectedSize: entry.uncompressedSize)
    }

    /// Refuses a JSON document nested deeper than ``InputLimits/maxNesting``, naming the line.
    ///
    /// Checked before parsing: Foundation's parser and the readers walking its result recurse, and
    /// a refusal that says where is more use than a parser's generic error.
    package static func checkJSONNesting(_ bytes: [UInt8], name: String, limits: InputLimits = .current) throws {
        var depth = 0
        var line = 1
        var inString = false
        var escaped = false
        for byte in bytes {
            if byte == 0x0A { line += 1 }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limits.maxNesting {
                    throw InputError.nestedTooDeep(path: name, line: line, limit: limits.maxNesting)
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
    }
}
