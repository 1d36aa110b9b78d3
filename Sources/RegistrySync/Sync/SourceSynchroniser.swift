import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOFileSystem
import PostgresNIO
import RegistryCore
import RegistryImport
import RegistryStore

/// What one check of a source came to.
package enum SyncOutcome: String, Sendable, CaseIterable {
    /// A new version was downloaded and applied.
    case imported
    /// The upstream version is the one imported: nothing downloaded.
    case unchanged
    /// Every document answered 304 Not Modified: nothing downloaded.
    case notModified = "not-modified"
    /// The upstream version is lower than the one imported: not imported (warning and metric).
    case olderIgnored = "older-ignored"
    /// The download was refused by the import's quality gate (kept in the archive, recorded).
    case refused
    /// This version was refused before: not downloaded again until a newer one appears.
    case refusedBefore = "refused-before"
    /// No complete file in the drop folder (files still being written wait).
    case nothingNew = "nothing-new"
    /// Another process holds the source's sync lock and does this check.
    case busy
    case failed
}

/// The report of one check, for logs, `registry sync --once` and `source_sync`.
package struct SyncReport: Sendable {
    package var source: SyncSourceName
    package var outcome: SyncOutcome
    package var upstreamVersion: String?
    package var runId: Int64?
    package var message: String
    package var download: DownloadedFile?

    package var line: String {
        var text = "\(source.rawValue): \(outcome.rawValue)"
        if let upstreamVersion { text += " (version \(upstreamVersion))" }
        if let runId { text += " run #\(runId)" }
        if !message.isEmpty { text += ": \(message)" }
        return text
    }
}

/// One check of one source: take the source's sync lock, ask the source what it has, download
/// only what is new, import it through the pipeline, and record the outcome. Safe to run from
/// any number of processes: the lock makes the others answer ``SyncOutcome/busy``.
package struct SourceSynchroniser: Sendable {
    package let settings: SourceSettings
    let archive: SourceArchive
    let client: PostgresClient
    let logger: Logger
    let environment: [String: String]
    /// Progress lines of the download and the import (on a terminal).
    let progress: (@Sendable (String) -> Void)?

    package init(
        settings: SourceSettings, archiveRoot: String, client: PostgresClient, logger: Logger,
        environment: [String: String], progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.settings = settings
        archive = SourceArchive(root: archiveRoot, source: settings.name)
        self.client = client
        self.logger = logger
        self.environment = environment
        self.progress = progress
    }

    var repository: SourceSyncRepository { SourceSyncRepository(client: client, logger: logger) }

    /// Checks the source once; `force` imports even a version imported, refused or older.
    /// `nextCheck` is recorded for `/v1/sources`.
    package func check(force: Bool = false, nextCheck: Date? = nil) async throws -> SyncReport {
        let name = settings.name
        try await repository.register(source: name.rawValue, domain: name.domain.rawValue)
        let report: SyncReport? = try await client.withConnection { connection in
            let locked =
                try await connection.query("SELECT pg_try_advisory_lock(\(name.syncLockKey))", logger: logger)
                .decode(Bool.self).first { _ in true } ?? false
            guard locked else { return nil }
            let report = await checkLocked(force: force, nextCheck: nextCheck)
            // The lock is the session's: it goes with the connection if this query cannot run.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(name.syncLockKey))", logger: logger)
            return report
        }
        guard let report else {
            return SyncReport(
                source: name, outcome: .busy, upstreamVersion: nil, runId: nil,
                message: "another process is synchronising this source")
        }
        SyncMetrics.checked(name, outcome: report.outcome.rawValue)
        switch report.outcome {
        case .failed:
            logger.error("source check failed", metadata: ["source": "\(name.rawValue)", "error": "\(report.message)"])
        case .olderIgnored, .refused, .refusedBefore: logger.warning("\(report.line)")
        default: logger.info("\(report.line)")
        }
        return report
    }

    /// Runs the check and records it, whatever it came to.
    func checkLocked(force: Bool, nextCheck: Date?) async -> SyncReport {
        var validators: [String: SourceValidator]?
        var archiveList: [ArchivedVersion]?
        var report: SyncReport
        do {
            let state = try await repository.state(source: settings.name.rawValue)
            var work = Check(synchroniser: self, state: state, force: force)
            report = try await work.run()
            validators = work.newValidators
            archiveList = work.newArchive
        } catch {
            report = SyncReport(
                source: settings.name, outcome: .failed, upstreamVersion: nil, runId: nil,
                message: describeCheckError(error))
        }
        do {
            try await repository.recordCheck(
                source: settings.name.rawValue, outcome: report.outcome.rawValue,
                error: report.outcome == .failed || report.outcome == .refused ? report.message : nil,
                succeeded: report.outcome != .failed, nextCheck: nextCheck, upstreamVersion: report.upstreamVersion,
                validators: validators, archive: archiveList)
        } catch {
            logger.error("cannot record the source check", metadata: ["error": "\(describeCheckError(error))"])
        }
        return report
    }
}

