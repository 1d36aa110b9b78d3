import Hummingbird
import RegistryCore
import Logging
import PostgresNIO
import RegistryStore
import ServiceLifecycle
import Synchronization

/// Rendered answers (body and ETag) of lookups and searches, kept until the data changes.
///
/// Reference data changes only when an import commits, and every import sends
/// `NOTIFY registry_data` in its transaction; `DataChangeListener` clears the cache when it
/// arrives. The cache only serves while that listener is connected, so a lost connection means
/// uncached answers, never stale ones. Two generations approximate LRU within a byte budget:
/// when the current one is full it becomes the previous one and the oldest is dropped.
package final class ResponseCache: Sendable {
    package struct Entry: Sendable {
        package let body: [UInt8]
        package let etag: String
    }

    struct State {
        var version: UInt64 = 0
        var enabled = false
        var current: [String: Entry] = [:]
        var previous: [String: Entry] = [:]
        var currentBytes = 0
    }

    let state = Mutex(State())
    /// Bytes per generation (half the configured budget); 0 disables the cache.
    let generationBytes: Int

    package init(budgetBytes: Int) {
        generationBytes = budgetBytes / 2
    }

    /// The data version to tag an answer computed from now on with, or nil when caching is off.
    func version() -> UInt64? {
        guard generationBytes > 0 else { return nil }
        return state.withLock { $0.enabled ? $0.version : nil }
    }

    func lookup(_ key: String) -> Entry? {
        guard generationBytes > 0 else { return nil }
        return state.withLock { state in
            guard state.enabled else { return nil }
            if let entry = state.current[key] { return entry }
            guard let entry = state.previous.removeValue(forKey: key) else { return nil }
            Self.insert(key, entry, into: &state, generationBytes: generationBytes)
            return entry
        }
    }

    /// Keeps an answer computed at `version`, unless the data changed meanwhile.
    func store(_ key: String, _ entry: Entry, version: UInt64) {
        state.withLock { state in
            guard state.enabled, state.version == version else { return }
            Self.insert(key, entry, into: &state, generationBytes: generationBytes)
        }
    }

    static func insert(_ key: String, _ entry: Entry, into state: inout State, generationBytes: Int) {
        let size = entry.body.count + key.utf8.count + 64
        guard size <= generationBytes else { return }
        if state.currentBytes + size > generationBytes {
            state.previous = state.current
            state.current = [:]
            state.currentBytes = 0
        }
        state.current[key] = entry
        state.currentBytes += size
    }

    /// The data changed (or may have): drop everything.
    func invalidate() {
        state.withLock { state in
            state.version &+= 1
            state.current = [:]
            state.previous = [:]
            state.currentBytes = 0
        }
    }

    func setEnabled(_ enabled: Bool) {
        state.withLock { $0.enabled = enabled }
        invalidate()
    }

    package var count: Int { state.withLock { $0.current.count + $0.previous.count } }
}

/// LISTENs on `registry_data` and clears the response cache (and tells the in-memory practice
/// search) on every notification; reconnects after a failure (the cache and the in-memory
/// search are off until it listens again).
struct DataChangeListener: Service {
    static let channel = "registry_data"
    let client: PostgresClient
    let cache: ResponseCache
    let practiceSearch: PracticeSearchService
    let logger: Logger

    func dataChanged() {
        cache.invalidate()
        practiceSearch.dataChanged()
    }

    func setListening(_ listening: Bool) {
        cache.setEnabled(listening)
        practiceSearch.setListening(listening)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen() }
                group.addTask { await watchImportRuns() }
                await group.waitForAll()
            }
        }
    }

    func listen() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        setListening(true)
                        for try await _ in notifications { dataChanged() }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "data change listener lost its connection; answers are uncached until it is back",
                        metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            setListening(false)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Belt and braces: a listening connection that dies without an error (a silent network drop)
    /// would never deliver the next NOTIFY. Every 5 s the newest applied import run is read from the
    /// pool; a new one clears the cache, so a lost notification costs at most 5 s of staleness.
    func watchImportRuns() async {
        var seen: Int64?
        while !Task.isCancelled {
            do {
                let rows = try await client.query(
                    "SELECT coalesce(max(id), 0) FROM import_run WHERE outcome = 'applied'", logger: logger)
                for try await newest in rows.decode(Int64.self) {
                    if let seen, seen != newest { dataChanged() }
                    seen = newest
                }
            } catch {
                dataChanged()
                seen = nil
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }
}

extension ResponseCache {
    /// Serves a rendered answer from the cache, or computes, caches and serves it (`X-Cache`
    /// says which). The entry is stored under the data version read before computing, so an
    /// import committing meanwhile never leaves a stale answer behind.
    func answer(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        contentType: String = "application/json", _ compute: () async throws -> JSONValue
    ) async throws -> Response {
        try await answerRendered(request, key: key, cacheControl: cacheControl, contentType: contentType) {
            try await compute().canonicalBytes
        }
    }

    /// The same for an answer already rendered as canonical JSON bytes.
    func answerRendered(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        contentType: String = "application/json", _ compute: () async throws -> [UInt8]
    ) async throws -> Response {
        if let hit = lookup(key) {
            var response = JSONResponse.make(
                hit, request: request, cacheControl: cacheControl, contentType: contentType)
            response.headers[.xCache] = "hit"
            return response
        }
        let version = version()
        let entry = JSONResponse.render(bytes: try await compute())
        if let version { store(key, entry, version: version) }
        var response = JSONResponse.make(entry, request: request, cacheControl: cacheControl, contentType: contentType)
        response.headers[.xCache] = "miss"
        return response
    }
}
