import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOFileSystem
import NIOHTTP1
import RegistryCore
import RegistryStore

/// A downloaded file: where, how big, its SHA-256 and the validators for the next conditional request.
package struct DownloadedFile: Sendable, Equatable {
    package var path: String
    package var bytes: UInt64
    package var sha256: String
    package var etag: String?
    package var lastModified: String?
    /// Requests made, and how many of them continued a partial file with `Range`.
    package var attempts: Int
    package var resumedAttempts: Int
}

package enum DownloadAnswer: Sendable, Equatable {
    /// The server answered 304: the document is the one named by the validators sent.
    case notModified
    case downloaded(DownloadedFile)
}

/// Why a download gave up, with the URL and what was expected.
package enum DownloadError: Error, CustomStringConvertible {
    case status(url: String, status: Int, detail: String)
    case tooLarge(url: String, limit: UInt64, announced: UInt64?)
    case incomplete(url: String, expected: UInt64, received: UInt64)
    case unexpectedRange(url: String, expectedStart: UInt64, contentRange: String?)
    case exhausted(url: String, attempts: Int, last: String)
    case invalidURL(String)

    package var description: String {
        switch self {
        case .status(let url, let status, let detail):
            "GET \(url) answered HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)") (not retried: a client error)"
        case .tooLarge(let url, let limit, let announced):
            "GET \(url): \(announced.map { "announced \($0) bytes, " } ?? "")more than the limit of \(limit) bytes"
                + (limit == 64 * 1024 ? " for a short answer" : " (maxBytes)")
        case .incomplete(let url, let expected, let received):
            "GET \(url): the connection ended after \(received) of \(expected) bytes"
        case .unexpectedRange(let url, let start, let range):
            "GET \(url): asked for bytes from \(start), the server sent Content-Range \(range ?? "(none)")"
        case .exhausted(let url, let attempts, let last):
            "GET \(url): gave up after \(attempts) attempts; last error: \(last)"
        case .invalidURL(let url): "not a valid URL: \(url)"
        }
    }
}

