import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core context plus the peer's address, which
/// rate limiting keys unauthenticated requests by.
public struct RegistryRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer; nil when the request did not come over a socket (router tests).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
