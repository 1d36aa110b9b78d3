import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `GET /v1/sources`: how fresh each synchronised source is (public: clients decide from it
/// whether the registry's answers are current enough for them).
struct SourceRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let logger: Logger

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/v1/sources") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            let statuses = try await SourceSyncRepository(client: client, logger: logger).statuses()
            return JSONResponse.make(SourceStatusJSON.render(statuses), request: request)
        }
    }
}

/// The JSON of `GET /v1/sources` and `registry sources --json`.
package enum SourceStatusJSON {
    package static func render(_ statuses: [SourceStatus]) -> JSONValue {
        .object(["sources": .array(statuses.map(render))])
    }

    static func render(_ s: SourceStatus) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func seconds(_ value: Double?) -> JSONValue {
            value.map { .number(String(format: "%.3f", max(0, $0))) } ?? .null
        }
        let current: JSONValue =
            s.currentRunId.map { runId in
                .object([
                    "importRunId": .number(String(runId)), "version": text(s.currentVersion),
                    "sourceVersion": text(s.sourceVersion), "importedAt": text(s.importedAt),
                    "href": .string("/v1/imports/\(runId)"),
                ])
            } ?? .null
        return .object([
            "source": .string(s.source), "domain": .string(s.domain), "current": current,
            "lastCheck": .object([
                "at": text(s.lastCheckAt), "outcome": text(s.lastOutcome), "error": text(s.lastError),
            ]),
            "lastSuccessfulCheckAt": text(s.lastSuccessCheckAt), "nextCheckAt": text(s.nextCheckAt),
            "upstreamVersion": text(s.upstreamVersion),
            "secondsSinceImport": seconds(s.secondsSinceImport),
            "secondsSinceSuccessfulCheck": seconds(s.secondsSinceSuccessCheck),
            "archive": .array(
                s.archive.map { entry in
                    .object([
                        "version": .string(entry.version), "files": .array(entry.files.map(JSONValue.string)),
                        "bytes": .number(String(entry.bytes)), "sha256": .string(entry.sha256),
                        "archivedAt": .string(entry.archivedAt),
                    ])
                }),
        ])
    }
}
