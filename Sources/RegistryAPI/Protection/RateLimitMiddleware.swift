import Foundation
import Crypto
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import RegistryCore
import RegistryStore
import Synchronization

/// Token-bucket rate limiting in front of every route: per API client for requests carrying a
/// known bearer token, per source address otherwise. Over the limit: 429 problem with `Retry-After`.
///
/// A token is looked up once and remembered (valid or not) for a minute, so choosing the bucket
/// costs no query per request; a forged or revoked token is limited by its address.
struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let settings: ProtectionSettings
    let limiter: TokenBucketLimiter
    let tokens: KnownTokens
    let refused = (
        address: Counter(label: "registry_rate_limited_total", dimensions: [("by", "address")]),
        client: Counter(label: "registry_rate_limited_total", dimensions: [("by", "client")])
    )

    init(settings: ProtectionSettings, client: PostgresClient, logger: Logger) {
        self.settings = settings
        limiter = TokenBucketLimiter()
        tokens = KnownTokens(clients: ClientRepository(client: client, logger: logger))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let token = request.headers[.authorization].flatMap(ClientAccess.bearerToken)
        if let token {
            await tokens.learn(token)
            if let clientId = tokens.cachedClient(token) {
                if let wait = limiter.take("client:" + clientId, limit: settings.perClient) {
                    refused.client.increment()
                    throw Problem.rateLimited(
                        wait, detail: "Client \(clientId) sends more than \(Self.describe(settings.perClient)).")
                }
                return try await next(request, context)
            }
        }
        // Requests that did not come over a socket (in-process router tests) have no address.
        guard let address = context.remoteAddress?.ipAddress else { return try await next(request, context) }
        let exempt = IPAddress(address).map { ip in settings.exempt.contains { $0.contains(ip) } } ?? false
        if !exempt, let wait = limiter.take("address:" + address, limit: settings.perAddress) {
            refused.address.increment()
            throw Problem.rateLimited(
                wait,
                detail: "Requests without a known token from this address exceed \(Self.describe(settings.perAddress))."
            )
        }
        return try await next(request, context)
    }

    static func describe(_ limit: TokenBucketLimiter.Limit) -> String {
        "\(String(format: "%g", limit.ratePerSecond)) requests per second (bursts of \(Int(limit.burst)))"
    }
}

/// Bearer tokens seen recently and the client each belongs to (nil: unknown or revoked), for
/// choosing a rate-limit bucket only; authorisation always asks the database.
final class KnownTokens: Sendable {
    struct Entry {
        var clientId: String?
        var until: ContinuousClock.Instant
    }

    let clients: ClientRepository
    let entries = Mutex<[String: Entry]>([:])
    let maximumEntries = 10_000

    init(clients: ClientRepository) { self.clients = clients }

    func cachedClient(_ token: AccessToken) -> String? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[token.hash], entry.until > now else { return nil }
            return entry.clientId
        }
    }

    func learn(_ token: AccessToken) async {
        let now = ContinuousClock.now
        if entries.withLock({ $0[token.hash].map { $0.until > now } ?? false }) { return }
        let found: APIClientRecord?? = try? await clients.authenticate(token)
        let clientId = found.flatMap { $0 }?.id
        entries.withLock { entries in
            if entries.count >= maximumEntries { entries.removeAll(keepingCapacity: true) }
            entries[token.hash] = Entry(clientId: clientId, until: now + .seconds(60))
        }
    }
}

extension Problem {
    /// 429 with `Retry-After` in whole seconds (at least 1).
    static func rateLimited(_ wait: Duration, detail: String) -> Problem {
        var problem = Problem(
            .tooManyRequests, type: typeBase + "rate-limited", title: "Too many requests",
            detail: detail + " Retry after the time in Retry-After.")
        problem.headers[.retryAfter] = String(
            max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))
        return problem
    }
}
