import Foundation
import XMLStreaming

/// The files of a SPOR import: each PATH a file, a zip (its entries with the wanted extension are
/// read), or a folder (its files, sorted by name). Lists are a few MB, so each is read whole, within
/// ``InputLimits``: a file or entry over `REGISTRY_MAX_DOCUMENT_MB`, a CSV line over
/// `REGISTRY_MAX_LINE_KB` or a zip bomb is refused as it is read, never held first.
package enum SPORInput {
    package struct File: Sendable {
        package var name: String
        package var bytes: [UInt8]
    }

    package static func files(_ paths: [String], extensions: Set<String>) throws -> [File] {
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
                    let name = "\((path as NSString).lastPathComponent)/\(entry.name)"
                    let bytes = try WholeInput.read(entry, of: archive, name: name, lines: ext(entry.name) == "csv")
                    files.append(File(name: name, bytes: bytes))
                }
            } else {
                let name = (path as NSString).lastPathComponent
                files.append(
                    File(name: name, bytes: try WholeInput.read(path: path, name: name, lines: ext(path) == "csv")))
            }
        }
        return files
    }

    static func ext(_ name: String) -> String { (name as NSString).pathExtension.lowercased() }
}
