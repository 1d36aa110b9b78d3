import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOFileSystem
import NIOSSL
import Synchronization

/// A document served by the fake under `/documents/{name}` with its validators.
package struct FakeDocument: Sendable {
    package var bytes: [UInt8]
    package var etag: String
    package var lastModified: String

    package init(bytes: [UInt8], etag: String, lastModified: String = "Mon, 07 Dec 2026 10:00:00 GMT") {
        self.bytes = bytes
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// What the fake answers, changed by a test while it runs.
package struct FakeSourceScript: Sendable {
    /// What `samv2-full-getLastVersion` answers (nil: 404).
    package var latestVersion: Int?
    /// Answered instead of the version number when set (hostile or broken answers).
    package var versionAnswer: String?
    /// The export zip of each version.
    package var exports: [Int: String] = [:]
    /// Statuses answered to the next download requests, one each, before serving normally.
    package var downloadFailures: [Int] = []
    /// Sent with those failures.
    package var retryAfter: String?
    /// The next full download (from byte 0) stops after this share of the file, closing the connection.
    package var breakOffAt: Double?
    /// Whether the download honours `Range` (a server that ignores it answers 200 with everything).
    package var honoursRange = true
    /// Bytes per second the download is limited to (nil: as fast as possible).
    package var bytesPerSecond: Int?
    package var documents: [String: FakeDocument] = [:]

    package init(latestVersion: Int? = nil) { self.latestVersion = latestVersion }
}

/// One request the fake received.
package struct FakeRequest: Sendable {
    package var path: String
    package var query: String
    package var range: String?
    package var ifNoneMatch: String?
    package var ifModifiedSince: String?
    package var status: Int
    package var at: ContinuousClock.Instant
}

/// A fake of SAM's download service (`…/samv2-full-getLastVersion`, `…/samv2-download`) and of
/// plain documents, on loopback, over HTTP or TLS (optionally requiring a client certificate):
/// the real URL shapes, `Range` and conditional requests, and scripted failures.
package final class FakeSourceServer: Sendable {
    package static let downloadPath = "/websamcivics/samcivics/download"
    let scriptState: Mutex<FakeSourceScript>
    let log = Mutex<[FakeRequest]>([])

    package init(_ script: FakeSourceScript = FakeSourceScript()) {
        scriptState = Mutex(script)
    }

    package func script<T>(_ change: (inout FakeSourceScript) -> T) -> T { scriptState.withLock { change(&$0) } }
    package var requests: [FakeRequest] { log.withLock { $0 } }

    /// Runs the server for the duration of `body`, which gets its base URL (`http(s)://127.0.0.1:port`).
    package func run<T: Sendable>(
        tls: TLSConfiguration? = nil, port: Int = 0, _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        let router = Router()
        router.get("\(Self.downloadPath)/samv2-full-getLastVersion") { request, _ -> Response in
            let (version, raw) = self.script { ($0.latestVersion, $0.versionAnswer) }
            if let raw { return self.answer(request, .ok, raw) }
            guard let version else { return self.answer(request, .notFound, "no version") }
            return self.answer(request, .ok, String(version))
        }
        router.get("\(Self.downloadPath)/samv2-download") { request, _ -> Response in
            try await self.download(request)
        }
        router.get("/documents/{name}") { request, context -> Response in
            self.document(request, name: context.parameters.get("name") ?? "")
        }
        var logger = Logger(label: "fake-source")
        logger.logLevel = .critical
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let app = Application(
            router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var bound = 0
            for await value in portStream { bound = value }
            let base = "\(tls == nil ? "http" : "https")://127.0.0.1:\(bound)"
            do {
                let result = try await body(base)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    func record(_ request: Request, _ status: HTTPResponse.Status) {
        let entry = FakeRequest(
            path: request.uri.path, query: request.uri.query ?? "", range: request.headers[.range],
            ifNoneMatch: request.headers[.ifNoneMatch], ifModifiedSince: request.headers[.ifModifiedSince],
            status: status.code, at: .now)
        log.withLock { $0.append(entry) }
    }

    func answer(_ request: Request, _ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:])
        -> Response
    {
        record(request, status)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func download(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard query.get("type") == "FULL", query.get("xsd") != nil, let version = query.get("version").flatMap(Int.init)
        else { return answer(request, .badRequest, "type=FULL, version and xsd are required") }
        let (failure, retryAfter, path, honoursRange, rate) = script { s -> (Int?, String?, String?, Bool, Int?) in
            let failure = s.downloadFailures.isEmpty ? nil : s.downloadFailures.removeFirst()
            return (failure, s.retryAfter, s.exports[version], s.honoursRange, s.bytesPerSecond)
        }
        if let failure {
            var headers = HTTPFields()
            if let retryAfter { headers[.retryAfter] = retryAfter }
            return answer(request, HTTPResponse.Status(code: failure), "scripted failure", headers: headers)
        }
        guard let path, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
            return answer(request, .notFound, "no export of version \(version)")
        }
        let etag = "\"sam-\(version)-\(size)\""
        var start = 0
        if honoursRange, let range = request.headers[.range], request.headers[.ifRange].map({ $0 == etag }) ?? true {
            guard range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? ""),
                from < size
            else {
                var headers = HTTPFields()
                headers[.contentRange] = "bytes */\(size)"
                return answer(request, .rangeNotSatisfiable, "", headers: headers)
            }
            start = from
        }
        var stopAt = size
        if start == 0,
            let fraction = script({ s -> Double? in
                defer { s.breakOffAt = nil }
                return s.breakOffAt
            })
        {
            stopAt = Int(Double(size) * fraction)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/zip"
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        let status: HTTPResponse.Status = start > 0 ? .partialContent : .ok
        if start > 0 { headers[.contentRange] = "bytes \(start)-\(size - 1)/\(size)" }
        record(request, status)
        let (begin, end) = (start, stopAt)
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: size - start) { writer in
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                    let chunkLength = 256 * 1024
                    var sent = begin
                    let started = ContinuousClock.now
                    for try await chunk in handle.readChunks(
                        in: Int64(begin)..<Int64(end), chunkLength: .bytes(Int64(chunkLength)))
                    {
                        try await writer.write(chunk)
                        sent += chunk.readableBytes
                        if let rate {
                            let due = started + .milliseconds(Int64((sent - begin) * 1000 / max(1, rate)))
                            if due > .now { try await Task.sleep(until: due) }
                        }
                    }
                }
                if end < size { throw FakeBrokeOff() }
                try await writer.finish(nil)
            })
    }

    func document(_ request: Request, name: String) -> Response {
        guard let document = script({ $0.documents[name] }) else { return answer(request, .notFound, "no \(name)") }
        var headers = HTTPFields()
        headers[.eTag] = document.etag
        headers[.lastModified] = document.lastModified
        if let match = request.headers[.ifNoneMatch], match == document.etag {
            record(request, .notModified)
            return Response(status: .notModified, headers: headers)
        }
        if request.headers[.ifNoneMatch] == nil, let since = request.headers[.ifModifiedSince],
            since == document.lastModified
        {
            record(request, .notModified)
            return Response(status: .notModified, headers: headers)
        }
        record(request, .ok)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document.bytes)))
    }
}

/// Ends a scripted download early: the connection closes before the announced length.
struct FakeBrokeOff: Error {}
