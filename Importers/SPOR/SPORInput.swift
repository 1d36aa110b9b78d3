import Foundation
import XMLStreaming

/// The files of a SPOR import: each PATH a file, a zip (its entries with the wanted extension are
/// read), or a folder (its files, sorted by name). Lists are a few MB, so each is read whole.
public enum SPORInput {
    public struct File: Sendable {
        public var name: String
        public var bytes: [UInt8]
    }

    public static func files(_ paths: [String], extensions: Set<String>) throws -> [File] {
        var files: [File] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError.cannotOpen(path: path, reason: "no such file or folder")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                for name in names where extensions.contains(ext(name)) || ext(name) == "zip" {
                    files += try Self.files([(path as NSString).appendingPathComponent(name)], extensions: extensions)
                }
            } else if ext(path) == "zip" {
                let archive = try ZipArchive(path: path)
                for entry in archive.entries where extensions.contains(ext(entry.name)) {
                    let source = try archive.open(entry)
                    var bytes: [UInt8] = []
                    while true {
                        let chunk = try source.read(maxLength: 1 << 20)
                        if chunk.isEmpty { break }
                        bytes += chunk
                    }
                    files.append(File(name: "\((path as NSString).lastPathComponent)/\(entry.name)", bytes: bytes))
                }
            } else {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                files.append(File(name: (path as NSString).lastPathComponent, bytes: [UInt8](data)))
            }
        }
        return files
    }

    static func ext(_ name: String) -> String { (name as NSString).pathExtension.lowercased() }
}
