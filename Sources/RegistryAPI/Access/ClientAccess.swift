import Hummingbird
import HummingbirdAuth
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// A request context that carries the authenticated API client (nil until a route's
/// authenticator found one) and the TCP peer.
package protocol RegistryContext: AuthRequestContext, RemoteAddressRequestContext
where Identity == APIClientRecord {}

/// Bearer-token authentication for the routes that need a client (hummingbird-auth's
/// authenticator protocol): a valid token puts its client in `context.identity`; no header
/// leaves it nil (``ScopeRequirement`` answers 401); a malformed, unknown or revoked token is 401
/// at once, with `WWW-Authenticate: Bearer`. Refusals are written to the audit log too.
struct BearerTokenAuthenticator<Context: RegistryContext>: AuthenticatorMiddleware {
    let access: ClientAccess
    /// The route's action in the audit log.
    let action: String

    func authenticate(request: Request, context: Context) async throws -> APIClientRecord? {
        guard let header = request.headers[.authorization] else { return nil }
        let (clients, audit) = (access.clients, access.audit)
        guard let token = ClientAccess.bearerToken(header) else {
            try await audit.refuse(nil, action: action, request: request, status: 401)
            throw Problem.unauthorized(
                "The Authorization header is not a bearer token of this registry (expected Bearer rgt_…).")
        }
        guard let caller = try await clients.authenticate(token) else {
            try await audit.refuse(nil, action: action, request: request, status: 401)
            throw Problem.unauthorized("The bearer token is unknown or was revoked.")
        }
        return caller
    }

}

/// The scope a route requires, checked after the authenticator: no client is 401, a client
/// without the scope (or `admin`) is 403 naming the scope. Both are audited under `action`.
struct ScopeRequirement<Context: RegistryContext>: RouterMiddleware {
    let scope: Scope
    let action: String
    let audit: AccessAudit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let caller = context.identity else {
            try await audit.refuse(nil, action: action, request: request, status: 401)
            throw Problem.unauthorized(
                "This route needs a bearer token: send Authorization: Bearer rgt_… (see `registry clients create`).")
        }
        guard caller.has(scope) else {
            try await audit.refuse(caller.id, action: action, request: request, status: 403)
            throw Problem(
                .forbidden, type: Problem.typeBase + "insufficient-scope", title: "Insufficient scope",
                detail:
                    "Client \(caller.id) lacks scope \(scope.rawValue) (it has: \(caller.scopes.map(\.rawValue).joined(separator: ", "))).",
                extensions: ["requiredScope": .string(scope.rawValue)])
        }
        return try await next(request, context)
    }
}

extension RegistryContext {
    /// The client a route declared for clients runs for (its scope was checked before the handler).
    var caller: APIClientRecord {
        get throws {
            guard let identity else {
                throw Problem.unauthorized("This route needs a bearer token.")
            }
            return identity
        }
    }
}

/// What checking a client needs: the client records and the audit log.
package struct ClientAccess: Sendable {
    let clients: ClientRepository
    let audit: AccessAudit

    package init(client: PostgresClient, refusals: RefusalSampler, logger: Logger) {
        clients = ClientRepository(client: client, logger: logger)
        audit = AccessAudit(log: AuditLog(client: client, logger: logger), refusals: refusals)
    }

    /// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String) -> AccessToken? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return AccessToken(parts[1].trimmingCharacters(in: .whitespaces))
    }
}

/// Writes access refusals to the audit log.
struct AccessAudit: Sendable {
    let log: AuditLog
    let refusals: RefusalSampler

    /// Refusals of a known client are always written; unauthenticated ones (anybody can send them,
    /// as fast as they like) are counted and sampled, so they cannot grow the audit log unbounded.
    func refuse(_ clientId: String?, action: String, request: Request, status: Int) async throws {
        var detail: [String: JSONValue] = ["method": .string(request.method.rawValue)]
        if clientId == nil {
            guard let unrecorded = refusals.admit() else { return }
            if unrecorded > 0 { detail["unrecordedBefore"] = .number(String(unrecorded)) }
        }
        try await log.record(
            AuditEntry(
                clientId: clientId, action: action, target: request.uri.path, outcome: .refused, status: status,
                detail: .object(detail)))
    }
}
