import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `GET /v1/mappings/coverage`: which share of the AMPs valid on a date is fully coded in IDMP
/// terms (dose forms and routes as RMS terms, active substances as SMS substances, strength units
/// as RMS units), per aspect, and the blockers that hold back most AMPs.
struct MappingRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    let logger: Logger
    var clock = RegistryClock.system

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/mappings/coverage") { request, _ in try await coverage(request) }
    }

    func coverage(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["at", "limit"])
        let at = try parameters.date(now: clock.now())
        let limit = try parameters.limit(default: 50, maximum: 1000)
        return try await cache.answer(
            request, key: "coverage|\(at)|\(limit)", cacheControl: JSONResponse.lookupCacheControl
        ) {
            let report = try await IDMPQueries(client: client, logger: logger).coverage(at: at, blockerLimit: limit)
            var members = report.members
            let amps = Double(members["amps"]?.stringValue ?? "0") ?? 0
            let coded = Double(members["fullyCodedAmps"]?.stringValue ?? "0") ?? 0
            members["at"] = .string(at.description)
            members["fullyCodedShare"] = .number(amps == 0 ? "0" : ProviderRendering.fixed(coded / amps, decimals: 4))
            return .object(members)
        }
    }
}
