import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryExport
import RegistryStore

/// `/v1/exports`: the offline-mirror files (listing, downloads with `Range` and `ETag`) and the
/// NDJSON delta between two SAM versions. Public data only, like the lookups they mirror.
struct ExportRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let directory: String?
    let logger: Logger

    func register(on routes: RouteRegistrar<Context>) {
        let queries = ExportQueries(client: client, logger: logger)
        routes.get("/v1/exports") { request, _ in
            let parameters = try QueryParameters(request, allowed: ["kind"])
            let kind = parameters["kind"]
            if let kind, !Self.kinds.contains(kind) {
                throw Problem.invalidParameter(
                    "kind", "kind must be one of \(Self.kinds.sorted().joined(separator: ", ")), got '\(kind)'.")
            }
            let artifacts = try await queries.artifacts(kind: kind)
            return JSONResponse.make(Self.listing(artifacts), request: request, cacheControl: "no-cache")
        }
        routes.get("/v1/exports/files/{name}") { request, context in
            _ = try QueryParameters(request, allowed: [])
            let name = try PathIdentifier.value(context, "name")
            guard Self.isFileName(name) else {
                throw Problem.invalidParameter(
                    "name", "name must be a file name from GET /v1/exports (e.g. sam-12.sqlite), got '\(name)'.")
            }
            guard let directory, let artifact = try await queries.artifacts().first(where: { $0.name == name }) else {
                throw Problem.notFound("No export file \(name); GET /v1/exports lists the files that exist.")
            }
            return try await Self.download(
                path: "\(directory)/\(name)", artifact: artifact, request: request, context: context)
        }
        routes.get("/v1/exports/sam/delta") { request, _ in
            let parameters = try QueryParameters(request, allowed: ["from", "to"])
            func version(_ name: String) throws -> Int64? {
                guard let text = parameters[name] else { return nil }
                guard text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let value = Int64(text),
                    value > 0
                else {
                    throw Problem.invalidParameter(
                        name, "\(name) must be a SAM version (a positive integer), got '\(text)'.")
                }
                return value
            }
            guard let from = try version("from") else {
                throw Problem.invalidParameter("from", "from is required: the SAM version the mirror has.")
            }
            let latest = try await queries.latestAppliedRun(domains: ["sam"])
            guard let to = try version("to") ?? latest else {
                throw Problem.notFound("No SAM version is imported yet.")
            }
            guard let fromRun = try await queries.appliedSAMRun(from) else {
                throw Problem.notFound("\(from) is not an applied SAM version; GET /v1/exports lists them.")
            }
            guard let toRun = try await queries.appliedSAMRun(to) else {
                throw Problem.notFound("\(to) is not an applied SAM version; GET /v1/exports lists them.")
            }
            guard from <= to else {
                throw Problem.invalidParameter("to", "to (\(to)) must not be before from (\(from)).")
            }
            if let pruned = try await queries.firstPrunedSAMRun(after: from, upTo: to) {
                throw Problem(
                    .gone, type: Problem.typeBase + "delta-pruned", title: "Delta no longer available",
                    detail:
                        "The change events of SAM version \(pruned) are past the feed's retention; download the SQLite snapshot of a newer version instead."
                )
            }
            let delta = SAMDelta(queries: queries, render: ExportService.render)
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            headers[.cacheControl] = "public, max-age=3600"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    try await delta.write(from: fromRun, to: toRun) { bytes in
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    static var kinds: Set<String> { ["sam-sqlite", "sam-ndjson", "actors-ndjson"] }

    /// Names the builder writes: lowercase letters, digits, `-` and `_`, then `.sqlite` or `.ndjson.gz`.
    static func isFileName(_ name: String) -> Bool {
        guard name.utf8.count <= 120 else { return false }
        let stem: Substring
        if name.hasSuffix(".sqlite") {
            stem = name.dropLast(".sqlite".count)
        } else if name.hasSuffix(".ndjson.gz") {
            stem = name.dropLast(".ndjson.gz".count)
        } else {
            return false
        }
        return !stem.isEmpty
            && stem.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F
            }
    }

    static func listing(_ artifacts: [ExportArtifact]) -> JSONValue {
        let versions = Set(artifacts.filter { $0.kind == "sam-sqlite" }.map(\.version)).sorted(by: >)
        return .object([
            "exports": .array(
                artifacts.map { artifact in
                    var members: [String: JSONValue] = [
                        "kind": .string(artifact.kind), "version": .number("\(artifact.version)"),
                        "name": .string(artifact.name), "sizeBytes": .number("\(artifact.sizeBytes)"),
                        "sha256": .string(artifact.sha256), "createdAt": .string(artifact.createdAt),
                        "url": .string("/v1/exports/files/\(artifact.name)"), "source": artifact.meta,
                    ]
                    if let type = artifact.entityType { members["entityType"] = .string(type) }
                    return .object(members)
                }),
            "samVersions": .array(versions.map { .number("\($0)") }),
            "delta": .string("/v1/exports/sam/delta?from={version}&to={version}"),
            "sqliteSchemaVersion": .number("\(SAMSQLiteSchema.version)"),
        ])
    }

    /// Streams a file from disk: strong ETag (its SHA-256), `If-None-Match` → 304, one `Range` →
    /// 206 (honoured only while `If-Range` still names this file), past the end → 416.
    static func download(path: String, artifact: ExportArtifact, request: Request, context: Context) async throws
        -> Response
    {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attributes[.size] as? NSNumber)?.int64Value
        else {
            throw Problem.notFound("Export file \(artifact.name) is recorded but not on this node's export directory.")
        }
        let etag = "\"\(artifact.sha256)\""
        var headers = HTTPFields()
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = "public, max-age=86400, immutable"
        if let match = request.headers[.ifNoneMatch], JSONResponse.matches(match, tag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = artifact.name.hasSuffix(".sqlite") ? "application/vnd.sqlite3" : "application/gzip"
        headers[.contentDisposition] = "attachment; filename=\"\(artifact.name)\""
        var range = ByteRange.resolve(request.headers[.range], size: size)
        if let ifRange = request.headers[.ifRange], ifRange.trimmingCharacters(in: .whitespaces) != etag {
            range = .whole
        }
        let fileIO = FileIO(threadPool: .singleton)
        switch range {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            throw Problem(
                .rangeNotSatisfiable, type: Problem.typeBase + "range-not-satisfiable", title: "Range not satisfiable",
                detail: "The file has \(size) bytes; the requested range starts past its end."
            ).with(headers: headers)
        case .part(let part):
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
            headers[.contentLength] = "\(part.count)"
            let body = try await fileIO.loadFile(
                path: path, range: Int(part.lowerBound)...Int(part.upperBound), context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        case .whole:
            headers[.contentLength] = "\(size)"
            if size == 0 { return Response(status: .ok, headers: headers) }
            let body = try await fileIO.loadFile(path: path, range: 0...Int(size - 1), context: context)
            return Response(status: .ok, headers: headers, body: body)
        }
    }
}

extension Problem {
    func with(headers: HTTPFields) -> Problem {
        var copy = self
        copy.headers = headers
        return copy
    }
}
