import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryDispatch
import RegistryStore

/// Full webhook payloads: the lookup answer for an event's `href`, rendered by the lookup code
/// itself, with every validity slice (`history=true`), so a subscriber also learns future-dated
/// prices and closures, and names in French for `display` (all four languages are in the body).
package struct LookupEntitySource: EventEntitySource {
    let routes: MedicineRoutes<RegistryRequestContext>
    let providers: ProviderQueries
    let institutions: InstitutionQueries

    package init(client: PostgresClient, logger: Logger) {
        routes = MedicineRoutes(client: client, cache: ResponseCache(budgetBytes: 0), logger: logger)
        providers = ProviderQueries(client: client, logger: logger)
        institutions = InstitutionQueries(client: client, logger: logger)
    }

    package func entity(href: String) async throws -> JSONValue? {
        let pieces = href.split(separator: "?", maxSplits: 1)
        let parts = pieces[0].split(separator: "/").map(String.init)
        let query = pieces.count > 1 ? String(pieces[1]) : ""
        let lookup = MedicineRoutes<RegistryRequestContext>.Lookup(
            renderer: EntityRenderer(at: RegistryClock.system.today, history: true, language: .fr))
        do {
            switch parts.count == 4 || parts.count == 3 ? (parts[1], parts[2]) : ("", "") {
            case ("medicines", "cnk"):
                let environment =
                    query.split(separator: "&").first { $0.hasPrefix("env=") }.map { String($0.dropFirst(4)) } ?? "P"
                return try await routes.cnkAnswer(code: parts[3], environment: environment, lookup: lookup).json
            case ("medicines", "amp"): return try await routes.ampAnswer(code: parts[3], lookup: lookup).json
            case ("medicines", "ampp"): return try await routes.amppAnswer(cti: parts[3], lookup: lookup).json
            case ("medicines", "vmp"): return try await routes.vmpAnswer(code: parts[3], lookup: lookup).json
            case ("medicines", "vmp-groups"):
                return try await routes.vmpGroupAnswer(code: parts[3], lookup: lookup).json
            case ("companies", _) where parts.count == 3:
                return try await routes.companyAnswer(actorNr: parts[2], lookup: lookup).json
            // Healthcare actors: every period (no `at`), never the personal fields.
            case ("providers", _) where parts.count == 3:
                return try await providers.professional(id: parts[2]).map {
                    ProviderRendering.professional($0, at: nil, sensitive: false)
                }
            case ("practices", _) where parts.count == 3:
                return try await providers.practice(key: parts[2]).map {
                    ProviderRendering.practiceAnswer(key: parts[2], $0)
                }
            case ("institutions", _) where parts.count == 3:
                let (scheme, value) = try InstitutionRoutes<RegistryRequestContext>.identifier(parts[2])
                let found = try await institutions.institutions(scheme: scheme, value: value)
                return found.isEmpty
                    ? nil : InstitutionRoutes<RegistryRequestContext>.answer(scheme: scheme, value: value, found)
            default: return nil
            }
        } catch let problem as Problem where problem.status == .notFound {
            return nil
        }
    }
}
