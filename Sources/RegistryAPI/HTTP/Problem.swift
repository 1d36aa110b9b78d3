import Hummingbird
import RegistryCore

/// An RFC 9457 problem: every error the API returns, with a `detail` precise enough for a client
/// developer to fix the request without reading our code.
package struct Problem: Error, HTTPResponseError, Sendable {
    package var status: HTTPResponse.Status
    /// A stable URI per kind of problem (documented in /openapi.json).
    package var type: String
    package var title: String
    package var detail: String
    /// Extra members (e.g. `parameter`, `nearestValidity`).
    package var extensions: [String: JSONValue]
    /// Extra response headers (e.g. `WWW-Authenticate` on a 401).
    package var headers: HTTPFields = [:]

    package init(
        _ status: HTTPResponse.Status, type: String, title: String, detail: String,
        extensions: [String: JSONValue] = [:]
    ) {
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.extensions = extensions
    }

    static let typeBase = "https://registry.example.be/problems/"

    /// A query or path parameter that does not have the expected form.
    package static func invalidParameter(_ name: String, _ detail: String) -> Problem {
        Problem(
            .badRequest, type: typeBase + "invalid-parameter", title: "Invalid parameter", detail: detail,
            extensions: ["parameter": .string(name)])
    }

    package static func notFound(_ detail: String, extensions: [String: JSONValue] = [:]) -> Problem {
        Problem(.notFound, type: typeBase + "not-found", title: "Not found", detail: detail, extensions: extensions)
    }

    package static func notValidAtDate(_ detail: String, extensions: [String: JSONValue]) -> Problem {
        Problem(
            .notFound, type: typeBase + "not-valid-at-date", title: "Not valid at the requested date", detail: detail,
            extensions: extensions)
    }

    package var json: JSONValue {
        var members = extensions
        members["type"] = .string(type)
        members["title"] = .string(title)
        members["status"] = .number(String(status.code))
        members["detail"] = .string(detail)
        return .object(members)
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.cacheControl] = "no-store"
        // Under /fhir every error is an OperationOutcome, as FHIR clients expect.
        let fhir = request.uri.path == "/fhir" || request.uri.path.hasPrefix("/fhir/")
        headers[.contentType] = fhir ? FHIR.contentType : "application/problem+json"
        var body = fhir ? FHIR.outcome(self).canonicalBytes : json.canonicalBytes
        body.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
