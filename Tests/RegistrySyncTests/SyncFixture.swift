import DatabaseTestSupport
import FakeSources
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import RegistryAPI
import RegistryStore
import RegistrySync
import TestDataGenerators

/// Generated SAM exports, zipped, one per upstream version: each the next version of the one
/// before (a few changes), made once for the whole test run.
enum SAMVersions {
    static let zips: [String] = {
        var zips: [String] = []
        var previous: String?
        for index in 0..<3 {
            let dir = try! TestDatabase.temporaryDirectory()
            if let previous {
                _ = try! SAMExportGenerator.writeNextVersion(
                    from: previous, to: dir, changes: 20, seed: UInt64(100 + index), zip: true)
            } else {
                try! SAMExportGenerator(config: SAMGeneratorConfig(seed: 31, scale: 0.004)).write(to: dir, zip: true)
            }
            previous = dir
            let zip = try! FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".zip") }!
            zips.append(dir + "/" + zip)
        }
        return zips
    }()

    /// A file that starts like a zip and is not one.
    static let corrupt: String = {
        let path = try! TestDatabase.temporaryDirectory() + "/corrupt.zip"
        var bytes: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        bytes += (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }()
}

/// A fresh database, a fake source service and an archive folder for one test.
struct SyncFixture: Sendable {
    let postgres: PostgresClient
    let url: DatabaseURL
    let fake: FakeSourceServer
    let base: String
    let archive: String
    let logger = TestDatabase.logger

    static func with(
        _ script: FakeSourceScript = FakeSourceScript(), tls: TLSConfigurationBox? = nil,
        _ body: @Sendable (SyncFixture) async throws -> Void
    ) async throws {
        let fake = FakeSourceServer(script)
        try await TestDatabase.with { postgres, url in
            try await fake.run(tls: tls?.configuration) { base in
                let archive = try TestDatabase.temporaryDirectory() + "/archive"
                try await body(SyncFixture(postgres: postgres, url: url, fake: fake, base: base, archive: archive))
            }
        }
    }

    /// SAM on the fake, with quick retries.
    func sam(maxAttempts: Int = 4, retryBaseDelay: Double = 0.05) -> SourceSettings {
        var settings = SourceSettings(
            name: .sam, transport: .samVersions(baseURL: base + FakeSourceServer.downloadPath, xsd: 6),
            schedule: .interval(seconds: 60, jitter: 0))
        settings.limits.maxAttempts = maxAttempts
        settings.limits.retryBaseDelay = retryBaseDelay
        settings.limits.retryMaxDelay = 2
        settings.limits.stallTimeout = 10
        settings.limits.connectTimeout = 5
        return settings
    }

    func check(_ settings: SourceSettings, force: Bool = false, environment: [String: String] = [:]) async throws
        -> SyncReport
    {
        try await SourceSynchroniser(
            settings: settings, archiveRoot: archive, client: postgres, logger: logger, environment: environment
        ).check(force: force, nextCheck: Date().addingTimeInterval(60))
    }

    /// Requests of the export download (not of the version number).
    var downloads: [FakeRequest] { fake.requests.filter { $0.path.hasSuffix("/samv2-download") } }

    func count(_ sql: PostgresQuery) async throws -> Int64 {
        try await postgres.scalar(sql)
    }

    /// GET through the real router of the API on this database.
    func api(_ uri: String, headers: HTTPFields = [:]) async throws -> (
        status: HTTPResponse.Status, json: Any?, text: String
    ) {
        let app = try RegistryApplication.make(
            client: postgres, settings: ServerSettings(logLevel: .warning), logger: logger, runsClient: false)
        return try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: headers) { response in
                let bytes = Data(response.body.readableBytesView)
                return (
                    response.status, try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]),
                    String(decoding: bytes, as: UTF8.self)
                )
            }
        }
    }
}

/// A TLS configuration to hand through `@Sendable` closures.
struct TLSConfigurationBox: Sendable {
    let configuration: TLSConfiguration
}

/// SHA-256 of a file by `sha256sum`: an independent check of the hash the sync recorded.
func sha256sum(_ path: String) async throws -> String {
    let finished = try await ChildProcess.run("/usr/bin/sha256sum", [path])
    return String(finished.outputText.prefix(64))
}

extension Dictionary where Key == String, Value == Any {
    subscript(path path: String...) -> Any? {
        var current: Any? = self
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }
}
