import DatabaseTestSupport
import Foundation
import RegistryImport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The limits that keep a hostile client from exhausting the server (issue 17): slow clients,
/// request rate, slow statements, audit growth, personal data in logs, the metrics endpoint.
@Suite(.timeLimit(.minutes(5)))
struct ProtectionTests {
    // MARK: Through a real `registry serve`

    @Test func halfOpenConnectionsAreClosedWithinTheHeaderTimeoutWhileRequestsAreAnswered() async throws {
        try await TestDatabase.with { _, url in
            let port = ServeProcessTests.freePort()
            let metricsPort = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(
                port: port, databaseURL: url,
                environment: ["HEADER_TIMEOUT": "2", "IDLE_TIMEOUT": "600", "METRICS_PORT": String(metricsPort)])
            defer { server.process.terminate() }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(server.output)")
            // 50 connections send half a request head; 5 more keep trickling a byte of it every 300 ms.
            let started = ContinuousClock.now
            var slow: [RawSocket] = []
            for _ in 0..<50 {
                let socket = try RawSocket(port: port)
                try socket.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                slow.append(socket)
            }
            var trickling: [RawSocket] = []
            for _ in 0..<5 {
                let socket = try RawSocket(port: port)
                try socket.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ")
                trickling.append(socket)
            }
            // Normal requests keep being answered meanwhile.
            for _ in 0..<5 {
                #expect(try await ServeProcessTests.get("http://127.0.0.1:\(port)/health/live")?.0 == 200)
                for socket in trickling { try? socket.send("a") }
                try await Task.sleep(for: .milliseconds(300))
            }
            for socket in slow + trickling {
                #expect(await socket.closes(withinSeconds: 60), "the server closed the half-open connection")
            }
            // Well before the idle timeout (600 s): the header deadline closed them (2 s; the bound
            // leaves room for a loaded machine).
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(120), "closed by the 2 s header timeout, not the idle timeout: \(elapsed)")
            #expect(try await ServeProcessTests.get("http://127.0.0.1:\(port)/health/live")?.0 == 200)
            #expect(server.process.isRunning)
            let closed = try await Self.metric("registry_header_timeouts_total", port: metricsPort)
            #expect(closed >= 55, "\(closed) counted")
            await server.stop()
        }
    }

    /// A counter's value from the metrics listener on `port` (0 when absent).
    static func metric(_ name: String, port: Int) async throws -> Double {
        let text = String(
            decoding: try await ServeProcessTests.get("http://127.0.0.1:\(port)/metrics")?.1 ?? Data(), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Bytes no HTTP client library would send: each gets a status below 500 or a closed
    /// connection, and the server keeps answering.
    @Test func hostileBytesOverTCPNeverKillTheServer() async throws {
        try await TestDatabase.with { _, url in
            let port = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(
                port: port, databaseURL: url, environment: ["HEADER_TIMEOUT": "2", "REQUEST_TIMEOUT": "3"])
            defer { server.process.terminate() }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(server.output)")
            let host = "Host: 127.0.0.1\r\n"
            let texts: [String] = [
                "GET /fhir/metadata?=x HTTP/1.1\r\n\(host)\r\n",
                "GET /fhir/Practitioner?%3A=1 HTTP/1.1\r\n\(host)\r\n",
                "GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/9.9\r\n\(host)\r\n",
                "GET /health/live HTTP/1.1\r\n\(host)X-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n",
                "GET /health/live HTTP/1.1\r\n\(host)" + String(repeating: "X-F: 1\r\n", count: 2000) + "\r\n",
                "POST /v1/subscriptions HTTP/1.1\r\n\(host)Content-Length: 99999999999\r\n"
                    + "Content-Type: application/json\r\n\r\n{",
                "POST /v1/providers/lookup HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n",
                "POST /v1/subscriptions HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
                "GET /v1/medicines?q=" + String(repeating: "%", count: 3000) + " HTTP/1.1\r\n\(host)\r\n",
                "GET /v1/changes?after=0&wait=30&types=nothing.* HTTP/1.1\r\n\(host)\r\n",
            ]
            let tail = Array(" HTTP/1.1\r\n\(host)\r\n".utf8)
            var requests = texts.map { Array($0.utf8) }
            requests.append(Array("GET /v1/medicines/cnk/".utf8) + [0] + tail)
            requests.append(Array("GET /v1/medicines?q=".utf8) + [0xFF, 0xFE, 0xC0, 0x80] + tail)
            requests.append(
                Array("GET /health/live HTTP/1.1\r\n\(host)X-A: ".utf8) + [0xC0, 0x80, 0xFF] + Array("\r\n\r\n".utf8))
            for request in requests {
                let socket = try RawSocket(port: port)
                try? socket.send(bytes: request)
                let status = await socket.status(withinSeconds: 8)
                #expect(
                    status.map { $0 < 500 } ?? true,
                    "\(String(decoding: request.prefix(60), as: UTF8.self)) → \(status ?? 0)")
            }
            #expect(try await ServeProcessTests.get("http://127.0.0.1:\(port)/health/live")?.0 == 200)
            #expect(server.process.isRunning, "\(server.output)")
            await server.stop()
        }
    }

    @Test func requestsOverTheRateLimitGet429WithRetryAfterAndAreCounted() async throws {
        try await TestDatabase.with { postgres, url in
            let (_, token) = try await ClientRepository(client: postgres, logger: TestDatabase.logger).create(
                name: "scraper", scopes: [.metricsRead])
            let port = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(
                port: port, databaseURL: url,
                environment: ["RATE_LIMIT": "0.001/5", "RATE_LIMIT_EXEMPT": "", "CLIENT_RATE_LIMIT": "0"])
            defer { server.process.terminate() }
            // Readiness is polled with the token: a client's requests are not charged to the address.
            var live = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health/live")!)
            live.setValue("Bearer \(token.text)", forHTTPHeaderField: "Authorization")
            var ready = false
            for _ in 0..<100 where !ready {
                ready = ((try? await URLSession.shared.data(for: live))?.1 as? HTTPURLResponse)?.statusCode == 200
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready, "\(server.output)")
            var statuses: [Int] = []
            var limited: HTTPURLResponse?
            var body = Data()
            for _ in 0..<12 {
                let (data, response) = try await URLSession.shared.data(
                    from: URL(string: "http://127.0.0.1:\(port)/health/live")!)
                let http = response as! HTTPURLResponse
                statuses.append(http.statusCode)
                if http.statusCode == 429, limited == nil { (limited, body) = (http, data) }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 200 }, "the burst passes: \(statuses)")
            #expect(statuses.filter { $0 == 429 }.count >= 5, "\(statuses)")
            #expect(limited?.value(forHTTPHeaderField: "Content-Type") == "application/problem+json")
            #expect(Int(limited?.value(forHTTPHeaderField: "Retry-After") ?? "") ?? 0 >= 1)
            let problem = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            #expect((problem?["type"] as? String)?.hasSuffix("rate-limited") == true)
            #expect(problem?["status"] as? Int == 429)
            // A client with a token has its own (here unlimited) bucket, and sees the refusals counted.
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            request.setValue("bearer \(token.text)", forHTTPHeaderField: "Authorization")
            var metrics = ""
            for _ in 0..<3 {
                let (data, response) = try await URLSession.shared.data(for: request)
                #expect((response as! HTTPURLResponse).statusCode == 200)
                metrics = String(decoding: data, as: UTF8.self)
            }
            let line = metrics.split(separator: "\n").first {
                $0.hasPrefix("registry_rate_limited_total{by=\"address\"}")
            }
            #expect(line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 >= 5, "\(line ?? "no line")")
            await server.stop()
        }
    }

    /// A CNK lookup while another session holds `sam_entity` locked:
    /// the problem type of the 503 it answers, and how long that took.
    static func lookupWhileLocked(_ url: DatabaseURL, port: Int) async throws -> (String?, Duration) {
        try await withPostgresConnection(url, logger: TestDatabase.logger) { connection in
            try await connection.query("BEGIN", logger: TestDatabase.logger)
            try await connection.query("LOCK TABLE sam_entity IN ACCESS EXCLUSIVE MODE", logger: TestDatabase.logger)
            let started = ContinuousClock.now
            let answer = try await ServeProcessTests.get("http://127.0.0.1:\(port)/v1/medicines/cnk/0046128")
            let elapsed = ContinuousClock.now - started
            #expect(answer?.0 == 503)
            let problem = answer.flatMap { try? JSONSerialization.jsonObject(with: $0.1) as? [String: Any] }
            try await connection.query("ROLLBACK", logger: TestDatabase.logger)
            return (problem?["type"] as? String, elapsed)
        }
    }

    @Test(arguments: [
        (["STATEMENT_TIMEOUT_MS": "300"], "statement-timeout", "registry_statement_timeouts_total"),
        (["STATEMENT_TIMEOUT_MS": "0", "REQUEST_TIMEOUT": "1"], "request-timeout", "registry_request_timeouts_total"),
    ])
    func aStuckLookupIsA503AndTheNextOneIsAnswered(environment: [String: String], problem: String, counter: String)
        async throws
    {
        try await TestDatabase.with { _, url in
            let port = ServeProcessTests.freePort()
            let metricsPort = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(
                port: port, databaseURL: url,
                environment: environment.merging(["RESPONSE_CACHE_MB": "0", "METRICS_PORT": String(metricsPort)]) {
                    a, _ in a
                })
            defer { server.process.terminate() }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(server.output)")
            let (type, elapsed) = try await Self.lookupWhileLocked(url, port: port)
            #expect(type?.hasSuffix(problem) == true, "\(type ?? "no problem")")
            #expect(try await Self.metric(counter, port: metricsPort) == 1)
            #expect(elapsed < .seconds(30), "answered at the deadline, not when the lock goes")
            // With a statement timeout the lookup's prepared statement failed to prepare while the
            // table was locked: the connection must not keep answering that error (PostgresNIO caches it).
            let after = try await ServeProcessTests.get("http://127.0.0.1:\(port)/v1/medicines/cnk/0046128")
            #expect(after?.0 == 404, "\(String(decoding: after?.1 ?? Data(), as: UTF8.self)) \(server.output)")
            await server.stop()
        }
    }

    @Test func aNationalNumberNeverReachesTheLogsAndThePostFormAnswersLikeTheGet() async throws {
        let folder = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        try await TestDatabase.with { postgres, url in
            _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: folder)
            let (_, token) = try await ClientRepository(client: postgres, logger: TestDatabase.logger).create(
                name: "portal", scopes: [.providersSensitive])
            let ssin = ProviderFixture.people[0].ssin
            let port = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(port: port, databaseURL: url, environment: ["LOG_LEVEL": "debug"])
            defer { server.process.terminate() }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(server.output)")
            var get = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/providers?ssin=\(ssin)")!)
            get.setValue("Bearer \(token.text)", forHTTPHeaderField: "Authorization")
            let (getBody, getResponse) = try await URLSession.shared.data(for: get)
            #expect((getResponse as! HTTPURLResponse).statusCode == 200)
            var post = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/providers/lookup")!)
            post.httpMethod = "POST"
            post.setValue("Bearer \(token.text)", forHTTPHeaderField: "Authorization")
            post.setValue("application/json", forHTTPHeaderField: "Content-Type")
            post.httpBody = Data(#"{"ssin":"\#(ssin)"}"#.utf8)
            let (postBody, postResponse) = try await URLSession.shared.data(for: post)
            #expect((postResponse as! HTTPURLResponse).statusCode == 200)
            #expect(postBody == getBody, "the POST form answers exactly as the GET form")
            #expect(
                (postResponse as! HTTPURLResponse).value(forHTTPHeaderField: "Cache-Control") == "private, no-store")
            // Escaped names are redacted too.
            var escaped = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/providers?%73sin=\(ssin)")!)
            escaped.setValue("Bearer \(token.text)", forHTTPHeaderField: "Authorization")
            _ = try await URLSession.shared.data(for: escaped)
            try await Task.sleep(for: .milliseconds(300))
            let log = server.output
            #expect(log.contains("/v1/providers?ssin=***"), "requests are logged at debug level, redacted")
            #expect(!log.contains(ssin), "the SSIN appears nowhere in the log")
            // Both forms are audited by the professional's public id, never the SSIN.
            let targets = try await postgres.strings(
                "SELECT target FROM audit_entry WHERE action = 'provider.read-sensitive' ORDER BY id")
            #expect(targets.count >= 2 && targets.allSatisfy { $0.hasPrefix("hcp_") }, "\(targets)")
            await server.stop()
        }
    }

    @Test func metricsOnTheirOwnListenerWithoutATokenAndOnlyForTokensOnTheAPIPort() async throws {
        try await TestDatabase.with { _, url in
            let port = ServeProcessTests.freePort()
            let metricsPort = ServeProcessTests.freePort()
            let server = try ServeProcessTests.start(
                port: port, databaseURL: url, environment: ["METRICS_PORT": String(metricsPort)])
            defer { server.process.terminate() }
            #expect(try await ServeProcessTests.waitUntilReady(port: port) == 200, "\(server.output)")
            let separate = try await ServeProcessTests.get("http://127.0.0.1:\(metricsPort)/metrics")
            #expect(separate?.0 == 200)
            let text = String(decoding: separate?.1 ?? Data(), as: UTF8.self)
            #expect(text.contains("registry_webhook_subscriptions"))
            #expect(try await ServeProcessTests.get("http://127.0.0.1:\(port)/metrics")?.0 == 404)
            #expect(try await ServeProcessTests.get("http://127.0.0.1:\(metricsPort)/v1/medicines?q=x")?.0 == 404)
            await server.stop()
        }
    }

    // MARK: Through the real router

    @Test func unauthenticatedRefusalsAreSampledIntoTheAuditLogAndClientsRefusalsAllKept() async throws {
        try await TestDatabase.with { postgres, _ in
            let (reader, readerToken) = try await ClientRepository(client: postgres, logger: TestDatabase.logger)
                .create(name: "reader", scopes: [.providersSensitive])
            let app = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(logLevel: .warning), logger: TestDatabase.logger,
                runsClient: false)
            let started = ContinuousClock.now
            try await app.test(.router) { client in
                for index in 0..<200 {
                    let status = try await client.execute(
                        uri: "/v1/subscriptions", method: .get,
                        headers: index % 2 == 0 ? [:] : [.authorization: "Bearer rgt_forged\(index)xxxxxxxxxxxxxxxx"]
                    ) { $0.status }
                    #expect(status == .unauthorized)
                }
                for _ in 0..<20 {
                    let status = try await client.execute(
                        uri: "/v1/subscriptions", method: .get, headers: [.authorization: "Bearer \(readerToken.text)"]
                    ) { $0.status }
                    #expect(status == .forbidden)
                }
                let metrics = try await client.execute(uri: "/metrics", method: .get) { $0.status }
                #expect(metrics == .unauthorized, "/metrics needs a token on the API listener")
            }
            let anonymous = try await postgres.strings(
                "SELECT coalesce(detail ->> 'unrecordedBefore', '0') FROM audit_entry WHERE client_id IS NULL ORDER BY id"
            )
            // The default burst of 10, then at most one per 10 s of the test's duration.
            let seconds = Int((ContinuousClock.now - started).components.seconds)
            #expect((10...(11 + seconds / 10)).contains(anonymous.count), "\(anonymous.count) rows in \(seconds) s")
            let unrecorded = anonymous.compactMap { Int($0) }.reduce(0, +)
            #expect(unrecorded + anonymous.count <= 201, "200 refused requests and the /metrics one")
            let known = try await postgres.strings(
                "SELECT count(*)::text FROM audit_entry WHERE client_id = \(reader.id) AND status = 403")
            #expect(known == ["20"], "a known client's refusals are all kept")
        }
    }

    @Test func theAuditLogKeepsEachKindForItsRetention() async throws {
        try await TestDatabase.with { postgres, _ in
            try await postgres.execute(
                """
                INSERT INTO audit_entry (at, client_id, action, target, outcome, status, detail) VALUES
                  (now() - interval '40 days', NULL, 'subscription.list', '/v1/subscriptions', 'refused', 401, '{}'),
                  (now() - interval '20 days', NULL, 'subscription.list', '/v1/subscriptions', 'refused', 401, '{}'),
                  (now() - interval '500 days', 'c1', 'subscription.create', NULL, 'succeeded', 201, '{}'),
                  (now() - interval '300 days', 'c1', 'subscription.create', NULL, 'succeeded', 201, '{}'),
                  (now() - interval '500 days', 'c1', 'provider.read-sensitive', 'hcp_1', 'succeeded', 200, '{}'),
                  (now() - interval '4000 days', 'c1', 'provider.read-sensitive', 'hcp_2', 'succeeded', 200, '{}')
                """, logger: TestDatabase.logger)
            let removed = try await AuditLog(client: postgres, logger: TestDatabase.logger).prune(AuditLog.Retention())
            #expect(removed == 3)
            let kept = try await postgres.strings(
                "SELECT action || ' ' || extract(day FROM now() - at)::int FROM audit_entry ORDER BY at")
            #expect(
                kept == ["provider.read-sensitive 500", "subscription.create 300", "subscription.list 20"], "\(kept)")
        }
    }

    @Test func limitSettingsParseAndRefuseNonsense() {
        #expect(ProtectionSettings.parseLimit("200/400") == .init(ratePerSecond: 200, burst: 400))
        #expect(ProtectionSettings.parseLimit("10") == .init(ratePerSecond: 10, burst: 20))
        #expect(ProtectionSettings.parseLimit("0")?.isUnlimited == true)
        for bad in ["", "-1", "x", "1/0", "1/2/3", "nan", "inf/1"] {
            #expect(ProtectionSettings.parseLimit(bad) == nil, "\(bad)")
        }
    }

    @Test func theRefusalSamplerWritesABurstThenOnePerIntervalAndCountsTheRest() {
        let sampler = RefusalSampler(burst: 3, intervalSeconds: 10)
        let start = ContinuousClock.now
        #expect((0..<3).map { _ in sampler.admit(now: start) } == [0, 0, 0])
        #expect((0..<5).map { _ in sampler.admit(now: start + .seconds(1)) } == [nil, nil, nil, nil, nil])
        #expect(sampler.admit(now: start + .seconds(10)) == 5, "the next written row says 5 were left out")
        #expect(sampler.admit(now: start + .seconds(11)) == nil)
        #expect(sampler.admit(now: start + .seconds(21)) == 1)
    }

    @Test func tokenBucketsRefillAtTheirRateAndStayBounded() {
        let limiter = TokenBucketLimiter(maximumKeys: 100)
        let limit = TokenBucketLimiter.Limit(ratePerSecond: 10, burst: 3)
        let start = ContinuousClock.now
        #expect((0..<3).allSatisfy { _ in limiter.take("a", limit: limit, now: start) == nil })
        let wait = limiter.take("a", limit: limit, now: start)
        #expect(wait == .milliseconds(100))
        #expect(limiter.take("b", limit: limit, now: start) == nil, "buckets are per key")
        #expect(limiter.take("a", limit: limit, now: start + .milliseconds(100)) == nil, "one token per 100 ms")
        for index in 0..<1000 { _ = limiter.take("sweep\(index)", limit: limit, now: start) }
        #expect(limiter.keyCount <= 100)
    }
}

