import Hummingbird
import Metrics
import NIOCore
import NIOPosix
import Synchronization

/// Every request must be answered within `timeout` (a slow body, a slow statement): past it the
/// client gets a 503 problem at once and the router's work is cancelled, instead of holding a
/// connection as long as it likes. Wraps the whole router, so the timer also covers middleware.
///
/// The answer does not wait for the cancelled work to notice its cancellation (a query waiting
/// on a lock may not); that work is bounded by the statement timeout.
///
/// Costs one task per request (the work, so that the answer can leave without it) and one timer
/// on an event loop; a second task sleeping as the timer cost 0.6× of the throughput of
/// `/health/live` (BENCHMARKS.md, "Request protections").
struct DeadlineResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context: RequestContext {
    typealias Context = Inner.Context
    let inner: Inner
    /// nil: no deadline (the router answers directly).
    let timeout: Duration?
    let abandoned = Counter(label: "registry_request_timeouts_total")
    /// Where the deadlines' timers run: NIO's shared event loops (a scheduled task is a heap entry).
    static var timers: MultiThreadedEventLoopGroup { .singleton }

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let timeout else { return try await inner.respond(to: request, context: context) }
        let inner = self.inner
        let first = FirstResult()
        let work = Task {
            do { first.finish(.success(try await inner.respond(to: request, context: context))) } catch {
                first.finish(.failure(error))
            }
        }
        let (seconds, attoseconds) = timeout.components
        let timer = Self.timers.next().scheduleTask(
            in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        ) { first.finish(.success(nil)) }
        let answered: Response? = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { first.install($0) }
        } onCancel: {
            work.cancel()
        }
        timer.cancel()
        if let answered { return answered }
        work.cancel()
        abandoned.increment()
        var problem = Problem(
            .serviceUnavailable, type: Problem.typeBase + "request-timeout", title: "Request took too long",
            detail: "The request was not answered within \(timeout) and was abandoned; retry later.")
        problem.headers[.retryAfter] = "1"
        var response = try problem.response(from: request, context: context)
        response.headers[.requestID] = context.id
        return response
    }

    /// Resumes the continuation with the first result only.
    final class FirstResult: Sendable {
        let state = Mutex<(CheckedContinuation<Response?, any Error>?, Result<Response?, any Error>?)>((nil, nil))

        func install(_ continuation: CheckedContinuation<Response?, any Error>) {
            let pending: Result<Response?, any Error>? = state.withLock { state in
                if let result = state.1 { return result }
                state.0 = continuation
                return nil
            }
            if let pending { continuation.resume(with: pending) }
        }

        func finish(_ result: Result<Response?, any Error>) {
            let continuation: CheckedContinuation<Response?, any Error>? = state.withLock { state in
                guard state.1 == nil else { return nil }
                state.1 = result
                defer { state.0 = nil }
                return state.0
            }
            continuation?.resume(with: result)
        }
    }
}
