import DatabaseTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistryAPI
import RegistryCore
import RegistryStore
import Testing

/// Access is declared where routes are registered, and the registered routes are the one list:
/// the threat model's table in docs/ARCHITECTURE.md is checked against them, every route for
/// clients refuses a request without a token before its handler runs, and a method a path does
/// not take is 405 with the methods registered for it.
@Suite(.timeLimit(.minutes(5)))
struct RouteAccessTests {
    static func withRoutes(_ body: @Sendable (APIClient, RouteTable) async throws -> Void) async throws {
        try await TestDatabase.with { postgres, _ in
            let table = RouteTable()
            let router = try RegistryApplication.router(
                client: postgres, cache: ResponseCache(budgetBytes: 0),
                practiceSearch: RegistryApplication.practiceSearchService(
                    client: postgres, enabled: false, logger: TestDatabase.logger),
                retentionDays: 90, routeTable: table, logger: TestDatabase.logger)
            try await Application(router: router).test(.router) { client in
                try await body(APIClient(client: client), table)
            }
        }
    }

    /// The rows of the threat model's route table: `| GET | /v1/… | scope or - |`.
    static func documentedRoutes() throws -> [String] {
        let text = try String(
            contentsOf: TestDatabase.packageRoot.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        guard let start = text.range(of: "<!-- routes:begin -->"), let end = text.range(of: "<!-- routes:end -->")
        else { return [] }
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, cells[0] != "method", !cells[0].hasPrefix("-") else { return nil }
            return
                "\(cells[0]) \(cells[1].replacingOccurrences(of: "`", with: "")) \(cells[2].replacingOccurrences(of: "`", with: ""))"
        }
    }

    /// A concrete path for a pattern: every parameter becomes `x`.
    static func concrete(_ pattern: String) -> String {
        "/"
            + pattern.split(separator: "/").map { part in
                part.hasPrefix(":") || part.hasPrefix("{") ? "x" : String(part)
            }.joined(separator: "/")
    }

    @Test func theThreatModelListsExactlyTheRegisteredRoutesWithTheirScopes() async throws {
        try await Self.withRoutes { _, table in
            let registered = table.routes.map(\.description).sorted()
            let documented = try Self.documentedRoutes().sorted()
            #expect(registered.count > 50)
            let missing = Set(registered).subtracting(documented).sorted()
            let stale = Set(documented).subtracting(registered).sorted()
            #expect(missing.isEmpty, "routes not in docs/ARCHITECTURE.md: \(missing)")
            #expect(stale.isEmpty, "documented routes that are not registered: \(stale)")
            // The guarded ones, named here independently of the table: a route losing its scope fails.
            let guarded = Dictionary(
                uniqueKeysWithValues: table.routes.compactMap { route -> (String, String)? in
                    guard case .client(let scope, _) = route.access else { return nil }
                    return ("\(route.method.rawValue) \(route.path)", scope.rawValue)
                })
            #expect(guarded["POST /v1/subscriptions"] == "subscriptions:manage")
            #expect(guarded["GET /v1/providers"] == "providers:sensitive")
            #expect(guarded["POST /v1/providers/lookup"] == "providers:sensitive")
            #expect(guarded["GET /metrics"] == "metrics:read")
            #expect(guarded["GET /v1/audit"] == "admin")
            #expect(guarded["GET /v1/medicines/cnk/{cnk}"] == nil)
        }
    }

    @Test func everyClientRouteRefusesWithoutATokenAndNoPublicRouteAsksForOne() async throws {
        try await Self.withRoutes { api, table in
            for route in table.routes {
                let response = try await api.request(
                    Self.concrete(route.path), method: route.method,
                    headers: [.contentType: "application/json"], body: route.method == .get ? nil : "{}")
                switch route.access {
                case .client:
                    #expect(response.status == .unauthorized, "\(route) answered \(response.status)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(route)")
                case .anyone:
                    #expect(
                        ![.unauthorized, .forbidden, .methodNotAllowed, .internalServerError].contains(response.status),
                        "\(route) answered \(response.status)")
                }
            }
        }
    }

    @Test func aMethodAPathDoesNotTakeIs405WithTheRegisteredMethods() async throws {
        try await Self.withRoutes { api, table in
            var methodsByPath: [String: Set<String>] = [:]
            for route in table.routes {
                methodsByPath[route.path, default: []].insert(route.method.rawValue)
                if route.method == .get { methodsByPath[route.path, default: []].insert("HEAD") }
            }
            for (path, methods) in methodsByPath where !methods.contains("PUT") {
                let response = try await api.request(Self.concrete(path), method: .put)
                #expect(response.status == .methodNotAllowed, "PUT \(path) answered \(response.status)")
                let allow = Set(
                    (response.headers[.allow] ?? "").split(separator: ",").map {
                        $0.trimmingCharacters(in: .whitespaces)
                    })
                #expect(allow == methods, "PUT \(path): Allow \(allow)")
            }
            let subscriptions = try await api.request("/v1/subscriptions", method: .delete)
            #expect(subscriptions.headers[.allow] == "GET, HEAD, POST")
            let lookup = try await api.request("/v1/providers/lookup", method: .get)
            #expect(lookup.status == .methodNotAllowed && lookup.headers[.allow] == "POST")
            let unknown = try await api.request("/v1/no-such-thing", method: .put)
            #expect(unknown.status == .notFound)
        }
    }
}
