import Foundation
import RegistryStore

/// The downloads of one source kept on disk, so that any imported version can be re-imported or
/// inspected: `{root}/{source}/{version}/{file}`, the newest `keep` versions. Downloads in
/// progress live in `{root}/{source}/.incoming/` until they are complete.
package struct SourceArchive: Sendable {
    package let directory: String

    package init(root: String, source: SyncSourceName) {
        directory = (root as NSString).appendingPathComponent(source.rawValue)
    }

    /// Where a download in progress is written (kept across attempts and processes to resume).
    package func incoming(_ fileName: String) throws -> String {
        let folder = (directory as NSString).appendingPathComponent(".incoming")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return (folder as NSString).appendingPathComponent(Self.safeName(fileName))
    }

    package func folder(version: String) -> String {
        (directory as NSString).appendingPathComponent(Self.safeName(version))
    }

    package func path(version: String, file: String) -> String {
        (folder(version: version) as NSString).appendingPathComponent(Self.safeName(file))
    }

    /// Whether the archive holds every file of `entry`.
    package func holds(_ entry: ArchivedVersion) -> Bool {
        entry.files.allSatisfy { FileManager.default.fileExists(atPath: path(version: entry.version, file: $0)) }
    }

    /// Moves (or, with `copy`, copies) finished files into the version's folder and describes it.
    package func store(
        version: String, files: [(source: String, name: String, copy: Bool)], bytes: UInt64, sha256: String
    ) throws -> ArchivedVersion {
        let target = folder(version: version)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: (target as NSString).appendingPathComponent(Self.manifestName))
        for file in files {
            let destination = path(version: version, file: file.name)
            if file.source == destination { continue }
            if FileManager.default.fileExists(atPath: destination) {
                try FileManager.default.removeItem(atPath: destination)
            }
            if file.copy {
                try FileManager.default.copyItem(atPath: file.source, toPath: destination)
            } else {
                try FileManager.default.moveItem(atPath: file.source, toPath: destination)
                try? FileManager.default.removeItem(atPath: file.source + ".etag")
            }
        }
        let entry = ArchivedVersion(
            version: version, files: files.map { Self.safeName($0.name) }, bytes: bytes, sha256: sha256,
            archivedAt: ISO8601DateFormatter().string(from: Date()))
        // Written last: a folder with its manifest holds a complete, verified download, which a
        // later run (after a crash before the import committed) imports without downloading again.
        let manifest = try JSONEncoder().encode(entry)
        try manifest.write(to: URL(fileURLWithPath: target).appendingPathComponent(Self.manifestName), options: .atomic)
        return entry
    }

    static let manifestName = ".version.json"

    /// The version kept on disk, when its folder has a manifest and every file it names.
    package func kept(version: String) -> ArchivedVersion? {
        let url = URL(fileURLWithPath: folder(version: version)).appendingPathComponent(Self.manifestName)
        guard let data = try? Data(contentsOf: url),
            let entry = try? JSONDecoder().decode(ArchivedVersion.self, from: data),
            entry.version == version, holds(entry)
        else { return nil }
        return entry
    }

    /// The list with `entry` added (replacing an entry of the same version), newest first, cut to
    /// `keep` entries; the folders of the entries cut are deleted, never that of `protected`.
    package func adding(_ entry: ArchivedVersion, to list: [ArchivedVersion], keep: Int, protected: String?)
        -> [ArchivedVersion]
    {
        var entries = [entry] + list.filter { $0.version != entry.version && holds($0) }
        let kept = Array(entries.prefix(max(1, keep)))
        for old in entries.dropFirst(max(1, keep)) where old.version != protected {
            try? FileManager.default.removeItem(atPath: folder(version: old.version))
        }
        entries = kept + entries.dropFirst(max(1, keep)).filter { $0.version == protected }
        return entries
    }

    /// A path component from a version or file name: letters, digits, `.`, `_` and `-` only.
    static func safeName(_ name: String) -> String {
        let cleaned = String(
            name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }.prefix(120))
        return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "_" : cleaned
    }
}
