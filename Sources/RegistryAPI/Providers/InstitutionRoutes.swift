import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `GET /v1/institutions/{scheme}:{id}`: the institutions an identifier names (`afmps`, `cbe`,
/// `nihii`, `ehp`), as their sources describe them.
struct InstitutionRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let logger: Logger

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/institutions/{ref}") { request, context in try await institution(request, context) }
    }

    func institution(_ request: Request, _ context: Context) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let ref = try PathIdentifier.value(context, "ref")
        let (scheme, value) = try Self.identifier(ref)
        let found = try await InstitutionQueries(client: client, logger: logger).institutions(
            scheme: scheme, value: value)
        guard !found.isEmpty else {
            throw Problem.notFound("No institution has \(scheme) identifier \(value).")
        }
        let body = Self.answer(scheme: scheme, value: value, found)
        return JSONResponse.make(body, request: request)
    }

    static func answer(scheme: String, value: String, _ found: [(key: String, document: JSONValue, runId: Int64?)])
        -> JSONValue
    {
        .object([
            "identifier": .object(["scheme": .string(scheme), "value": .string(value)]),
            "items": .array(
                found.map { key, document, runId in
                    guard case .object(var members) = document else { return document }
                    members["key"] = .string(key)
                    members["href"] = .string("/v1/institutions/\(key)")
                    if let runId { members["importRunId"] = .number(String(runId)) }
                    return .object(members)
                }),
        ])
    }

    /// `scheme:value`, the value in the scheme's format (a CBE number is normalised to 10 digits).
    static func identifier(_ ref: String) throws -> (String, String) {
        let parts = ref.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw Problem.invalidParameter(
                "ref", "The institution reference must be scheme:identifier (afmps, cbe, nihii, ehp), got '\(ref)'.")
        }
        let (scheme, value) = (parts[0], parts[1])
        func digits(_ range: ClosedRange<Int>) -> Bool {
            range.contains(value.utf8.count) && value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
        switch scheme {
        case "afmps" where digits(1...6): return (scheme, value)
        case "cbe":
            guard let cbe = CBENumber(value) else {
                throw Problem.invalidParameter(
                    "ref", "'\(value)' is not a CBE enterprise number (10 digits, passing the mod-97 check).")
            }
            return (scheme, cbe.digits)
        case "nihii" where digits(8...8), "ehp" where digits(10...10): return (scheme, value)
        case "afmps", "nihii", "ehp":
            let expected = ["afmps": "1 to 6 digits", "nihii": "8 digits", "ehp": "10 digits"][scheme]!
            throw Problem.invalidParameter("ref", "A \(scheme) identifier is \(expected), got '\(value)'.")
        default:
            throw Problem.invalidParameter(
                "ref", "Unknown identifier scheme '\(scheme)'; use afmps, cbe, nihii or ehp.")
        }
    }
}
