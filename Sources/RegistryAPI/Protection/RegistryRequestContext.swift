import Hummingbird
import HummingbirdAuth
import NIOCore
import RegistryStore

/// The request context of every route: Hummingbird's core context, the peer's address (which
/// rate limiting keys unauthenticated requests by) and the client a route's authenticator found.
package struct RegistryRequestContext: RegistryContext {
    package var coreContext: CoreRequestContextStorage
    /// The TCP peer; nil when the request did not come over a socket (router tests).
    package let remoteAddress: SocketAddress?
    /// The authenticated API client; nil on public routes and before authentication.
    package var identity: APIClientRecord?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        identity = nil
    }
}
