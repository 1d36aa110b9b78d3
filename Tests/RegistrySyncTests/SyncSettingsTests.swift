import DatabaseTestSupport
import Foundation
import RegistrySync
import Testing

/// The sync's configuration, schedules, retry and proxy rules: pure logic.
struct SyncSettingsTests {
    static func file(_ json: String) throws -> String {
        let path = try TestDatabase.temporaryDirectory() + "/registry.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aConfigurationFileNamesTheSourcesAndTheEnvironmentOverridesIt() async throws {
        let path = try Self.file(
            """
            {"sync": {"archiveDirectory": "/tmp/archive", "keepVersions": 5},
             "sources": {
               "sam": {"enabled": true, "xsd": 5, "interval": 600, "jitter": 0.2},
               "spor-rms": {"url": "https://spor.example/lists/{list}/export", "lists": ["100000000004", "200000000001"],
                            "cron": "15 6 * * 1-5"},
               "afmps-pharmacies": {"url": "https://afmps.example/pharmacies.json", "keepVersions": 2},
               "cobrha": {"dropFolder": "/srv/drop/cobrha", "stableSeconds": 10}
             }}
            """)
        let settings = try await SyncConfiguration.load(
            file: path, fileIsExplicit: true,
            environment: [
                "SOURCES_SAM_INTERVAL": "120", "SOURCES_SAM_BASE_URL": "http://127.0.0.1:9/download/",
                "SOURCES_PRACTICES_URL": "https://practices.example/practices.csv",
                "SOURCES_PRACTICES_CLIENT_CERTIFICATE": "/etc/registry/org.p12",
                "SOURCES_PRACTICES_CLIENT_CERTIFICATE_PASSWORD": "s3cret",
            ])
        #expect(settings.archiveDirectory == "/tmp/archive")
        #expect(settings.sources.map(\.name) == [.sam, .afmpsPharmacies, .sporRMS, .cobrha, .practices])
        let sam = try #require(settings.source(.sam))
        #expect(sam.transport == .samVersions(baseURL: "http://127.0.0.1:9/download", xsd: 5))
        #expect(sam.schedule == .interval(seconds: 120, jitter: 0.2))
        #expect(sam.keepVersions == 5)
        let rms = try #require(settings.source(.sporRMS))
        #expect(
            rms.transport
                == .documents([
                    SourceDocument(url: "https://spor.example/lists/100000000004/export", fileName: "100000000004.csv"),
                    SourceDocument(url: "https://spor.example/lists/200000000001/export", fileName: "200000000001.csv"),
                ]))
        #expect(rms.schedule == .cron(try CronExpression(parsing: "15 6 * * 1-5")))
        #expect(settings.source(.afmpsPharmacies)?.keepVersions == 2)
        #expect(settings.source(.cobrha)?.transport == .dropFolder(path: "/srv/drop/cobrha", stableSeconds: 10))
        #expect(
            settings.source(.practices)?.clientCertificate == .pkcs12(path: "/etc/registry/org.p12", password: "s3cret")
        )
    }

    @Test func withoutConfigurationNoSourceIsSynchronised() async throws {
        let settings = try await SyncConfiguration.load(
            file: "/nonexistent/registry.json", fileIsExplicit: false, environment: [:])
        #expect(settings.sources.isEmpty)
        #expect(settings.archiveDirectory == ".registry/archive")
        // SAM alone: enabled, the official download service by default.
        let sam = try await SyncConfiguration.load(
            file: nil, fileIsExplicit: false, environment: ["SOURCES_SAM_ENABLED": "true"])
        #expect(sam.source(.sam)?.transport == .samVersions(baseURL: SyncConfiguration.defaultSAMBaseURL, xsd: 6))
        #expect(sam.source(.sam)?.schedule == .interval(seconds: 3600, jitter: 0.1))
    }

    @Test(arguments: [
        (["SOURCES_SAM_ENABLED": "true", "SOURCES_SAM_INTERVAL": "soon"], "sources.sam.interval"),
        (["SOURCES_SAM_ENABLED": "true", "SOURCES_SAM_INTERVAL": "-5"], "sources.sam.interval"),
        (["SOURCES_SAM_ENABLED": "yes please"], "sources.sam.enabled"),
        (["SOURCES_SAM_BASE_URL": "ftp://example/x"], "sources.sam.baseUrl"),
        (["SOURCES_SAM_ENABLED": "true", "SOURCES_SAM_CRON": "61 * * * *"], "sources.sam.cron"),
        (
            ["SOURCES_SPOR_RMS_URL": "https://x.example/{list}", "SOURCES_SPOR_RMS_LISTS": "12a"],
            "sources.spor-rms.lists"
        ),
        (["SOURCES_SPOR_SMS_ENABLED": "true"], "sources.spor-sms"),
        (
            ["SOURCES_COBRHA_URL": "https://x.example/c.xml", "SOURCES_COBRHA_CLIENT_CERTIFICATE": "/c.pem"],
            "clientKey"
        ),
        (["SOURCES_SAM_ENABLED": "true", "SOURCES_SAM_MAX_DELETE_SHARE": "2"], "maxDeleteShare"),
    ])
    func anInvalidSettingIsAnErrorNamingItsKey(environment: [String: String], key: String) async throws {
        let error = await #expect(throws: SyncConfiguration.Invalid.self) {
            try await SyncConfiguration.load(file: nil, fileIsExplicit: false, environment: environment)
        }
        #expect(error?.description.contains(key) == true, "\(error?.description ?? "")")
    }

    @Test func aMissingExplicitFileOrBrokenJSONIsAnError() async throws {
        await #expect(throws: SyncConfiguration.Invalid.self) {
            try await SyncConfiguration.load(file: "/nonexistent/registry.json", fileIsExplicit: true, environment: [:])
        }
        let broken = try Self.file("{\"sources\": {\"sam\": ")
        await #expect(throws: SyncConfiguration.Invalid.self) {
            try await SyncConfiguration.load(file: broken, fileIsExplicit: false, environment: [:])
        }
    }

    @Test func cronExpressionsFindTheNextMatchingMinuteInBrusselsTime() throws {
        let formatter = ISO8601DateFormatter()
        let start = formatter.date(from: "2026-12-07T10:20:30Z")!  // a Monday, 11:20:30 in Brussels
        // 06:15 Brussels on weekdays: Tuesday 05:15 UTC (winter time).
        #expect(
            try CronExpression(parsing: "15 6 * * 1-5").nextMatch(after: start)
                == formatter.date(from: "2026-12-08T05:15:00Z"))
        #expect(
            try CronExpression(parsing: "*/15 * * * *").nextMatch(after: start)
                == formatter.date(from: "2026-12-07T10:30:00Z"))
        // Saturday 3:00 in summer time (UTC+2).
        #expect(
            try CronExpression(parsing: "0 3 * * 6").nextMatch(after: formatter.date(from: "2026-07-01T00:00:00Z")!)
                == formatter.date(from: "2026-07-04T01:00:00Z"))
        #expect(
            try CronExpression(parsing: "0 0 1 1 *").nextMatch(after: start)
                == formatter.date(from: "2026-12-31T23:00:00Z"))
        for bad in ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *", ""] {
            #expect(throws: CronExpression.ParseError.self, "\(bad)") { try CronExpression(parsing: bad) }
        }
    }

    @Test func intervalsSpreadByTheirJitter() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let schedule = SyncSchedule.interval(seconds: 100, jitter: 0.1)
        #expect(schedule.nextCheck(after: now, random: 0).timeIntervalSince(now) == 90)
        #expect(schedule.nextCheck(after: now, random: 0.5).timeIntervalSince(now) == 100)
        #expect(abs(schedule.nextCheck(after: now, random: 0.999_999).timeIntervalSince(now) - 110) < 0.001)
    }

    @Test func retriesGrowExponentiallyWithJitterCappedAndHonourRetryAfter() {
        let policy = DownloadRetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 10)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 1)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1) == 4)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0) == 2)
        #expect(policy.delay(afterAttempt: 9, retryAfter: nil, random: 1) == 10)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 7, random: 0) == 7)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 3600, random: 0) == 10)
        #expect([500, 502, 503, 504, 408, 429].allSatisfy(DownloadRetryPolicy.isRetryable))
        #expect(![400, 401, 403, 404, 410, 416].contains(where: DownloadRetryPolicy.isRetryable))
        let now = Date(timeIntervalSince1970: 1_796_637_600)  // Mon, 07 Dec 2026 10:00:00 GMT
        #expect(DownloadRetryPolicy.parseRetryAfter("120", now: now) == 120)
        #expect(DownloadRetryPolicy.parseRetryAfter("Mon, 07 Dec 2026 10:00:30 GMT", now: now) == 30)
        #expect(DownloadRetryPolicy.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func proxiesComeFromTheEnvironmentExceptForNoProxyHosts() throws {
        let proxies = ProxySettings(environment: [
            "https_proxy": "http://user:p%40ss@proxy.hospital.be:3128", "HTTP_PROXY": "proxy2.hospital.be:8080",
            "no_proxy": "localhost,.internal.be,127.0.0.1",
        ])
        let secure = try #require(proxies.proxy(for: URL(string: "https://www.vas.ehealth.fgov.be/x")!))
        #expect(secure.host == "proxy.hospital.be" && secure.port == 3128)
        #expect(secure.username == "user" && secure.password == "p@ss")
        #expect(proxies.proxy(for: URL(string: "http://spor.ema.europa.eu/x")!)?.host == "proxy2.hospital.be")
        #expect(proxies.proxy(for: URL(string: "https://sftp.internal.be/x")!) == nil)
        #expect(proxies.proxy(for: URL(string: "http://127.0.0.1:8080/x")!) == nil)
        #expect(ProxySettings(environment: [:]).proxy(for: URL(string: "https://a.example")!) == nil)
    }
}