/// A check's error in one line: an import error's first line (its report is in the run), anything
/// else as `describe` (RegistryStore) shows it.
func describeCheckError(_ error: any Error) -> String {
    if let error = error as? ImportError {
        return error.description.split(separator: "\n").first.map(String.init) ?? ""
    }
    return describe(error)
}

/// The work of one locked check.
struct Check {
    let synchroniser: SourceSynchroniser
    let state: SourceSyncState
    let force: Bool
    /// What the next check needs, when this one learnt it.
    var newValidators: [String: SourceValidator]?
    var newArchive: [ArchivedVersion]?

    var settings: SourceSettings { synchroniser.settings }
    var name: SyncSourceName { settings.name }
    var archive: SourceArchive { synchroniser.archive }
    var repository: SourceSyncRepository { synchroniser.repository }

    func report(_ outcome: SyncOutcome, version: String?, runId: Int64? = nil, _ message: String = "") -> SyncReport {
        SyncReport(source: name, outcome: outcome, upstreamVersion: version, runId: runId, message: message)
    }

    mutating func run() async throws -> SyncReport {
        if case .dropFolder(let path, let stableSeconds) = settings.transport {
            return try await dropFolderCheck(path: path, stableSeconds: stableSeconds)
        }
        let http = try SourceHTTPClient.make(for: settings, environment: synchroniser.environment)
        let downloader = Downloader(
            client: http, limits: settings.limits, logger: synchroniser.logger, progress: synchroniser.progress)
        do {
            let report: SyncReport
            switch settings.transport {
            case .samVersions(let base, let xsd):
                report = try await samCheck(base: base, xsd: xsd, downloader: downloader)
            case .documents(let documents): report = try await documentsCheck(documents, downloader: downloader)
            case .dropFolder: throw SyncError("unreachable: drop folders need no HTTP client")
            }
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    // MARK: SAM's version protocol

    mutating func samCheck(base: String, xsd: Int, downloader: Downloader) async throws -> SyncReport {
        let versionURL = "\(base)/samv2-full-getLastVersion?xsd=\(xsd)"
        let answer = try await downloader.text(url: versionURL).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let upstream = Int(answer), upstream >= 0 else {
            throw SyncError(
                "GET \(versionURL) answered \"\(SourceSyncRepository.printable(String(answer.prefix(80))))\"; expected a version number"
            )
        }
        let version = String(upstream)
        if !force, let current = try await repository.currentRun(source: name.rawValue),
            let imported = current.upstreamVersion.flatMap(Int.init)
        {
            if upstream == imported { return report(.unchanged, version: version, "version \(version) is imported") }
            if upstream < imported {
                SyncMetrics.versionRegressed(name)
                return report(
                    .olderIgnored, version: version,
                    "the source offers version \(upstream), lower than the imported \(imported); not imported")
            }
        }
        if !force, let refused = try await repository.refusedRun(source: name.rawValue, upstreamVersion: version) {
            return report(
                .refusedBefore, version: version, runId: refused.runId,
                "version \(version) was refused by run #\(refused.runId); waiting for a newer version (or --force)")
        }
        let url = "\(base)/samv2-download?type=FULL&version=\(version)&xsd=\(xsd)"
        let fileName = "samv2-full-\(version).zip"
        let entry: ArchivedVersion
        if let kept = archive.kept(version: version) {
            // Downloaded before (an import that failed or was interrupted): import the kept copy.
            entry = kept
        } else {
            let partial = try archive.incoming(fileName)
            guard case .downloaded(let file) = try await downloader.file(url: url, to: partial) else {
                throw SyncError("GET \(url) answered 304 to an unconditional request")
            }
            SyncMetrics.downloaded(name, bytes: file.bytes)
            entry = try archive.store(
                version: version, files: [(file.path, fileName, false)], bytes: file.bytes, sha256: file.sha256)
        }
        return try await importVersion(entry, url: url)
    }

    // MARK: Documents with conditional requests

    mutating func documentsCheck(_ documents: [SourceDocument], downloader: Downloader) async throws -> SyncReport {
        let latest = state.archive.first.flatMap { archive.holds($0) ? $0 : nil }
        var validators = state.validators
        var files: [(path: String, name: String, copy: Bool, sha256: String, bytes: UInt64)] = []
        var changed = false
        for document in documents {
            // A conditional request only when the archive still has the copy a 304 refers to.
            let kept = latest.flatMap { $0.files.contains(SourceArchive.safeName(document.fileName)) ? $0 : nil }
            let partial = try archive.incoming(document.fileName)
            let answer = try await downloader.file(
                url: document.url, to: partial, validator: kept == nil ? nil : validators[document.url])
            switch answer {
            case .notModified:
                guard let kept else {
                    throw SyncError("GET \(document.url) answered 304 Not Modified to an unconditional request")
                }
                let path = archive.path(version: kept.version, file: document.fileName)
                let previous = validators[document.url]
                files.append((path, document.fileName, true, previous?.sha256 ?? "", previous?.bytes ?? 0))
            case .downloaded(let file):
                changed = true
                SyncMetrics.downloaded(name, bytes: file.bytes)
                validators[document.url] = SourceValidator(
                    etag: file.etag, lastModified: file.lastModified, sha256: file.sha256, bytes: file.bytes)
                files.append((file.path, document.fileName, false, file.sha256, file.bytes))
            }
        }
        newValidators = validators
        guard changed || force else {
            return report(.notModified, version: nil, "every document answered 304 Not Modified")
        }
        let combined = combinedHash(files.map { ($0.name, $0.sha256) })
        let version = String(combined.prefix(16))
        if !force, let current = try await repository.currentRun(source: name.rawValue), current.sha256 == combined {
            discardIncoming(files)
            return report(.unchanged, version: version, "the documents are those imported by run #\(current.runId)")
        }
        if !force, let refused = try await repository.refusedRun(source: name.rawValue, sha256: combined) {
            discardIncoming(files)
            return report(
                .refusedBefore, version: version, runId: refused.runId,
                "these documents were refused by run #\(refused.runId); waiting for new ones (or --force)")
        }
        let entry = try archive.store(
            version: version, files: files.map { ($0.path, $0.name, $0.copy) },
            bytes: files.reduce(0) { $0 + $1.bytes }, sha256: combined)
        return try await importVersion(entry, url: documents.map(\.url).joined(separator: " "))
    }

    func discardIncoming(_ files: [(path: String, name: String, copy: Bool, sha256: String, bytes: UInt64)]) {
        for file in files where !file.copy { try? FileManager.default.removeItem(atPath: file.path) }
    }

    // MARK: Drop folder

    mutating func dropFolderCheck(path: String, stableSeconds: Double) async throws -> SyncReport {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SyncError("drop folder \(path) does not exist or is not a folder")
        }
        let now = Date()
        var complete: [(path: String, name: String, modified: Date, bytes: UInt64)] = []
        var waiting: [String] = []
        for name in try manager.contentsOfDirectory(atPath: path).sorted() where !name.hasPrefix(".") {
            let file = (path as NSString).appendingPathComponent(name)
            let attributes = try manager.attributesOfItem(atPath: file)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let modified = attributes[.modificationDate] as? Date ?? now
            let bytes = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
            // A writer appending to the file keeps moving its modification time: the file is
            // complete once it has not changed for `stableSeconds` and its size held while we looked.
            let recentlyChanged = now.timeIntervalSince(modified) < stableSeconds
            let sizeNow = ((try? manager.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.uint64Value
            if recentlyChanged || sizeNow != bytes || bytes == 0 {
                waiting.append(name)
            } else {
                complete.append((file, name, modified, bytes))
            }
        }
        guard !complete.isEmpty else {
            let detail =
                waiting.isEmpty ? "no file in \(path)" : "waiting for \(waiting.joined(separator: ", ")) to be complete"
            return report(.nothingNew, version: nil, detail)
        }
        // A practice register file is a whole snapshot: the newest wins. CoBRHA files (one per
        // source registry) are imported together.
        let chosen = name == .practices ? [complete.max { $0.modified < $1.modified }!] : complete
        var hashed: [(path: String, name: String, sha256: String, bytes: UInt64)] = []
        for file in chosen { hashed.append((file.path, file.name, try await sha256(ofFile: file.path), file.bytes)) }
        let combined = combinedHash(hashed.map { ($0.name, $0.sha256) })
        let version = String(combined.prefix(16))
        var validators = state.validators
        for file in hashed { validators[file.name] = SourceValidator(sha256: file.sha256, bytes: file.bytes) }
        newValidators = validators
        // Every complete file leaves the drop folder for the archive, imported or not, so that it is
        // taken once; older practice snapshots go along with the newest.
        let superseded = complete.filter { c in !chosen.contains { $0.path == c.path } }
        let entry = try archive.store(
            version: version,
            files: (hashed.map { ($0.path, $0.name) } + superseded.map { ($0.path, $0.name) }).map {
                ($0.0, $0.1, false)
            },
            bytes: hashed.reduce(0) { $0 + $1.bytes }, sha256: combined)
        var imported = entry
        imported.files = hashed.map { SourceArchive.safeName($0.name) }
        if !force, let current = try await repository.currentRun(source: name.rawValue), current.sha256 == combined {
            newArchive = archive.adding(entry, to: state.archive, keep: settings.keepVersions, protected: version)
            return report(.unchanged, version: version, "the files are those imported by run #\(current.runId)")
        }
        if !force, let refused = try await repository.refusedRun(source: name.rawValue, sha256: combined) {
            newArchive = archive.adding(entry, to: state.archive, keep: settings.keepVersions, protected: nil)
            return report(
                .refusedBefore, version: version, runId: refused.runId,
                "these files were refused by run #\(refused.runId)")
        }
        return try await importVersion(imported, url: "file://" + path)
    }

    // MARK: Import

    /// Imports an archived version through the pipeline, the run recording where it came from.
    mutating func importVersion(_ entry: ArchivedVersion, url: String) async throws -> SyncReport {
        let current = try await repository.currentRun(source: name.rawValue)
        newArchive = archive.adding(
            entry, to: state.archive, keep: settings.keepVersions, protected: current?.upstreamVersion)
        let paths = entry.files.map { archive.path(version: entry.version, file: $0) }
        let origin = ImportOrigin(
            syncSource: name.rawValue, upstreamVersion: entry.version, url: url, bytes: entry.bytes,
            sha256: entry.sha256)
        do {
            let summary = try await ImportOrigin.$current.withValue(origin) {
                try await SourceImport.run(
                    name, paths: paths, client: synchroniser.client, logger: synchroniser.logger,
                    maxDeleteShare: settings.maxDeleteShare, progress: synchroniser.progress)
            }
            return report(
                .imported, version: entry.version, runId: summary.runId,
                "\(summary.totalChanged) changes, \(summary.eventsEmitted) events")
        } catch ImportError.refused(let summary) {
            return report(
                .refused, version: entry.version, runId: summary.runId,
                "refused by the quality gate: \(summary.refusalReason ?? "")")
        }
    }

    func combinedHash(_ files: [(name: String, sha256: String)]) -> String {
        if files.count == 1 { return files[0].sha256 }
        let text = files.sorted { $0.name < $1.name }.map { "\($0.name) \($0.sha256)\n" }.joined()
        return hexString(SHA256.hash(data: Data(text.utf8)))
    }
}

struct SyncError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// SHA-256 of a file, read in 1 MiB chunks.
func sha256(ofFile path: String) async throws -> String {
    hexString(try await sha256Hasher(ofFile: path).finalize())
}
