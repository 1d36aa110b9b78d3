import DatabaseTestSupport
import FakeSources
import Foundation
import NIOSSL
import PostgresNIO
import RegistryStore
import RegistrySync
import Testing

/// Sources fetched as plain documents (conditional GET, client-certificate TLS) or taken from a
/// drop folder, against a fake on loopback and a real PostgreSQL.
@Suite(.timeLimit(.minutes(5)))
struct DocumentSyncTests {
    /// An SMS substance list as the importer reads it.
    static func substances(_ count: Int, renamed: Int? = nil) -> [UInt8] {
        var lines = ["substance_code,substance_name,moiety_code,moiety_name"]
        for i in 0..<count {
            lines.append("\(100_000_090_000 + i),\"\(i == renamed ? "renamed substance" : "substance \(i)")\",,")
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    static func sms(_ f: SyncFixture, base: String? = nil) -> SourceSettings {
        var settings = SourceSettings(
            name: .sporSMS,
            transport: .documents([
                SourceDocument(url: (base ?? f.base) + "/documents/substances.csv", fileName: "substances.csv")
            ]),
            schedule: .interval(seconds: 60, jitter: 0))
        settings.limits.maxAttempts = 2
        settings.limits.retryBaseDelay = 0.01
        settings.limits.connectTimeout = 3
        return settings
    }

    @Test func conditionalRequestsCostA304AndNoImportRun() async throws {
        var script = FakeSourceScript()
        script.documents["substances.csv"] = FakeDocument(bytes: Self.substances(40), etag: "\"v1\"")
        try await SyncFixture.with(script) { f in
            let first = try await f.check(Self.sms(f))
            #expect(first.outcome == .imported, "\(first.line)")
            #expect(try await f.count("SELECT count(*) FROM spor_sms_substance") == 40)

            let second = try await f.check(Self.sms(f))
            #expect(second.outcome == .notModified, "\(second.line)")
            #expect(f.fake.requests.last?.ifNoneMatch == "\"v1\"")
            #expect(f.fake.requests.last?.status == 304)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)

            // A new ETag with the same bytes: downloaded, but nothing to import.
            f.fake.script { $0.documents["substances.csv"]?.etag = "\"v1-regenerated\"" }
            let same = try await f.check(Self.sms(f))
            #expect(same.outcome == .unchanged, "\(same.line)")
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)

            f.fake.script {
                $0.documents["substances.csv"] = FakeDocument(bytes: Self.substances(40, renamed: 3), etag: "\"v2\"")
            }
            let changed = try await f.check(Self.sms(f))
            #expect(changed.outcome == .imported, "\(changed.line)")
            #expect(try await f.count("SELECT count(*) FROM import_run WHERE outcome = 'applied'") == 2)
            let sources = try await f.api("/v1/sources")
            let sms = ((sources.json as? [String: Any])?["sources"] as? [[String: Any]])?.first
            #expect(sms?["source"] as? String == "spor-sms")
            #expect((sms?["archive"] as? [Any])?.count == 2)
        }
    }

    @Test func aClientCertificateSourceAuthenticatesWithItsCertificate() async throws {
        let certificates = try await TestCertificates.make(in: try TestDatabase.temporaryDirectory())
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverPEM).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey, format: .pem)))
        // Only clients with a certificate of the test CA get in (as eHealth's services require).
        server.certificateVerification = .noHostnameVerification
        server.trustRoots = .file(certificates.caPEM)
        var script = FakeSourceScript()
        script.documents["substances.csv"] = FakeDocument(bytes: Self.substances(10), etag: "\"tls\"")
        try await SyncFixture.with(script, tls: TLSConfigurationBox(configuration: server)) { f in
            #expect(f.base.hasPrefix("https://"))
            var anonymous = Self.sms(f)
            anonymous.trustRootsPath = certificates.caPEM
            let refused = try await f.check(anonymous)
            #expect(refused.outcome == .failed, "\(refused.line)")
            #expect(try await f.count("SELECT count(*) FROM import_run") == 0)
            #expect(f.fake.requests.isEmpty)

            var withPEM = anonymous
            withPEM.clientCertificate = .pem(chainPath: certificates.clientPEM, keyPath: certificates.clientKey)
            let imported = try await f.check(withPEM)
            #expect(imported.outcome == .imported, "\(imported.line)")
            #expect(try await f.count("SELECT count(*) FROM spor_sms_substance") == 10)

            var withPKCS12 = anonymous
            withPKCS12.clientCertificate = .pkcs12(path: certificates.clientP12, password: TestCertificates.p12Password)
            let again = try await f.check(withPKCS12)
            #expect(again.outcome == .notModified, "\(again.line)")

            // A server the trust roots do not vouch for is not talked to.
            let untrusted = try await f.check(withPEM.withoutTrustRoots())
            #expect(untrusted.outcome == .failed)
        }
    }

    @Test func aDropFolderFileIsTakenOnlyOnceItIsComplete() async throws {
        let drop = try TestDatabase.temporaryDirectory() + "/drop"
        try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
        try await SyncFixture.with { f in
            let settings = SourceSettings(
                name: .cobrha, transport: .dropFolder(path: drop, stableSeconds: 30),
                schedule: .interval(seconds: 60, jitter: 0))
            #expect(try await f.check(settings).outcome == .nothingNew)
            // Being written: modified just now.
            let file = drop + "/fps-health.xml"
            try ProviderFixture.fpsHealth().write(toFile: file, atomically: false, encoding: .utf8)
            let waiting = try await f.check(settings)
            #expect(waiting.outcome == .nothingNew)
            #expect(waiting.message.contains("waiting for fps-health.xml"), "\(waiting.message)")
            #expect(try await f.count("SELECT count(*) FROM import_run") == 0)
            // Unchanged for longer than stableSeconds: complete.
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: file)
            let imported = try await f.check(settings)
            #expect(imported.outcome == .imported, "\(imported.line)")
            #expect(!FileManager.default.fileExists(atPath: file))
            let version = try #require(imported.upstreamVersion)
            let archived = f.archive + "/cobrha/\(version)/fps-health.xml"
            let sha = try await f.strings("SELECT download_sha256 FROM import_run WHERE id = \(imported.runId ?? 0)")
            #expect(sha == [try await sha256sum(archived)])
            #expect(try await f.check(settings).outcome == .nothingNew)
            #expect(try await f.count("SELECT count(*) FROM import_run") == 1)
        }
    }
}

extension SourceSettings {
    func withoutTrustRoots() -> SourceSettings {
        var copy = self
        copy.trustRootsPath = nil
        return copy
    }
}