/// Streams HTTP(S) downloads to disk, never holding a body in memory: resumes a partial file
/// with `Range`/`If-Range`, retries 5xx, 408, 429 and network errors with jittered exponential
/// backoff (honouring `Retry-After`), gives up on other 4xx at once, enforces the size limit,
/// hashes while writing and prints a progress line when asked.
package struct Downloader: Sendable {
    let client: HTTPClient
    let limits: DownloadLimits
    let logger: Logger
    /// Receives a progress line about once a second (set on a terminal).
    let progress: (@Sendable (String) -> Void)?
    let random: @Sendable () -> Double

    package init(
        client: HTTPClient, limits: DownloadLimits, logger: Logger, progress: (@Sendable (String) -> Void)? = nil,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.client = client
        self.limits = limits
        self.logger = logger
        self.progress = progress
        self.random = random
    }

    var policy: DownloadRetryPolicy {
        DownloadRetryPolicy(
            maxAttempts: limits.maxAttempts, baseDelay: limits.retryBaseDelay, maxDelay: limits.retryMaxDelay)
    }

    /// A small text answer (SAM's latest version number), at most 64 KiB, with retries.
    package func text(url: String) async throws -> String {
        try await withRetries(url: url) { attempt in
            let response = try await client.execute(
                try request(url), timeout: .seconds(Int64(limits.connectTimeout + limits.stallTimeout)))
            try check(response, url: url)
            do {
                let body = try await response.body.collect(upTo: 64 * 1024)
                return String(decoding: body.readableBytesView, as: UTF8.self)
            } catch is NIOTooManyBytesError {
                throw DownloadError.tooLarge(url: url, limit: 64 * 1024, announced: nil)
            }
        }
    }

    /// Downloads `url` into `path`, continuing what a previous attempt (or process) left there.
    /// With a `validator` and no partial file, asks conditionally (`If-None-Match`,
    /// `If-Modified-Since`) and answers ``DownloadAnswer/notModified`` on 304.
    package func file(url: String, to path: String, validator: SourceValidator? = nil) async throws -> DownloadAnswer {
        var state = PartialFile(path: path)
        try state.prepare()
        var attempts = 0
        var resumed = 0
        return try await withRetries(url: url) { attempt in
            attempts = attempt
            var request = try request(url)
            if state.bytes > 0 {
                request.headers.add(name: "Range", value: "bytes=\(state.bytes)-")
                if let etag = state.etag, !etag.hasPrefix("W/") { request.headers.add(name: "If-Range", value: etag) }
                resumed += 1
            } else if let validator {
                if let etag = validator.etag { request.headers.add(name: "If-None-Match", value: etag) }
                if let modified = validator.lastModified {
                    request.headers.add(name: "If-Modified-Since", value: modified)
                }
            }
            // The deadline covers the connection and the response head; the body is watched for stalls.
            let response = try await client.execute(
                request, deadline: .now() + .milliseconds(Int64((limits.connectTimeout + limits.stallTimeout) * 1000)))
            if response.status == .notModified, state.bytes == 0 {
                return .notModified
            }
            if response.status == .rangeNotSatisfiable {
                // What is on disk does not fit the document any more: start again.
                try state.reset()
                throw RetryableFailure(reason: "HTTP 416 for a partial file of \(state.bytes) bytes; restarting")
            }
            try check(response, url: url)
            let etag = response.headers.first(name: "ETag")
            let lastModified = response.headers.first(name: "Last-Modified")
            var offset: UInt64 = 0
            if response.status == .partialContent {
                let contentRange = response.headers.first(name: "Content-Range")
                guard let start = contentRange.flatMap(Self.rangeStart), start == state.bytes else {
                    try state.reset()
                    throw DownloadError.unexpectedRange(
                        url: url, expectedStart: state.bytes, contentRange: contentRange)
                }
                offset = start
            } else if state.bytes > 0 {
                // A full answer to a Range request (the document changed, or Range is unsupported).
                try state.reset()
            }
            state.etag = etag
            let length = response.headers.first(name: "Content-Length").flatMap(UInt64.init)
            let expectedTotal = length.map { $0 + offset }
            if let expectedTotal, expectedTotal > limits.maxBytes {
                try? state.reset()
                throw DownloadError.tooLarge(url: url, limit: limits.maxBytes, announced: expectedTotal)
            }
            try await state.hashExistingPrefix()
            do {
                try await write(response.body, into: &state, url: url, expectedTotal: expectedTotal)
            } catch let error as DownloadError {
                // Too large: nothing of it is worth keeping for a resume.
                try? state.reset()
                throw error
            }
            if let expectedTotal, state.bytes != expectedTotal {
                throw RetryableFailure(
                    reason: DownloadError.incomplete(url: url, expected: expectedTotal, received: state.bytes)
                        .description)
            }
            return .downloaded(
                DownloadedFile(
                    path: path, bytes: state.bytes, sha256: state.digest(), etag: etag, lastModified: lastModified,
                    attempts: attempts, resumedAttempts: resumed))
        }
    }

    /// Appends the body to the partial file, hashing as it goes; a stall, a closed connection or
    /// a body beyond the limit ends the attempt with what arrived flushed to disk.
    func write(
        _ body: HTTPClientResponse.Body, into state: inout PartialFile, url: String, expectedTotal: UInt64?
    ) async throws {
        let limit = limits.maxBytes
        let progress = self.progress
        let label = URL(string: url)?.lastPathComponent ?? url
        var received = state.bytes
        var hasher = state.hasher
        defer {
            state.bytes = received
            state.hasher = hasher
        }
        try await FileSystem.shared.withFileHandle(
            forWritingAt: FilePath(state.path), options: .modifyFile(createIfNecessary: true)
        ) { handle in
            var writer = handle.bufferedWriter(startingAtAbsoluteOffset: Int64(received), capacity: .mebibytes(1))
            var lastReport = ContinuousClock.now
            let started = ContinuousClock.now
            let startBytes = received
            do {
                for try await chunk in body {
                    received += UInt64(chunk.readableBytes)
                    guard received <= limit else {
                        throw DownloadError.tooLarge(url: url, limit: limit, announced: expectedTotal)
                    }
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    try await writer.write(contentsOf: chunk.readableBytesView)
                    if let progress, ContinuousClock.now - lastReport > .seconds(1) {
                        lastReport = ContinuousClock.now
                        progress(
                            Self.progressLine(label, received, expectedTotal, startBytes, ContinuousClock.now - started)
                        )
                    }
                }
                try await writer.flush()
            } catch {
                // Keep what arrived: the next attempt continues from it.
                try? await writer.flush()
                throw error
            }
        }
    }

    static func progressLine(_ label: String, _ bytes: UInt64, _ total: UInt64?, _ start: UInt64, _ elapsed: Duration)
        -> String
    {
        let mb = { (b: UInt64) in String(format: "%.1f MB", Double(b) / 1_000_000) }
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let rate = String(format: "%.1f MB/s", Double(bytes - start) / 1_000_000 / seconds)
        guard let total, total > 0 else { return "download \(label): \(mb(bytes)), \(rate)" }
        return "download \(label): \(mb(bytes)) of \(mb(total)) (\(bytes * 100 / total) %), \(rate)"
    }

    /// `bytes 1000-1999/5000` → 1000.
    static func rangeStart(_ contentRange: String) -> UInt64? {
        let parts = contentRange.split(separator: " ")
        guard parts.count == 2, parts[0].lowercased() == "bytes" else { return nil }
        return parts[1].split(separator: "-").first.flatMap { UInt64($0) }
    }

    func request(_ url: String) throws -> HTTPClientRequest {
        guard let parsed = URL(string: url), parsed.host != nil else { throw DownloadError.invalidURL(url) }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "be-registry-sync/1")
        request.headers.add(name: "Accept-Encoding", value: "identity")
        return request
    }

    /// Non-success statuses: retryable ones become ``RetryableFailure`` (with `Retry-After`).
    func check(_ response: HTTPClientResponse, url: String) throws {
        let status = Int(response.status.code)
        guard (200...299).contains(status) else {
            let detail = response.status.reasonPhrase
            if DownloadRetryPolicy.isRetryable(status: status) {
                throw RetryableFailure(
                    reason: "HTTP \(status) \(detail)",
                    retryAfter: response.headers.first(name: "Retry-After").flatMap {
                        DownloadRetryPolicy.parseRetryAfter($0, now: Date())
                    })
            }
            throw DownloadError.status(url: url, status: status, detail: detail)
        }
    }

    /// Runs `attempt` until it succeeds, a non-retryable error ends it, or the attempts run out.
    func withRetries<T: Sendable>(url: String, _ attempt: (Int) async throws -> T) async throws -> T {
        var lastError = ""
        for number in 1...max(1, limits.maxAttempts) {
            try Task.checkCancellation()
            var retryAfter: Double?
            do {
                return try await attempt(number)
            } catch let error as DownloadError {
                if case .unexpectedRange = error {
                    lastError = error.description
                } else {
                    throw error
                }
            } catch let failure as RetryableFailure {
                lastError = failure.reason
                retryAfter = failure.retryAfter
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Network errors, timeouts, a connection closed mid-body.
                lastError = String(describing: error)
            }
            guard number < limits.maxAttempts else { break }
            let delay = policy.delay(afterAttempt: number, retryAfter: retryAfter, random: random())
            logger.warning(
                "download attempt failed; retrying",
                metadata: [
                    "url": "\(url)", "attempt": "\(number)", "error": "\(lastError)",
                    "retry_in_s": "\(String(format: "%.2f", delay))",
                ])
            SyncMetrics.retried()
            try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
        }
        throw DownloadError.exhausted(url: url, attempts: limits.maxAttempts, last: lastError)
    }
}

