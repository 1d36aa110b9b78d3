import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryExport
import RegistryStore
import ServiceLifecycle

/// FHIR Bulk Data Access, system level (`GET /fhir/$export`, the asynchronous request pattern of
/// the Bulk Data IG 2.0): the kick-off records a job and answers 202 with `Content-Location`; a
/// worker (``FHIRBulkExportWorker``) writes one NDJSON file per resource type; the status URL
/// answers 202 with `X-Progress` and `Retry-After` until the manifest is ready (200), and `DELETE`
/// cancels. Every step needs the `exports` scope, and a job is only ever visible to its client.
struct FHIRBulkExportRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let directory: String?
    let logger: Logger

    /// The resource types an export can hold (medicines and mCSD actors).
    static var resourceTypes: [String] {
        [
            "MedicinalProductDefinition", "PackagedProductDefinition", "ManufacturedItemDefinition", "Ingredient",
            "SubstanceDefinition", "Practitioner", "PractitionerRole", "Location", "Organization",
        ]
    }
    static var outputFormats: Set<String> { ["application/fhir+ndjson", "application/ndjson", "ndjson"] }
    /// Jobs a client may have queued or running at once, and stored in all.
    static var maxOpenJobs: Int { 2 }
    static var maxKeptJobs: Int { 20 }

    func register(on routes: RouteRegistrar<Context>) {
        let queries = BulkExportQueries(client: client, logger: logger)
        let access = RouteAccess.client(.exports, action: "fhir.export")
        routes.get("/fhir/$export", access) { request, context in
            let caller = try context.caller
            guard directory != nil else {
                throw Problem(
                    .notImplemented, type: Problem.typeBase + "exports-off", title: "Exports are off",
                    detail: "This server has no export directory.")
            }
            guard request.headers[HTTPField.Name("Prefer")!]?.lowercased().contains("respond-async") == true else {
                throw Problem.invalidParameter(
                    "Prefer", "A bulk export is asynchronous: send the header 'Prefer: respond-async'.")
            }
            let (types, since) = try Self.kickOff(request)
            let id = RandomText.identifier("bulk_")
            let url = FHIR.base(request) + request.uri.description
            guard
                try await queries.create(
                    id: id, clientId: caller.id, requestURL: url, types: types, since: since,
                    maxOpen: Self.maxOpenJobs, maxKept: Self.maxKeptJobs)
            else {
                var problem = Problem(
                    .tooManyRequests, type: Problem.typeBase + "too-many-exports", title: "Too many exports",
                    detail:
                        "This client has \(Self.maxOpenJobs) exports under way (or \(Self.maxKeptJobs) kept); wait for one to finish or DELETE one."
                )
                problem.headers[.retryAfter] = "30"
                throw problem
            }
            var headers = HTTPFields()
            headers[.contentLocation] = FHIR.base(request) + "/fhir/bulk-status/\(id)"
            return Response(status: .accepted, headers: headers)
        }
        routes.get("/fhir/bulk-status/{id}", access) { request, context in
            let caller = try context.caller
            _ = try FHIRSearch(request, supported: [:])
            let id = try PathIdentifier.value(context, "id")
            guard let job = try await queries.job(id: id, clientId: caller.id), job.status != "cancelled" else {
                throw Problem.notFound("No export \(id) of this client (finished ones are kept 24 hours).")
            }
            switch job.status {
            case "accepted", "running":
                var headers = HTTPFields()
                headers[.retryAfter] = "2"
                headers[HTTPField.Name("X-Progress")!] = job.progress ?? "queued"
                headers[.cacheControl] = "no-store"
                return Response(status: .accepted, headers: headers)
            case "failed":
                throw Problem(
                    .internalServerError, type: Problem.typeBase + "export-failed", title: "Export failed",
                    detail: "The export failed: \(job.error ?? "unknown error"). Start a new one.")
            default:
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                headers[.cacheControl] = "no-store"
                headers[.expires] = Self.expiry(job)
                let body = Self.manifest(job, base: FHIR.base(request)).canonicalBytes
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
        routes.delete("/fhir/bulk-status/{id}", access) { request, context in
            let caller = try context.caller
            _ = try FHIRSearch(request, supported: [:])
            let id = try PathIdentifier.value(context, "id")
            guard try await queries.cancel(id: id, clientId: caller.id) else {
                throw Problem.notFound("No export \(id) of this client to cancel.")
            }
            if let directory { try? FileManager.default.removeItem(atPath: Self.jobDirectory(directory, id)) }
            return Response(status: .accepted)
        }
        routes.get("/fhir/bulk-files/{id}/{file}", access) { request, context in
            let caller = try context.caller
            _ = try FHIRSearch(request, supported: [:])
            let id = try PathIdentifier.value(context, "id")
            let file = try PathIdentifier.value(context, "file")
            guard let directory, let job = try await queries.job(id: id, clientId: caller.id),
                job.status == "completed",
                job.output.items.contains(where: { $0["file"]?.stringValue == file })
            else {
                throw Problem.notFound("No file \(file) in a completed export \(id) of this client.")
            }
            let path = "\(Self.jobDirectory(directory, id))/\(file)"
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else {
                throw Problem.notFound("The file \(file) of export \(id) is not on this node.")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/fhir+ndjson"
            headers[.contentLength] = "\(size.int64Value)"
            if size.int64Value == 0 { return Response(status: .ok, headers: headers) }
            let body = try await FileIO(threadPool: .singleton).loadFile(
                path: path, range: 0...Int(size.int64Value - 1), context: context)
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    static func jobDirectory(_ directory: String, _ id: String) -> String { "\(directory)/fhir-bulk/\(id)" }

    /// `_type`, `_since`, `_outputFormat`; anything else the IG defines but this server does not
    /// offer (`_elements`, `_typeFilter`, `patient`, `includeAssociatedData`) is refused.
    static func kickOff(_ request: Request) throws -> (types: [String], since: String?) {
        let parameters = try QueryParameters(request, allowed: ["_type", "_since", "_outputFormat"])
        var types = resourceTypes
        if let list = parameters["_type"] {
            types = []
            for name in list.split(separator: ",", omittingEmptySubsequences: false).map({
                $0.trimmingCharacters(in: .whitespaces)
            }) {
                guard resourceTypes.contains(name) else {
                    throw Problem.invalidParameter(
                        "_type",
                        "_type lists '\(name.prefix(80))', which this server does not export; it exports: \(resourceTypes.joined(separator: ", "))."
                    )
                }
                if !types.contains(name) { types.append(name) }
            }
        }
        if let format = parameters["_outputFormat"], !outputFormats.contains(format) {
            throw Problem.invalidParameter(
                "_outputFormat", "_outputFormat must be application/fhir+ndjson, got '\(format.prefix(80))'.")
        }
        var since: String?
        if let text = parameters["_since"] {
            guard let instant = Self.instant(text) else {
                throw Problem.invalidParameter(
                    "_since",
                    "_since must be a FHIR instant with a time zone (e.g. 2026-12-01T00:00:00Z), got '\(text.prefix(80))'."
                )
            }
            since = instant
        }
        return (types, since)
    }

    /// A FHIR instant (`YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`) as UTC ISO text, nil when not one.
    static func instant(_ text: String) -> String? {
        guard text.utf8.count <= 40 else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) ?? plain.date(from: text) else { return nil }
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func expiry(_ job: BulkExportJob) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date().addingTimeInterval(Double(FHIRBulkExportWorker.keptHours * 3600)))
    }

    /// The completion manifest of the Bulk Data IG.
    static func manifest(_ job: BulkExportJob, base: String) -> JSONValue {
        .object([
            "transactionTime": .string(job.transactionTime ?? job.createdAt),
            "request": .string(job.requestURL),
            "requiresAccessToken": .bool(true),
            "output": .array(
                job.output.items.compactMap { item in
                    guard let type = item["type"], let file = item["file"]?.stringValue, let count = item["count"]
                    else {
                        return nil
                    }
                    return .object([
                        "type": type, "url": .string("\(base)/fhir/bulk-files/\(job.id)/\(file)"), "count": count,
                    ])
                }),
            "error": .array([]),
        ])
    }
}

/// Works export jobs: claims one (lease renewed as it goes), writes its files, records the
/// manifest; expires jobs 24 hours after they finish. Any node may work any job; the files go to
/// the shared export directory.
struct FHIRBulkExportWorker: Service {
    let client: PostgresClient
    let directory: String
    let logger: Logger
    let owner = RandomText.identifier("worker_")
    static let keptHours = 24
    static let lease = 60

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for id in try await BulkExportQueries(client: client, logger: logger).expire(hours: Self.keptHours)
                    {
                        try? FileManager.default.removeItem(
                            atPath: FHIRBulkExportRoutes<RegistryRequestContext>.jobDirectory(directory, id))
                    }
                    while let job = try await BulkExportQueries(client: client, logger: logger).claim(
                        owner: owner, lease: Self.lease)
                    {
                        try await work(job)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("bulk export worker", metadata: ["error": "\(describe(error))"])
                }
                // A quarter second between looks: a kick-off starts almost at once (the look is one
                // indexed query).
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Writes one file per type; stops (deleting its files) when the job is cancelled or taken over.
    func work(_ job: BulkExportJob) async throws {
        let queries = BulkExportQueries(client: client, logger: logger)
        let folder = FHIRBulkExportRoutes<RegistryRequestContext>.jobDirectory(directory, job.id)
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let resources = BulkResourceSource(client: client, logger: logger)
        var output: [JSONValue] = []
        do {
            for (index, type) in job.types.enumerated() {
                let file = "\(type).ndjson"
                guard FileManager.default.createFile(atPath: "\(folder)/\(file)", contents: nil) else {
                    throw ExportError.cannotWrite("\(folder)/\(file)")
                }
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(folder)/\(file)"))
                var count = 0
                var buffer: [UInt8] = []
                var sinceHeartbeat = 0
                try await queries.keys(resourceType: type, since: job.since) { key in
                    guard let resource = try await resources.resource(type: type, key: key) else { return }
                    resource.write(into: &buffer)
                    buffer.append(UInt8(ascii: "\n"))
                    count += 1
                    sinceHeartbeat += 1
                    if buffer.count >= 1 << 18 {
                        try handle.write(contentsOf: Data(buffer))
                        buffer.removeAll(keepingCapacity: true)
                    }
                    if sinceHeartbeat >= 500 {
                        sinceHeartbeat = 0
                        let progress = "\(type) (\(index + 1) of \(job.types.count)): \(count) resources"
                        guard
                            try await queries.heartbeat(id: job.id, owner: owner, progress: progress, lease: Self.lease)
                        else { throw ExportCancelled() }
                    }
                }
                try handle.write(contentsOf: Data(buffer))
                try handle.close()
                output.append(.object(["type": .string(type), "file": .string(file), "count": .number("\(count)")]))
                let progress = "\(index + 1) of \(job.types.count) resource types written"
                guard try await queries.heartbeat(id: job.id, owner: owner, progress: progress, lease: Self.lease)
                else {
                    throw ExportCancelled()
                }
            }
            if try await !queries.finish(id: job.id, owner: owner, output: .array(output), error: nil) {
                try? FileManager.default.removeItem(atPath: folder)
            }
        } catch is ExportCancelled {
            try? FileManager.default.removeItem(atPath: folder)
        } catch is CancellationError {
            // Shutdown: the lease runs out and another worker (or this node, restarted) starts again.
            try? FileManager.default.removeItem(atPath: folder)
            throw CancellationError()
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            _ = try? await queries.finish(id: job.id, owner: owner, output: nil, error: describe(error))
        }
    }

    struct ExportCancelled: Error {}
}

/// The resources of a bulk export, by the read routes' own loaders (what `GET /fhir/{type}/{id}`
/// answers today, pruned), from the registry keys ``BulkExportQueries`` lists.
struct BulkResourceSource: Sendable {
    let medicines: FHIRMedicineRoutes<RegistryRequestContext>
    let actors: FHIRActorRoutes<RegistryRequestContext>

    init(client: PostgresClient, logger: Logger) {
        let cache = ResponseCache(budgetBytes: 0)
        medicines = FHIRMedicineRoutes(client: client, cache: cache, logger: logger)
        actors = FHIRActorRoutes(client: client, cache: cache, practiceSearch: nil, logger: logger)
    }

    func resource(type: String, key: String) async throws -> JSONValue? {
        let found: JSONValue?
        switch type {
        case "MedicinalProductDefinition": found = try await medicines.medicinalProduct(key)
        case "ManufacturedItemDefinition":
            found = try await medicines.manufacturedItem(key.replacingOccurrences(of: "/", with: "-"))
        case "Ingredient": found = try await medicines.ingredient(key.replacingOccurrences(of: "/", with: "-"))
        case "PackagedProductDefinition": found = try await medicines.packagedProduct(key)
        case "SubstanceDefinition": found = try await medicines.substance(key)
        case "Practitioner": found = try await actors.practitioner(FHIR.id(key))
        case "PractitionerRole": found = try await actors.practitionerRole(key)
        case "Location": found = try await actors.location(key)
        case "Organization": found = try await actors.organization(FHIR.id(key))
        default: found = nil
        }
        return found.flatMap(FHIR.pruned)
    }
}
