import Hummingbird
import RegistryCore

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