/// A failure worth another attempt, with the server's `Retry-After` when it sent one.
struct RetryableFailure: Error {
    var reason: String
    var retryAfter: Double? = nil
}

/// The file a download writes into, and its running hash. A partial file left by an earlier
/// process is hashed from disk before the download continues it.
struct PartialFile {
    let path: String
    var bytes: UInt64 = 0
    var hasher = SHA256()
    var hashedBytes: UInt64 = 0
    var etag: String?

    init(path: String) { self.path = path }

    mutating func prepare() throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        bytes = (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
        // The ETag of the answer the partial file came from, kept beside it (for If-Range).
        etag = try? String(contentsOfFile: path + ".etag", encoding: .utf8)
    }

    mutating func reset() throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try? FileManager.default.removeItem(atPath: path + ".etag")
        bytes = 0
        hasher = SHA256()
        hashedBytes = 0
        etag = nil
    }

    /// Brings the hash up to the bytes on disk (only when continuing another process's file).
    mutating func hashExistingPrefix() async throws {
        if let etag { try? etag.write(toFile: path + ".etag", atomically: true, encoding: .utf8) }
        guard bytes > 0, hashedBytes != bytes else {
            hashedBytes = bytes
            return
        }
        hasher = try await sha256Hasher(ofFile: path, bytes: bytes)
        hashedBytes = bytes
    }

    func digest() -> String {
        hexString(hasher.finalize())
    }
}

/// A SHA-256 hasher fed with the file's first `bytes` bytes (all of it when nil), read in 1 MiB
/// chunks without blocking a thread of the cooperative pool.
func sha256Hasher(ofFile path: String, bytes: UInt64? = nil) async throws -> SHA256 {
    var hasher = SHA256()
    try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
        let chunks =
            if let bytes {
                handle.readChunks(in: 0..<Int64(bytes), chunkLength: .mebibytes(1))
            } else {
                handle.readChunks(chunkLength: .mebibytes(1))
            }
        for try await chunk in chunks {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
    }
    return hasher
}