/// A plain TCP client socket for sending partial requests (URLSession only sends whole ones).
final class RawSocket: @unchecked Sendable {
    // @unchecked: one test task uses each socket; the descriptor is only read after init.
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw POSIXError(.EPIPE)
        }
    }

    /// The status code of the answer's status line, or nil when the connection closed (or stayed
    /// silent) without one within `seconds`.
    func statusCode(withinSeconds seconds: Double) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline, !received.contains(UInt8(ascii: "\n")) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer.prefix(count)
        }
        let line = String(decoding: received.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        return parts.count >= 2 && parts[0].hasPrefix("HTTP/") ? Int(parts[1]) : nil
    }

    /// Whether the peer closed the connection within `seconds`, waited for on a thread of its own
    /// (the cooperative pool has two threads here, and the servers under test need them).
    func closes(withinSeconds seconds: Double) async -> Bool {
        await Self.offThePool { self.waitForClose(seconds: seconds) }
    }

    /// `statusCode(withinSeconds:)` on a thread of its own.
    func status(withinSeconds seconds: Double) async -> Int? {
        await Self.offThePool { self.statusCode(withinSeconds: seconds) }
    }

    static func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    /// Whether the peer closed the connection (EOF or reset) within `seconds`; bytes it sends are skipped.
    func waitForClose(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return true }
        }
        return false
    }
}
