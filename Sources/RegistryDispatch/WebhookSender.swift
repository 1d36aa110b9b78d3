import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RegistryCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What one HTTP attempt produced.
package struct AttemptResult: Sendable {
    package var verdict: DeliveryVerdict
    package var at: Date
    package var targetAddress: String?
    package var statusCode: Int?
    package var latencyMs: Double
    /// The first 4 KB of the response body.
    package var responseBody: String?
    package var error: String?
}

/// Timeouts of one webhook POST.
package struct SendTimeouts: Sendable {
    package var connect: Duration
    package var response: Duration

    package init(connect: Duration = .seconds(5), response: Duration = .seconds(15)) {
        self.connect = connect
        self.response = response
    }
}

/// Signs and POSTs webhook messages, after checking where the target resolves (the SSRF guard).
///
/// The address checked is the address connected to: each (host, address) pair gets an HTTP client
/// whose DNS is pinned to that address, so a name that resolves to a public address for the
/// check and to 127.0.0.1 a moment later (DNS rebinding) cannot slip through. TLS still verifies
/// the certificate against the host name.
package final class WebhookSender: Sendable {
    /// Resolves a host name to its addresses (the system resolver unless a test gives another).
    package typealias LookUp = @Sendable (String) async throws -> [IPAddress]

    let policy: TargetAddressPolicy
    let timeouts: SendTimeouts
    let connectionsPerHost: Int
    let lookUp: LookUp
    let logger: Logger
    let clients = Mutex<[String: HTTPClient]>([:])
    /// One client per send, shut down after it (for occasional sends such as pings from the API,
    /// where no one would shut a pool down).
    let ephemeral: Bool
    package static let responseExcerptBytes = 4096
    /// The longest error text recorded for an attempt.
    package static let errorTextBytes = 1024

    package init(
        policy: TargetAddressPolicy, timeouts: SendTimeouts = SendTimeouts(), connectionsPerHost: Int = 64,
        ephemeral: Bool = false, lookUp: @escaping LookUp = WebhookSender.lookUp(host:),
        logger: Logger = Logger(label: "registry.webhooks")
    ) {
        self.policy = policy
        self.timeouts = timeouts
        self.connectionsPerHost = connectionsPerHost
        self.ephemeral = ephemeral
        self.lookUp = lookUp
        self.logger = logger
    }

    /// Closes every pooled connection; call once when done.
    package func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }

    func client(host: String, address: IPAddress) -> HTTPClient {
        if ephemeral { return makeClient(host: host, address: address) }
        let key = "\(host)|\(address)"
        return clients.withLock { clients in
            if let existing = clients[key] { return existing }
            let client = makeClient(host: host, address: address)
            clients[key] = client
            return client
        }
    }

    func makeClient(host: String, address: IPAddress) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .nanoseconds(Self.nanoseconds(timeouts.connect)),
                read: .nanoseconds(Self.nanoseconds(timeouts.response))),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost))
        if IPAddress(host) == nil { configuration.dnsOverride = [host: address.description] }
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The host the HTTP client will look up for `url` (it reads URLs with Foundation's `URL`),
    /// brackets of an IPv6 literal removed, and the port it will connect to.
    static func clientHostAndPort(of url: String) -> (host: String, port: Int?)? {
        guard let parsed = URL(string: url), var host = parsed.host else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, parsed.port)
    }

    /// The target's addresses, checked by the policy: the first one is connected to. A refusal's
    /// address is logged here, never returned (the text goes back to the API client).
    package func checkedAddresses(of target: WebhookTarget) async -> Result<[IPAddress], TargetRefusalOrFailure> {
        let addresses: [IPAddress]
        do {
            addresses = try await Self.resolve(host: target.host, lookUp: lookUp)
        } catch {
            return .failure(.init(description: StorableText.clean("\(error)", maxBytes: Self.errorTextBytes)))
        }
        if let refusal = policy.check(scheme: target.scheme, host: target.host, addresses: addresses) {
            logger.notice("webhook target refused", metadata: ["refusal": "\(refusal.logDescription)"])
            return .failure(.init(description: refusal.description))
        }
        return .success(addresses)
    }

    /// One signed POST of `body` to `url`; never throws: every failure is a verdict.
    package func send(url: String, messageId: String, body: [UInt8], secrets: [WebhookSecret]) async -> AttemptResult {
        let started = Date()
        let clock = ContinuousClock.now
        func failed(_ reason: String, address: String? = nil) -> AttemptResult {
            let reason = StorableText.clean(reason, maxBytes: Self.errorTextBytes)
            return AttemptResult(
                verdict: .failed(reason: reason, notBefore: nil), at: started, targetAddress: address,
                statusCode: nil, latencyMs: Self.milliseconds(since: clock), responseBody: nil, error: reason)
        }
        let target: WebhookTarget
        switch WebhookTarget.parse(url) {
        case .success(let parsed): target = parsed
        case .failure(let refusal): return failed(refusal.description)
        }
        let address: IPAddress
        switch await checkedAddresses(of: target) {
        case .success(let addresses): address = addresses[0]
        case .failure(let refusal): return failed(refusal.description)
        }
        // The request names the host exactly as it was checked and pinned: any other spelling
        // (upper case, a trailing dot) would miss the pin and be resolved again by the client.
        let requestURL = target.requestURL
        guard let seen = Self.clientHostAndPort(of: requestURL), seen.host == target.host,
            (seen.port ?? (target.scheme == "https" ? 443 : 80)) == target.port
        else {
            return failed("target host \(target.host) cannot be pinned to the address checked")
        }
        let timestamp = Int64(started.timeIntervalSince1970)
        var request = HTTPClientRequest(url: requestURL)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "registry-webhooks/1")
        request.headers.add(name: "webhook-id", value: messageId)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(
            name: "webhook-signature",
            value: WebhookSigner.header(id: messageId, timestamp: timestamp, body: body, secrets: secrets))
        request.body = .bytes(ByteBuffer(bytes: body))
        let client = client(host: target.host, address: address)
        defer {
            if ephemeral { Task { try? await client.shutdown() } }
        }
        do {
            let response = try await client.execute(
                request, timeout: .nanoseconds(Self.nanoseconds(timeouts.connect + timeouts.response)))
            // Only the excerpt is read: a huge or endless answer is cut off (the connection is closed).
            var excerpt: [UInt8] = []
            for try await chunk in response.body {
                excerpt.append(contentsOf: chunk.readableBytesView.prefix(Self.responseExcerptBytes - excerpt.count))
                if excerpt.count >= Self.responseExcerptBytes { break }
            }
            let verdict = DeliveryVerdict.classify(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"))
            let error: String? = if case .failed(let reason, _) = verdict { reason } else { nil }
            return AttemptResult(
                verdict: verdict, at: started, targetAddress: address.description,
                statusCode: Int(response.status.code),
                latencyMs: Self.milliseconds(since: clock),
                responseBody: StorableText.decode(excerpt, maxBytes: Self.responseExcerptBytes),
                error: error)
        } catch {
            return failed(Self.describe(error), address: address.description)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout: return "connect timed out"
            default: return "\(error)"
            }
        }
        if error is CancellationError { return "cancelled" }
        return String(describing: error)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(nanoseconds(elapsed)) / 1_000_000
    }

    /// How long a lookup may take: a slow or silent DNS server must not hold a subscription
    /// request or a delivery for the resolver's whole retry cycle (and its pool thread with it).
    package static let resolutionTimeout: Duration = .seconds(5)

    /// The addresses of `host` (getaddrinfo on NIO's blocking-I/O pool, off the cooperative
    /// threads), or `ResolutionFailed` when there is no answer within `timeout`: getaddrinfo
    /// cannot be cancelled, so the caller stops waiting and the lookup finishes on its own.
    package static func resolve(
        host: String, timeout: Duration = resolutionTimeout,
        lookUp: @escaping @Sendable (String) async throws -> [IPAddress] = lookUp(host:)
    ) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let answer = FirstAnswer<[IPAddress]>()
        return try await withCheckedThrowingContinuation { continuation in
            answer.waiting(continuation)
            let timer = Task {
                try await Task.sleep(for: timeout)
                answer.resume(
                    with: .failure(
                        ResolutionFailed(
                            host: host, reason: "no answer from DNS within \(timeout.components.seconds) s")))
            }
            Task {
                let result: Result<[IPAddress], any Error>
                do { result = .success(try await lookUp(host)) } catch { result = .failure(error) }
                timer.cancel()
                answer.resume(with: result)
            }
        }
    }

    /// The system resolver's answer (getaddrinfo on NIO's blocking-I/O pool), however long it takes.
    @Sendable package static func lookUp(host: String) async throws -> [IPAddress] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &list)
            guard status == 0 else {
                throw ResolutionFailed(host: host, reason: String(cString: gai_strerror(status)))
            }
            defer { freeaddrinfo(list) }
            var addresses: [IPAddress] = []
            var next = list
            while let info = next {
                if let socketAddress = info.pointee.ai_addr {
                    switch info.pointee.ai_family {
                    case AF_INET:
                        let bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                            withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) }
                        }
                        if let address = IPAddress(bytes: bytes) { addresses.append(address) }
                    case AF_INET6:
                        let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                            withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
                        }
                        if let address = IPAddress(bytes: bytes) { addresses.append(address) }
                    default: break
                    }
                }
                next = info.pointee.ai_next
            }
            var seen = Set<IPAddress>()
            return addresses.filter { seen.insert($0).inserted }
        }
    }
}

/// A continuation resumed by whichever answer comes first (the others are dropped).
final class FirstAnswer<Value: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func waiting(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<Value, any Error>) {
        continuation.withLock { waiting in
            waiting?.resume(with: result)
            waiting = nil
        }
    }
}

/// Why a target cannot be sent to, in words fit for the API client.
package struct TargetRefusalOrFailure: Error, Sendable, CustomStringConvertible {
    package var description: String
}

struct ResolutionFailed: Error, CustomStringConvertible {
    var host: String
    var reason: String
    var description: String { "cannot resolve \(host): \(reason)" }
}
