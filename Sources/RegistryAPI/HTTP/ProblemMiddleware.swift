import HTTPTypes
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import RegistryCore

/// Turns every error into an RFC 9457 problem and adds the request id to every response.
///
/// Router errors (unknown route, wrong method) become 404/405 problems; anything unexpected
/// becomes a 500 problem whose detail names the request id, and the error itself is logged,
/// never sent to the client.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Longest accepted request target; longer ones get 414 before any work is done.
    let maxTargetLength: Int

    public init(maxTargetLength: Int = 4096) {
        self.maxTargetLength = maxTargetLength
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var response: Response
        do {
            if request.uri.description.utf8.count > maxTargetLength {
                throw Problem(
                    .uriTooLong, type: Problem.typeBase + "uri-too-long", title: "Request target too long",
                    detail:
                        "The request target has \(request.uri.description.utf8.count) bytes; at most \(maxTargetLength) are accepted."
                )
            }
            // Only subscription management writes; everything else is read-only. A method a path
            // does not take gets 405 with the methods that work.
            let allowed = Self.allowedMethods(path: request.uri.path)
            if !allowed.contains(request.method) {
                throw Problem(
                    .methodNotAllowed, type: Problem.typeBase + "method-not-allowed", title: "Method not allowed",
                    detail:
                        "\(request.method) is not allowed on \(request.uri.path); use \(allowed.map(\.rawValue).joined(separator: ", ")).",
                    extensions: ["allow": .string(allowed.map(\.rawValue).joined(separator: ", "))])
            }
            response = try await next(request, context)
        } catch let problem as Problem {
            response = try problem.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let problem: Problem
            switch error.status {
            case .notFound:
                problem = Problem(
                    .notFound, type: Problem.typeBase + "no-such-route", title: "No such route",
                    detail:
                        "No route matches \(request.method) \(request.uri.path); see \(request.uri.path.hasPrefix("/fhir") ? "/fhir/metadata" : "/openapi.json")."
                )
            case .methodNotAllowed:
                problem = Problem(
                    .methodNotAllowed, type: Problem.typeBase + "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method) is not allowed on \(request.uri.path).")
            case .contentTooLarge:
                problem = Problem(
                    .contentTooLarge, type: Problem.typeBase + "content-too-large", title: "Request body too large",
                    detail: "The request body is larger than this route accepts.")
            default:
                problem = Problem(
                    error.status, type: Problem.typeBase + "http-\(error.status.code)",
                    title: error.status.reasonPhrase, detail: "\(error.status.reasonPhrase) (\(request.uri.path)).")
            }
            response = try problem.response(from: request, context: context)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "57014" {
            // statement_timeout (or a cancelled query): the database is busy, not broken.
            Counter(label: "registry_statement_timeouts_total").increment()
            context.logger.warning("statement cancelled", metadata: ["error": "\(String(reflecting: error))"])
            var problem = Problem(
                .serviceUnavailable, type: Problem.typeBase + "statement-timeout", title: "Query took too long",
                detail:
                    "The database did not answer this request within its statement timeout; retry later (request id \(context.id))."
            )
            problem.headers[.retryAfter] = "1"
            response = try problem.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            let problem = Problem(
                .internalServerError, type: Problem.typeBase + "internal", title: "Internal error",
                detail: "The registry could not answer this request; quote request id \(context.id) when reporting it.")
            response = try problem.response(from: request, context: context)
        }
        if response.status == .methodNotAllowed {
            response.headers[.allow] = Self.allowedMethods(path: request.uri.path).map(\.rawValue).joined(
                separator: ", ")
        }
        response.headers[.requestID] = context.id
        return response
    }
}

extension ProblemMiddleware {
    static func allowedMethods(path: String) -> [HTTPRequest.Method] {
        if path == "/v1/providers/lookup" { return [.post] }
        return SubscriptionRoutes<Context>.allowedMethods(path: path) ?? [.get, .head]
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    /// Whether the answer came from the response cache (`hit`) or the database (`miss`).
    static let xCache = HTTPField.Name("X-Cache")!
}
