import CompressNIO
import Crypto
import Foundation
import Hummingbird
import RegistryCore

/// A JSON answer with the validators a caching client expects.
///
/// The body is canonical JSON (sorted keys), so its SHA-256 is a strong ETag that changes exactly
/// when the answer changes; `If-None-Match` with that tag gets 304 and no body.
enum JSONResponse {
    /// Lookups may be cached briefly: SAM changes a few times a day and the ETag makes revalidation cheap.
    static let lookupCacheControl = "public, max-age=60"

    /// Canonical JSON bytes and their strong ETag.
    static func render(_ value: JSONValue) -> ResponseCache.Entry { render(bytes: value.canonicalBytes) }

    /// The same for canonical JSON already rendered.
    static func render(bytes: [UInt8]) -> ResponseCache.Entry {
        var body = bytes
        body.append(UInt8(ascii: "\n"))
        return ResponseCache.Entry(body: body, etag: "\"" + hexString(SHA256.hash(data: body)).prefix(32) + "\"")
    }

    static func make(
        _ value: JSONValue, request: Request, cacheControl: String = lookupCacheControl,
        contentType: String = "application/json"
    ) -> Response {
        make(render(value), request: request, cacheControl: cacheControl, contentType: contentType)
    }

    static func make(
        _ entry: ResponseCache.Entry, request: Request, cacheControl: String = lookupCacheControl,
        contentType: String = "application/json"
    ) -> Response {
        var headers = HTTPFields()
        headers[.eTag] = entry.etag
        headers[.cacheControl] = cacheControl
        headers[.vary] = "Accept-Encoding"
        if let match = request.headers[.ifNoneMatch], matches(match, tag: entry.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        var buffer = ByteBuffer(bytes: entry.body)
        if entry.body.count >= minimumCompressedSize, acceptsGzip(request.headers[.acceptEncoding]),
            let compressed = try? buffer.compress(with: .gzip())
        {
            headers[.contentEncoding] = "gzip"
            buffer = compressed
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// Below about one TCP segment compression saves nothing worth its CPU.
    static let minimumCompressedSize = 1024

    /// True when `Accept-Encoding` lists gzip (or `*`) without `q=0`.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "*" else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let refused = quality <= 0
            if !refused { return true }
        }
        return false
    }

    /// `If-None-Match` is a list of tags (weak ones compare by their opaque part) or `*`.
    static func matches(_ header: String, tag: String) -> Bool {
        for candidate in header.split(separator: ",") {
            var text = candidate.trimmingCharacters(in: .whitespaces)
            if text == "*" { return true }
            if text.hasPrefix("W/") { text.removeFirst(2) }
            if text == tag { return true }
        }
        return false
    }
}
