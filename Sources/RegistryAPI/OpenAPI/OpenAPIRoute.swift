import Foundation
import Hummingbird
import RegistryCore

/// The OpenAPI 3.1 description of `/v1`, shipped as a resource and served as is.
package struct OpenAPIDocument: Sendable {
    package let json: JSONValue

    package static func bundled() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw OpenAPIMissing()
        }
        return OpenAPIDocument(json: try JSONValue.parse(String(contentsOf: url, encoding: .utf8)))
    }

    struct OpenAPIMissing: Error, CustomStringConvertible {
        var description: String { "openapi.json is missing from the RegistryAPI resources" }
    }
}

struct OpenAPIRoute<Context: RegistryContext>: Sendable {
    let document: OpenAPIDocument

    func register(on routes: RouteRegistrar<Context>) {
        // Rendered (and its ETag computed) once: the document never changes while the server runs.
        let rendered = JSONResponse.render(document.json)
        routes.get("/openapi.json") { request, _ in
            JSONResponse.make(rendered, request: request, cacheControl: "public, max-age=300")
        }
    }
}
