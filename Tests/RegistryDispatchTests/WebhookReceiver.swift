import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One webhook as the receiver got it.
struct ReceivedWebhook: Sendable {
    var path: String
    var id: String
    var timestamp: String
    var signature: String
    var body: [UInt8]
    var arrived: ContinuousClock.Instant
    var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
    }
    var seq: Int64? { (json?["seq"] as? NSNumber)?.int64Value }
}

/// How the receiver answers one request.
struct ReceiverAnswer: Sendable {
    var status: HTTPResponse.Status = .noContent
    var headers: HTTPFields = [:]
    var delay: Duration = .zero
    var body: String = ""
    /// Answer these bytes instead of `body` (NUL, invalid UTF-8, megabytes).
    var bytes: [UInt8]? = nil
    /// Announce the whole answer but close the connection after this many bytes of it.
    var breakOffAfter: Int? = nil
}

struct ReceiverBrokeOff: Error {}

/// A real HTTP server on 127.0.0.1 (Hummingbird, ephemeral port) that records every POST and
/// answers as the test's script says (by path and by how often it has seen the message id).
final class WebhookReceiver: Sendable {
    typealias Script = @Sendable (_ path: String, _ id: String, _ seenBefore: Int) -> ReceiverAnswer
    let received = Mutex<[ReceivedWebhook]>([])
    let script: Mutex<Script>

    init(script: @escaping Script = { _, _, _ in ReceiverAnswer() }) {
        self.script = Mutex(script)
    }

    func setScript(_ script: @escaping Script) { self.script.withLock { $0 = script } }

    var all: [ReceivedWebhook] { received.withLock { $0 } }
    func at(_ path: String) -> [ReceivedWebhook] { all.filter { $0.path == path } }

    /// Runs the server for the duration of `body`, which gets the base URL (`http://127.0.0.1:PORT`).
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("**") { request, _ -> Response in
            let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let path = request.uri.path
            let seen = self.received.withLock { list in
                let before = list.filter { $0.id == id && $0.path == path }.count
                list.append(
                    ReceivedWebhook(
                        path: path, id: id, timestamp: request.headers[HTTPField.Name("webhook-timestamp")!] ?? "",
                        signature: request.headers[HTTPField.Name("webhook-signature")!] ?? "", body: bytes,
                        arrived: .now))
                return before
            }
            let answer = self.script.withLock { $0 }(path, id, seen)
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            let answerBytes = answer.bytes ?? Array(answer.body.utf8)
            if let breakOff = answer.breakOffAfter {
                return Response(
                    status: answer.status, headers: answer.headers,
                    body: ResponseBody(contentLength: answerBytes.count) { writer in
                        try await writer.write(ByteBuffer(bytes: answerBytes.prefix(breakOff)))
                        throw ReceiverBrokeOff()
                    })
            }
            return Response(
                status: answer.status, headers: answer.headers, body: .init(byteBuffer: ByteBuffer(bytes: answerBytes)))
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .error
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var port = 0
            for await value in portStream { port = value }
            do {
                let result = try await body("http://127.0.0.1:\(port)")
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; true when it held.
/// The default is generous: the whole suite runs at once on two cores, and nine retried
/// deliveries once took more than 30 s there (a wait that ends early costs nothing).
func eventually(timeout: Duration = .seconds(90), _ condition: @Sendable () async throws -> Bool) async rethrows
    -> Bool
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
