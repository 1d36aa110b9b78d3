import Metrics
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request head is not complete `timeout` after its first byte
/// (slowloris: a client trickling half a header to hold a connection forever). The wait for the
/// first byte of a keep-alive connection's next request is the idle timeout's business.
///
/// Sits after the HTTP decoder (it sees request heads and response ends) and puts a watcher of
/// raw bytes at the front of the pipeline (it sees when a request starts arriving); both share
/// one `State`, on the channel's event loop.
final class HeaderDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    final class State {
        enum Phase { case betweenRequests, readingHead, inRequest }
        var phase = Phase.betweenRequests
        var deadline: Scheduled<Void>?
    }

    let timeout: TimeAmount
    let state = State()
    /// Connections closed because their request head did not arrive in time.
    static let closed = Counter(label: "registry_header_timeouts_total")

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(
            FirstByteWatcher(state: state, timeout: timeout), position: .first)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            state.phase = .inRequest
            state.deadline?.cancel()
            state.deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { state.phase = .betweenRequests }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.deadline?.cancel()
        state.deadline = nil
        context.fireChannelInactive()
    }

    /// Starts the header deadline when bytes arrive between requests.
    final class FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let state: State
        let timeout: TimeAmount

        init(state: State, timeout: TimeAmount) {
            self.state = state
            self.timeout = timeout
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if state.phase == .betweenRequests {
                state.phase = .readingHead
                let channel = context.channel
                let state = self.state
                state.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                    guard state.phase == .readingHead else { return }
                    HeaderDeadlineHandler.closed.increment()
                    channel.close(promise: nil)
                }
            }
            context.fireChannelRead(data)
        }
    }
}
