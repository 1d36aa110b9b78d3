import HTTPTypes
import Hummingbird
import HummingbirdAuth
import RegistryCore
import RegistryStore
import Synchronization

/// Who may call a route.
package enum RouteAccess: Sendable, Hashable {
    /// Anybody, without a token (public reference data).
    case anyone
    /// A client whose bearer token holds `scope` (or `admin`); `action` names the attempt in the
    /// audit log when it is refused.
    case client(Scope, action: String)

    /// `-` or the scope, as the threat model's table shows it.
    package var requirement: String {
        switch self {
        case .anyone: "-"
        case .client(let scope, _): scope.rawValue
        }
    }
}

/// One registered route: method, path pattern (Hummingbird's syntax) and who may call it.
package struct RouteDeclaration: Sendable, Hashable, CustomStringConvertible {
    package var method: HTTPRequest.Method
    package var path: String
    package var access: RouteAccess

    package var description: String { "\(method.rawValue) \(path) \(access.requirement)" }
}

/// The routes the API registered, with their access. It answers 405 with the methods a path
/// takes (`Allow`), and tests and the threat model read it: there is no second list of routes.
///
/// Filled while the router is built, read afterwards; the lock makes that hand-over safe.
package final class RouteTable: Sendable {
    private let declarations = Mutex<[RouteDeclaration]>([])

    package init() {}

    package var routes: [RouteDeclaration] { declarations.withLock { $0 } }

    func add(_ declaration: RouteDeclaration) { declarations.withLock { $0.append(declaration) } }

    /// The methods registered for a concrete path (HEAD wherever GET is), in a stable order;
    /// empty when no route has that path. Like the router, a constant segment wins over a
    /// parameter: `/v1/providers/lookup` takes POST only, although `/v1/providers/{ref}` takes GET.
    package func allowedMethods(path: String) -> [HTTPRequest.Method] {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = routes.compactMap { route -> (RouteDeclaration, [Int])? in
            let pattern = RouterPath(route.path)
            guard Self.matches(pattern, components) else { return nil }
            return (route, pattern.components.map { Self.specificity($0) })
        }
        guard let best = matching.map(\.1).max(by: { $0.lexicographicallyPrecedes($1) }) else { return [] }
        var methods: Set<HTTPRequest.Method> = []
        for (route, rank) in matching where rank == best {
            methods.insert(route.method)
            if route.method == .get { methods.insert(.head) }
        }
        let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete]
        return order.filter(methods.contains)
    }

    /// A constant segment is more specific than a parameter, which is more than a wildcard.
    static func specificity(_ element: RouterPath.Element) -> Int {
        let text = element.description
        if text.contains("*") { return 0 }
        return text.contains("{") ? 1 : 2
    }

    static func matches(_ pattern: RouterPath, _ components: [Substring]) -> Bool {
        guard pattern.components.count == components.count else { return false }
        return zip(pattern.components, components).allSatisfy { $0 ~= $1 }
    }
}

/// Registers routes on a Hummingbird router with their access, recording each in a
/// ``RouteTable``. A route for clients is registered in its own group behind the bearer-token
/// authenticator and the scope requirement, so no handler checks access itself.
package struct RouteRegistrar<Context: RegistryContext> {
    let router: Router<Context>
    let table: RouteTable
    /// Nil where no route needs a client (the separate metrics listener).
    let clientAccess: ClientAccess?

    package init(router: Router<Context>, table: RouteTable, access: ClientAccess?) {
        self.router = router
        self.table = table
        self.clientAccess = access
    }

    package typealias Handler = @Sendable (Request, Context) async throws -> Response

    func on(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, use handler: @escaping Handler) {
        table.add(RouteDeclaration(method: method, path: path, access: access))
        switch access {
        case .anyone:
            router.on(RouterPath(path), method: method, use: handler)
        case .client(let scope, let action):
            guard let clientAccess else {
                preconditionFailure("\(path) needs a client but no client access is set")
            }
            router.group()
                .add(middleware: BearerTokenAuthenticator<Context>(access: clientAccess, action: action))
                .add(middleware: ScopeRequirement<Context>(scope: scope, action: action, audit: clientAccess.audit))
                .on(RouterPath(path), method: method, use: handler)
        }
    }

    func get(_ path: String, _ access: RouteAccess = .anyone, use handler: @escaping Handler) {
        on(.get, path, access, use: handler)
    }

    func post(_ path: String, _ access: RouteAccess, use handler: @escaping Handler) {
        on(.post, path, access, use: handler)
    }

    func patch(_ path: String, _ access: RouteAccess, use handler: @escaping Handler) {
        on(.patch, path, access, use: handler)
    }

    func delete(_ path: String, _ access: RouteAccess, use handler: @escaping Handler) {
        on(.delete, path, access, use: handler)
    }
}
