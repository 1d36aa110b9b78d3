import HTTPTypes
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import RegistryCore

/// Turns every error into an RFC 9457 problem and adds the request id to every response.
///
/// Router errors become 404 problems, or 405 with `Allow` when the path is registered for other
/// methods (read from the ``RouteTable``, the one list of routes); anything unexpected
/// becomes a 500 problem whose detail names the request id, and the error itself is logged,
/// never sent to the client.
package struct ProblemMiddleware<Context: RegistryContext>: RouterMiddleware {
    /// The registered routes (filled after this middleware is added, read per refused request).
    let routes: RouteTable
    /// Longest accepted request target; longer ones get 414 before any work is done.
    let maxTargetLength: Int

    package init(routes: RouteTable, maxTargetLength: Int = 4096) {
        self.routes = routes
        self.maxTargetLength = maxTargetLength
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
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
            response = try await next(request, context)
        } catch let problem as Problem {
            response = try problem.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let problem: Problem
            // The router answers 404 for a registered path asked with another method: that is a 405.
            let allowed = error.status == .notFound ? routes.allowedMethods(path: request.uri.path) : []
            switch error.status {
            case .notFound where !allowed.isEmpty:
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                problem = Problem(
                    .methodNotAllowed, type: Problem.typeBase + "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method) is not allowed on \(request.uri.path); use \(list).",
                    extensions: ["allow": .string(list)])
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
            response.headers[.allow] = routes.allowedMethods(path: request.uri.path).map(\.rawValue).joined(
                separator: ", ")
        }
        response.headers[.requestID] = context.id
        return response
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    /// Whether the answer came from the response cache (`hit`) or the database (`miss`).
    static let xCache = HTTPField.Name("X-Cache")!
}
