import CZlib
import Foundation

/// A pull-based source of bytes: a plain file or one entry of a zip archive.
///
/// Pull keeps memory bounded: the importer asks for the next chunk only when the previous one
/// has been parsed and written to the database.
package protocol ByteSource {
    /// Reads up to `maxLength` bytes; an empty array means the end.
    mutating func read(maxLength: Int) throws -> [UInt8]
}

/// Errors reading input files; each names the file and what was wrong.
package enum InputError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notAZip(path: String, reason: String)
    case truncatedZip(path: String, reason: String)
    case unsupportedZip(path: String, reason: String)
    case corruptEntry(path: String, entry: String, reason: String)
    /// A zip entry declaring more bytes than ``InputLimits/maxZipEntryBytes``.
    case entryTooLarge(path: String, entry: String, declared: UInt64, limit: UInt64)
    /// A zip entry declaring a compression ratio above ``InputLimits/maxZipRatio``.
    case entryRatioTooHigh(path: String, entry: String, declared: UInt64, compressed: UInt64, limit: UInt64)
    /// A zip entry whose deflate stream goes on past its declared size (a zip bomb's trick).
    case entryInflatesBeyondDeclaredSize(path: String, entry: String, declared: UInt64)
    /// A file (or zip entry) an importer must hold whole that is larger than ``InputLimits/maxDocumentBytes``.
    case fileTooLarge(path: String, limit: Int)
    /// A CSV line longer than ``InputLimits/maxLineBytes``.
    case lineTooLong(path: String, line: Int, limit: Int)
    /// A line that is not UTF-8.
    case invalidUTF8(path: String, line: Int)
    /// JSON nested deeper than ``InputLimits/maxNesting``.
    case nestedTooDeep(path: String, line: Int, limit: Int)

    /// The line the error is about, when it is about one.
    package var line: Int? {
        switch self {
        case .lineTooLong(_, let line, _), .invalidUTF8(_, let line), .nestedTooDeep(_, let line, _): return line
        default: return nil
        }
    }

    package var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "\(p): cannot open: \(r)"
        case .notAZip(let p, let r): return "\(p): not a zip archive: \(r)"
        case .truncatedZip(let p, let r): return "\(p): the zip archive is truncated: \(r)"
        case .unsupportedZip(let p, let r): return "\(p): unsupported zip feature: \(r)"
        case .corruptEntry(let p, let e, let r): return "\(p) entry \(e): corrupt: \(r)"
        case .entryTooLarge(let p, let e, let declared, let limit):
            return
                "\(p) entry \(e): declares \(declared) uncompressed bytes, more than the \(limit) allowed (REGISTRY_MAX_ZIP_ENTRY_MB); refused"
        case .entryRatioTooHigh(let p, let e, let declared, let compressed, let limit):
            return
                "\(p) entry \(e): declares \(declared) bytes from \(compressed) compressed, a ratio above \(limit):1 (REGISTRY_MAX_ZIP_RATIO; a zip bomb?); refused"
        case .entryInflatesBeyondDeclaredSize(let p, let e, let declared):
            return "\(p) entry \(e): inflates beyond its declared \(declared) bytes (a zip bomb?); refused"
        case .fileTooLarge(let p, let limit):
            return
                "\(p): larger than the \(limit) bytes a file read whole may have (REGISTRY_MAX_DOCUMENT_MB); refused"
        case .lineTooLong(let p, let line, let limit):
            return "\(p) line \(line): longer than \(limit) bytes (REGISTRY_MAX_LINE_KB); refused"
        case .invalidUTF8(let p, let line): return "\(p) line \(line): not valid UTF-8; refused"
        case .nestedTooDeep(let p, let line, let limit):
            return
                "\(p) line \(line): JSON nested more than \(limit) levels deep (REGISTRY_MAX_NESTING; the source nests a few levels); refused"
        }
    }
}

