import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// Bearer-token authentication and scope checks for the routes that need a client.
///
/// A missing, malformed, unknown or revoked token is 401 (with `WWW-Authenticate: Bearer`); a
/// valid token without the scope is 403. Refusals are written to the audit log too: an operator
/// wants to see who knocked.
struct Authenticator: Sendable {
    let clients: ClientRepository
    let audit: AuditLog
    let refusals: RefusalSampler

    init(client: PostgresClient, refusals: RefusalSampler, logger: Logger) {
        clients = ClientRepository(client: client, logger: logger)
        audit = AuditLog(client: client, logger: logger)
        self.refusals = refusals
    }

    /// The calling client, which holds `scope` (or `admin`); `action` names the attempt in the audit log.
    func require(_ scope: Scope, for request: Request, action: String) async throws -> APIClientRecord {
        let header = request.headers[.authorization]
        guard let header, let token = Self.bearerToken(header) else {
            try await refuse(nil, action: action, request: request, status: 401)
            throw Problem.unauthorized(
                header == nil
                    ? "This route needs a bearer token: send Authorization: Bearer rgt_… (see `registry clients create`)."
                    : "The Authorization header is not a bearer token of this registry (expected Bearer rgt_…).")
        }
        guard let caller = try await clients.authenticate(token) else {
            try await refuse(nil, action: action, request: request, status: 401)
            throw Problem.unauthorized("The bearer token is unknown or was revoked.")
        }
        guard caller.has(scope) else {
            try await refuse(caller.id, action: action, request: request, status: 403)
            throw Problem(
                .forbidden, type: Problem.typeBase + "insufficient-scope", title: "Insufficient scope",
                detail:
                    "Client \(caller.id) lacks scope \(scope.rawValue) (it has: \(caller.scopes.map(\.rawValue).joined(separator: ", "))).",
                extensions: ["requiredScope": .string(scope.rawValue)])
        }
        return caller
    }

    /// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String) -> AccessToken? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return AccessToken(parts[1].trimmingCharacters(in: .whitespaces))
    }

    /// Refusals of a known client are always written; unauthenticated ones (anybody can send them,
    /// as fast as they like) are counted and sampled, so they cannot grow the audit log unbounded.
    func refuse(_ clientId: String?, action: String, request: Request, status: Int) async throws {
        var detail: [String: JSONValue] = ["method": .string(request.method.rawValue)]
        if clientId == nil {
            guard let unrecorded = refusals.admit() else { return }
            if unrecorded > 0 { detail["unrecordedBefore"] = .number(String(unrecorded)) }
        }
        try await audit.record(
            AuditEntry(
                clientId: clientId, action: action, target: request.uri.path, outcome: .refused, status: status,
                detail: .object(detail)))
    }
}

extension Problem {
    static func unauthorized(_ detail: String) -> Problem {
        var problem = Problem(
            .unauthorized, type: typeBase + "unauthorized", title: "Authentication required", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"registry\""
        return problem
    }

    /// A request body that is not what the route accepts; `pointer` is the JSON Pointer of the culprit.
    static func invalidBody(_ detail: String, pointer: String = "") -> Problem {
        Problem(
            .unprocessableContent, type: typeBase + "invalid-body", title: "Invalid request body", detail: detail,
            extensions: ["pointer": .string(pointer)])
    }
}

/// Reads a JSON object body (at most 64 KiB).
enum JSONBody {
    static func object(_ request: Request, context: some RequestContext, optional: Bool = false) async throws
        -> [String: JSONValue]
    {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 64 << 10)
        } catch {
            throw Problem(
                .contentTooLarge, type: Problem.typeBase + "content-too-large", title: "Request body too large",
                detail: "The request body may have at most 65536 bytes.")
        }
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        if optional, text.allSatisfy(\.isWhitespace) { return [:] }
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw Problem(
                .unsupportedMediaType, type: Problem.typeBase + "unsupported-media-type",
                title: "Unsupported media type", detail: "Send the body as application/json, not \(type).")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw Problem(
                .badRequest, type: Problem.typeBase + "malformed-json", title: "Malformed JSON",
                detail: "The request body is not valid JSON: \(error).")
        }
        guard case .object(let members) = value else {
            throw Problem.invalidBody("The request body must be a JSON object.")
        }
        return members
    }
}