/// Reads a regular file in chunks.
package struct FileByteSource: ByteSource {
    let handle: FileHandle
    package let path: String

    package init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError.cannotOpen(path: path, reason: "no such readable file")
        }
        self.handle = handle
        self.path = path
    }

    package mutating func read(maxLength: Int) throws -> [UInt8] {
        guard let data = try handle.read(upToCount: maxLength) else { return [] }
        return [UInt8](data)
    }

    package func close() { try? handle.close() }
}

/// One entry listed in a zip archive's central directory.
package struct ZipEntry: Sendable, Hashable {
    package let name: String
    package let method: UInt16
    package let crc32: UInt32
    package let compressedSize: UInt64
    package let uncompressedSize: UInt64
    package let localHeaderOffset: UInt64
}

/// A zip archive read from its central directory; entries are streamed, never extracted to disk.
///
/// Only what the SAM download uses is supported: stored and deflated entries, with Zip64 sizes.
/// A missing end-of-central-directory record means the download was cut short.
package struct ZipArchive {
    package let path: String
    package let entries: [ZipEntry]
    let fileSize: UInt64
    /// What an entry may declare and inflate to (checked when it is opened and while it inflates).
    package let limits: InputLimits

    package init(path: String, limits: InputLimits = .current) throws {
        self.path = path
        self.limits = limits
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError.cannotOpen(path: path, reason: "no such readable file")
        }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        fileSize = size
        guard size >= 22 else { throw InputError.truncatedZip(path: path, reason: "only \(size) bytes") }
        let tailLength = min(size, 65_557)
        try handle.seek(toOffset: size - tailLength)
        let tail = [UInt8](try handle.read(upToCount: Int(tailLength)) ?? Data())
        var eocd: Int?
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 {
                eocd = i
                break
            }
            i -= 1
        }
        guard let e = eocd else {
            let head = try? ZipArchive.readBytes(path: path, offset: 0, count: 4)
            if head == [0x50, 0x4B, 0x03, 0x04] {
                throw InputError.truncatedZip(path: path, reason: "end of central directory record not found")
            }
            throw InputError.notAZip(path: path, reason: "no zip signature")
        }
        var entryCount = UInt64(ZipArchive.le16(tail, e + 10))
        var cdSize = UInt64(ZipArchive.le32(tail, e + 12))
        var cdOffset = UInt64(ZipArchive.le32(tail, e + 16))
        // Zip64: the locator sits 20 bytes before the classic record.
        if (cdOffset == 0xFFFF_FFFF || entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF), e >= 20,
            ZipArchive.le32(tail, e - 20) == 0x0706_4B50
        {
            let zip64Offset = ZipArchive.le64(tail, e - 20 + 8)
            let rec = try ZipArchive.readBytes(path: path, offset: zip64Offset, count: 56)
            guard ZipArchive.le32(rec, 0) == 0x0606_4B50 else {
                throw InputError.truncatedZip(path: path, reason: "Zip64 end record missing")
            }
            entryCount = ZipArchive.le64(rec, 32)
            cdSize = ZipArchive.le64(rec, 40)
            cdOffset = ZipArchive.le64(rec, 48)
        }
        guard cdOffset + cdSize <= size else {
            throw InputError.truncatedZip(path: path, reason: "central directory lies beyond the end of the file")
        }
        let cd = try ZipArchive.readBytes(path: path, offset: cdOffset, count: Int(cdSize))
        var entries: [ZipEntry] = []
        var p = 0
        for _ in 0..<entryCount {
            guard p + 46 <= cd.count, ZipArchive.le32(cd, p) == 0x0201_4B50 else {
                throw InputError.truncatedZip(path: path, reason: "central directory entry \(entries.count) is damaged")
            }
            let flags = ZipArchive.le16(cd, p + 8)
            let method = ZipArchive.le16(cd, p + 10)
            let crc = ZipArchive.le32(cd, p + 16)
            var csize = UInt64(ZipArchive.le32(cd, p + 20))
            var usize = UInt64(ZipArchive.le32(cd, p + 24))
            let nameLength = Int(ZipArchive.le16(cd, p + 28))
            let extraLength = Int(ZipArchive.le16(cd, p + 30))
            let commentLength = Int(ZipArchive.le16(cd, p + 32))
            var offset = UInt64(ZipArchive.le32(cd, p + 42))
            guard p + 46 + nameLength + extraLength <= cd.count else {
                throw InputError.truncatedZip(path: path, reason: "central directory entry \(entries.count) is cut")
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var x = p + 46 + nameLength
            let extraEnd = x + extraLength
            while x + 4 <= extraEnd {
                let id = ZipArchive.le16(cd, x)
                let len = Int(ZipArchive.le16(cd, x + 2))
                if id == 0x0001 {
                    var q = x + 4
                    if usize == 0xFFFF_FFFF { usize = ZipArchive.le64(cd, q); q += 8 }
                    if csize == 0xFFFF_FFFF { csize = ZipArchive.le64(cd, q); q += 8 }
                    if offset == 0xFFFF_FFFF { offset = ZipArchive.le64(cd, q); q += 8 }
                }
                x += 4 + len
            }
            if flags & 0x1 != 0 { throw InputError.unsupportedZip(path: path, reason: "\(name) is encrypted") }
            guard method == 0 || method == 8 else {
                throw InputError.unsupportedZip(path: path, reason: "\(name) uses compression method \(method)")
            }
            entries.append(
                ZipEntry(
                    name: name, method: method, crc32: crc, compressedSize: csize, uncompressedSize: usize,
                    localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// Opens a streaming reader over one entry's uncompressed bytes; the CRC is checked at the end.
    ///
    /// Zip bombs are refused before a byte is inflated when the entry declares more than
    /// ``InputLimits/maxZipEntryBytes`` or an absurd compression ratio, and while inflating as
    /// soon as the output passes the declared size (never at the end, after the damage).
    package func open(_ entry: ZipEntry) throws -> ZipEntrySource {
        try check(entry)
        let header = try ZipArchive.readBytes(path: path, offset: entry.localHeaderOffset, count: 30)
        guard header.count == 30, ZipArchive.le32(header, 0) == 0x0403_4B50 else {
            throw InputError.corruptEntry(path: path, entry: entry.name, reason: "local header not found")
        }
        let dataOffset =
            entry.localHeaderOffset + 30 + UInt64(ZipArchive.le16(header, 26)) + UInt64(ZipArchive.le16(header, 28))
        guard dataOffset + entry.compressedSize <= fileSize else {
            throw InputError.truncatedZip(path: path, reason: "entry \(entry.name) extends beyond the end of the file")
        }
        return try ZipEntrySource(archivePath: path, entry: entry, dataOffset: dataOffset)
    }

    /// Refuses an entry whose declared size or compression ratio is beyond ``limits``.
    package func check(_ entry: ZipEntry) throws {
        guard entry.uncompressedSize <= limits.maxZipEntryBytes else {
            throw InputError.entryTooLarge(
                path: path, entry: entry.name, declared: entry.uncompressedSize, limit: limits.maxZipEntryBytes)
        }
        if entry.uncompressedSize > InputLimits.ratioExemptBytes,
            entry.uncompressedSize / max(entry.compressedSize, 1) > limits.maxZipRatio
        {
            throw InputError.entryRatioTooHigh(
                path: path, entry: entry.name, declared: entry.uncompressedSize, compressed: entry.compressedSize,
                limit: limits.maxZipRatio)
        }
    }

    package static func readBytes(path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw InputError.cannotOpen(path: path, reason: "no such readable file")
        }
        defer { try? h.close() }
        try h.seek(toOffset: offset)
        return [UInt8](try h.read(upToCount: count) ?? Data())
    }

    static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    static func le64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32 }
}

/// Streams one zip entry, inflating on the fly with zlib and verifying size and CRC-32.
package final class ZipEntrySource: ByteSource {
    let handle: FileHandle
    let entry: ZipEntry
    let archivePath: String
    var remainingCompressed: UInt64
    var stream = z_stream()
    var inputBuffer: [UInt8] = []
    var inputOffset = 0
    var finished = false
    var crc: UInt = 0
    var produced: UInt64 = 0

    init(archivePath: String, entry: ZipEntry, dataOffset: UInt64) throws {
        guard let h = FileHandle(forReadingAtPath: archivePath) else {
            throw InputError.cannotOpen(path: archivePath, reason: "no such readable file")
        }
        try h.seek(toOffset: dataOffset)
        handle = h
        self.entry = entry
        self.archivePath = archivePath
        remainingCompressed = entry.compressedSize
        if entry.method == 8 {
            let status = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                throw InputError.corruptEntry(
                    path: archivePath, entry: entry.name, reason: "zlib init failed (\(status))")
            }
        }
    }

    deinit {
        if entry.method == 8 { inflateEnd(&stream) }
        try? handle.close()
    }

    func corrupt(_ reason: String) -> InputError {
        .corruptEntry(path: archivePath, entry: entry.name, reason: reason)
    }

    func refill() throws {
        let want = Int(min(UInt64(256 * 1024), remainingCompressed))
        guard want > 0 else { inputBuffer = []; inputOffset = 0; return }
        let data = try handle.read(upToCount: want) ?? Data()
        if data.isEmpty {
            throw InputError.truncatedZip(path: archivePath, reason: "entry \(entry.name) ends early")
        }
        inputBuffer = [UInt8](data)
        inputOffset = 0
        remainingCompressed -= UInt64(data.count)
    }

    package func read(maxLength: Int) throws -> [UInt8] {
        if finished { return [] }
        var output: [UInt8]
        if entry.method == 0 {
            if inputOffset >= inputBuffer.count { try refill() }
            output = Array(inputBuffer[inputOffset..<min(inputBuffer.count, inputOffset + maxLength)])
            inputOffset += output.count
            if output.isEmpty { finished = true }
        } else {
            output = [UInt8](repeating: 0, count: maxLength)
            var producedNow = 0
            while producedNow == 0 {
                if inputOffset >= inputBuffer.count && remainingCompressed > 0 { try refill() }
                let availableIn = inputBuffer.count - inputOffset
                let status: Int32 = inputBuffer.withUnsafeMutableBufferPointer { inBuf in
                    output.withUnsafeMutableBufferPointer { outBuf in
                        stream.next_in = availableIn > 0 ? inBuf.baseAddress! + inputOffset : nil
                        stream.avail_in = UInt32(availableIn)
                        stream.next_out = outBuf.baseAddress!
                        stream.avail_out = UInt32(maxLength)
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                }
                inputOffset += availableIn - Int(stream.avail_in)
                producedNow = maxLength - Int(stream.avail_out)
                if status == Z_STREAM_END { finished = true; break }
                if status == Z_BUF_ERROR && availableIn == 0 && remainingCompressed == 0 {
                    throw InputError.truncatedZip(
                        path: archivePath, reason: "entry \(entry.name): deflate stream ends early")
                }
                if status != Z_OK && status != Z_BUF_ERROR {
                    throw corrupt("inflate failed (\(status))")
                }
            }
            output.removeSubrange(producedNow...)
        }
        if !output.isEmpty {
            // Checked on every chunk: a bomb declares a few bytes and inflates to gigabytes.
            guard produced + UInt64(output.count) <= entry.uncompressedSize else {
                finished = true
                throw InputError.entryInflatesBeyondDeclaredSize(
                    path: archivePath, entry: entry.name, declared: entry.uncompressedSize)
            }
            crc = output.withUnsafeBufferPointer { CZlib.crc32(crc, $0.baseAddress, UInt32($0.count)) }
            produced += UInt64(output.count)
        }
        if finished {
            guard produced == entry.uncompressedSize else {
                throw corrupt("expected \(entry.uncompressedSize) bytes, got \(produced)")
            }
            guard UInt32(truncatingIfNeeded: crc) == entry.crc32 else { throw corrupt("CRC-32 mismatch") }
        }
        return output
    }
}
