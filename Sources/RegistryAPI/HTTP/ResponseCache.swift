import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore
import Logging
import Metrics
import PostgresNIO
import RegistryStore
import ServiceLifecycle
import Synchronization

/// Rendered answers (body and ETag) of lookups and searches, kept until the data they were
/// rendered from changes.
///
/// Reference data changes only when an import commits, and every import sends
/// `NOTIFY registry_data` in its transaction; `DataChangeListener` then evicts exactly the
/// answers that depend on what the import changed: each answer is stored with its dependency
/// tags (``CacheTag``: the entities it was rendered from, the cross-references it followed), and
/// the import's change events name the tags to evict. Answers that cannot be tracked carry
/// ``CacheTag/untracked`` and go with every import. The cache only serves while that listener is
/// connected, so a lost connection means uncached answers, never stale ones. Two generations
/// approximate LRU within a byte budget: when the current one is full it becomes the previous one
/// and the oldest is dropped.
package final class ResponseCache: Sendable {
    package struct Entry: Sendable {
        package let body: [UInt8]
        package let etag: String
    }

    /// Where a SAM answer's `source` goes: answers are stored without it (the same answer holds
    /// through imports that do not touch it, while `source` names the newest import) and served
    /// with the newest source the node knows, or the one they were computed with if newer.
    struct SourceSlot: Sendable {
        var offset: Int
        var runId: Int64
        var json: [UInt8]
    }

    /// An answer as stored: its body (without the source when it has a slot) and its tags.
    struct Stored: Sendable {
        var entry: Entry
        var tags: [String]
        var source: SourceSlot?
        var size: Int { entry.body.count + (source?.json.count ?? 0) + tags.reduce(0) { $0 + $1.utf8.count + 16 } }
    }

    struct Generation {
        var entries: [String: Stored] = [:]
        /// Tag → keys of entries that carry it (may name keys no longer here).
        var index: [String: Set<String>] = [:]
        var bytes = 0

        mutating func insert(_ key: String, _ stored: Stored, size: Int) {
            if let old = entries.updateValue(stored, forKey: key) {
                bytes -= old.size + key.utf8.count + 64
            }
            for tag in stored.tags { index[tag, default: []].insert(key) }
            bytes += size
        }

        mutating func evict(_ tag: String) -> Int {
            guard let keys = index.removeValue(forKey: tag) else { return 0 }
            var evicted = 0
            for key in keys {
                if let old = entries.removeValue(forKey: key) {
                    bytes -= old.size + key.utf8.count + 64
                    evicted += 1
                }
            }
            return evicted
        }
    }

    struct State {
        /// Bumped by every eviction: an answer computed before it is not stored after it.
        var version: UInt64 = 0
        var enabled = false
        var current = Generation()
        var previous = Generation()
        /// The newest SAM source this node knows (from its listener).
        var source: SourceSlot?
        var evictedEntries = 0
        var clears = 0
    }

    let state = Mutex(State())
    /// The requests answered through the cache, for the next node's warm start.
    package let hotRequests = HotRequestCounter()
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
        return state.withLock { state -> Entry? in
            guard state.enabled else { return nil }
            if let stored = state.current.entries[key] { return Self.served(stored, newest: state.source) }
            guard let stored = state.previous.entries.removeValue(forKey: key) else { return nil }
            state.previous.bytes -= stored.size + key.utf8.count + 64
            Self.insert(key, stored, into: &state, generationBytes: generationBytes)
            return Self.served(stored, newest: state.source)
        }
    }

    /// The body and ETag to send: with a source slot, the stored body with the newer of the
    /// node's and the answer's own source spliced in, and an ETag naming both.
    static func served(_ stored: Stored, newest: SourceSlot?) -> Entry {
        guard var slot = stored.source else { return stored.entry }
        if let newest, newest.runId > slot.runId {
            slot.runId = newest.runId
            slot.json = newest.json
        }
        var body = [UInt8]()
        body.reserveCapacity(stored.entry.body.count + slot.json.count)
        body.append(contentsOf: stored.entry.body[..<slot.offset])
        body.append(contentsOf: slot.json)
        body.append(contentsOf: stored.entry.body[slot.offset...])
        return Entry(body: body, etag: String(stored.entry.etag.dropLast()) + "-r\(slot.runId)\"")
    }

    /// Keeps an answer computed at `version`, unless the data changed meanwhile.
    func store(_ key: String, _ stored: Stored, version: UInt64) {
        state.withLock { state in
            guard state.enabled, state.version == version else { return }
            Self.insert(key, stored, into: &state, generationBytes: generationBytes)
        }
    }

    static func insert(_ key: String, _ stored: Stored, into state: inout State, generationBytes: Int) {
        let size = stored.size + key.utf8.count + 64
        guard size <= generationBytes else { return }
        if state.current.bytes + size > generationBytes {
            state.previous = state.current
            state.current = Generation()
        }
        state.current.insert(key, stored, size: size)
    }

    /// The data changed in ways that cannot be told apart: drop everything.
    func invalidate() {
        state.withLock { state in
            state.version &+= 1
            state.current = Generation()
            state.previous = Generation()
            state.clears += 1
        }
        CacheMetrics.clears.increment()
        CacheMetrics.kept.record(0)
    }

    /// Drops the answers that carry any of `tags`; returns how many.
    @discardableResult
    func evict(_ tags: Set<String>) -> Int {
        let (evicted, left) = state.withLock { state -> (Int, Int) in
            state.version &+= 1
            var evicted = 0
            for tag in tags {
                evicted += state.current.evict(tag)
                evicted += state.previous.evict(tag)
            }
            state.evictedEntries += evicted
            return (evicted, state.current.entries.count + state.previous.entries.count)
        }
        CacheMetrics.evicted.increment(by: Int64(evicted))
        CacheMetrics.kept.record(left)
        return evicted
    }

    /// The newest SAM source: answers stored without theirs are served with it.
    func setSource(runId: Int64, json: [UInt8]) {
        state.withLock { state in
            if (state.source?.runId ?? -1) <= runId { state.source = SourceSlot(offset: 0, runId: runId, json: json) }
        }
    }

    func setEnabled(_ enabled: Bool) {
        state.withLock { $0.enabled = enabled }
        invalidate()
    }

    var isEnabled: Bool { state.withLock { $0.enabled } }

    package var count: Int { state.withLock { $0.current.entries.count + $0.previous.entries.count } }
    /// Entries evicted by tag and whole clears since start (for /metrics and the tests).
    package var evictions: (entries: Int, clears: Int) { state.withLock { ($0.evictedEntries, $0.clears) } }
}

/// What imports cost the cache: `registry_response_cache_evicted_entries_total` (answers evicted
/// by tag), `registry_response_cache_clears_total` (whole clears) and
/// `registry_response_cache_entries_after_eviction` (answers left after the last one).
enum CacheMetrics {
    static let evicted: Counter = {
        _ = RegistryMetrics.registry
        return Counter(label: "registry_response_cache_evicted_entries_total")
    }()
    static let clears: Counter = {
        _ = RegistryMetrics.registry
        return Counter(label: "registry_response_cache_clears_total")
    }()
    static let kept: Gauge = {
        _ = RegistryMetrics.registry
        return Gauge(label: "registry_response_cache_entries_after_eviction")
    }()
}

/// The dependency tags of cached answers. An import evicts the tags its change events name
/// (`DataChangeListener`); an answer carries the tags of everything it was rendered from.
package enum CacheTag {
    /// Answers not tracked entity by entity (providers, SPOR, FHIR, mappings, the medicine
    /// search): evicted by every import and by the midnight effective-date run.
    package static let untracked = "untracked"
    /// Every SAM lookup: evicted when a SAM entity type outside the tracked families changes.
    package static let samAny = "sam"
    /// Medicine search pages: evicted by every SAM import (the search index is rebuilt).
    package static let samSearch = "sam-search"
    /// SAM lookups that show IDMP codes (AMP, AMPP): evicted by every SPOR import too.
    package static let spor = "spor"

    /// A SAM entity (`e|amp|SAM000123-00`): evicted by the entity's own events and by those of
    /// its children (an answer listing X's children holds X).
    package static func entity(_ type: String, _ key: String) -> String { "e|\(type)|\(key)" }
    /// The reimbursement contexts of a DMPP code, matched by key fields, not by parent.
    package static func reimbursementContexts(environment: String, codeType: String, code: String) -> String {
        "rc|\(environment)|\(codeType)|\(code)"
    }
    /// The AMPs that name a VMP (`attributes.vmpCode`).
    package static func ampsOfVMP(_ code: String) -> String { "vmp-amps|\(code)" }
    /// The VMPs whose slices name a VMP group.
    package static func vmpsOfGroup(_ code: String) -> String { "group-vmps|\(code)" }

    /// The entity types whose changes are tracked by the tags above; a change of any other SAM
    /// type (reference tables, …) evicts every SAM answer.
    package static let trackedSAMTypes: Set<String> = [
        "amp", "ampp", "dmpp", "amp_component", "real_actual_ingredient", "ampp_component",
        "ampp_component_equivalent", "vmp", "vmp_component", "virtual_ingredient", "vmp_group", "company",
        "reimbursement_context", "copayment", "paragraph", "verse",
    ]
}

/// LISTENs on `registry_data` and evicts the cached answers an import changed (and tells the
/// in-memory practice search) on every notification; reconnects after a failure (the cache and
/// the in-memory search are off until it listens again).
struct DataChangeListener: Service {
    static let channel = "registry_data"
    /// A run with more events than this clears the whole cache (reading them would cost more).
    static let trackedEventLimit = 50_000
    let client: PostgresClient
    let cache: ResponseCache
    let practiceSearch: PracticeSearchService
    let logger: Logger
    /// The newest import run whose notification was handled (the 5 s watch compares with it).
    let handledRun = HandledRun()

    /// Shared by the listener's two tasks (the struct is copied into each).
    final class HandledRun: Sendable {
        let value = Mutex<Int64>(0)
        func withLock<T>(_ body: (inout Int64) -> T) -> T { value.withLock { body(&$0) } }
    }

    /// One notification: `DOMAIN:RUN` from an import, `effective` from the midnight run.
    func dataChanged(_ payload: String) async {
        defer { practiceSearch.dataChanged() }
        if payload == "effective" {
            // Answers are keyed by their date; only untracked ones may read "today" otherwise.
            cache.evict([CacheTag.untracked])
            return
        }
        let parts = payload.split(separator: ":")
        guard parts.count == 2, let runId = Int64(parts[1]) else {
            cache.invalidate()
            return
        }
        handledRun.withLock { $0 = max($0, runId) }
        switch parts[0] {
        case "sam":
            do {
                if let changes = try await ChangeTagQueries(client: client, logger: logger).samChanges(
                    runId: runId, limit: Self.trackedEventLimit)
                {
                    cache.evict(
                        CacheInvalidation.tags(forSAM: changes).union([CacheTag.untracked, CacheTag.samSearch]))
                } else {
                    cache.invalidate()
                }
                // After the eviction: an answer served with the new source is one the run left as it was.
                try await refreshSource()
            } catch {
                logger.warning(
                    "cannot read what the import changed; clearing the cache", metadata: ["error": "\(error)"])
                cache.invalidate()
            }
        case "spor-rms", "spor-sms", "spor-oms":
            cache.evict([CacheTag.untracked, CacheTag.spor])
        default:
            cache.evict([CacheTag.untracked])
        }
    }

    /// The newest SAM import, which answers stored without their source are served with.
    func refreshSource() async throws {
        if let source = try await SAMEntityQueries(client: client, logger: logger).latestSource() {
            cache.setSource(runId: source.runId, json: MedicineSource.json(source).canonicalBytes)
        }
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
                        try? await refreshSource()
                        setListening(true)
                        for try await notification in notifications { await dataChanged(notification.payload) }
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
    /// pool; one that no notification announced by the next look (5 s later: its NOTIFY may simply
    /// be on its way) clears the cache, so a lost notification costs at most 10 s of staleness.
    func watchImportRuns() async {
        var seen: Int64?
        var unannounced: Int64?
        while !Task.isCancelled {
            do {
                let rows = try await client.query(
                    "SELECT coalesce(max(id), 0) FROM import_run WHERE outcome = 'applied'", logger: logger)
                for try await newest in rows.decode(Int64.self) {
                    let handled = handledRun.withLock { $0 }
                    if let pending = unannounced, pending > handled {
                        cache.invalidate()
                        practiceSearch.dataChanged()
                        handledRun.withLock { $0 = max($0, pending) }
                        unannounced = nil
                    } else {
                        unannounced = nil
                    }
                    if let seen, newest > seen, newest > handled { unannounced = newest }
                    seen = newest
                }
            } catch {
                cache.invalidate()
                seen = nil
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }
}

/// Which cache tags a SAM import's changes evict (pure: the listener reads the changes).
enum CacheInvalidation {
    static func tags(forSAM changes: [ChangeTagQueries.SAMChange]) -> Set<String> {
        var tags = Set<String>()
        for change in changes {
            guard CacheTag.trackedSAMTypes.contains(change.entityType) else {
                // A type no answer tracks (a reference table, a new SAM type): every SAM answer.
                tags.insert(CacheTag.samAny)
                continue
            }
            tags.insert(CacheTag.entity(change.entityType, change.entityKey))
            // A new child changes the answers that list its parent's children (they hold the parent).
            if change.eventType.hasSuffix(".created"), let type = change.parentType, let key = change.parentKey {
                tags.insert(CacheTag.entity(type, key))
            }
            switch change.entityType {
            case "reimbursement_context":
                if let text = change.keyJSON, case .object(let key)? = try? JSONValue.parse(text),
                    let code = key["code"]?.stringValue, let environment = key["deliveryEnvironment"]?.stringValue,
                    let codeType = key["codeType"]?.stringValue
                {
                    tags.insert(
                        CacheTag.reimbursementContexts(environment: environment, codeType: codeType, code: code))
                } else {
                    tags.insert(CacheTag.samAny)
                }
            case "amp":
                for code in change.vmpCodes { tags.insert(CacheTag.ampsOfVMP(code)) }
            case "vmp":
                for text in change.groupCodesJSON {
                    for code in (try? JSONValue.parse(text))?.items ?? [] {
                        if let code = code.stringValue { tags.insert(CacheTag.vmpsOfGroup(code)) }
                    }
                }
            // A VMP created or deleted may enter or leave any group: those its slices name
            // are above; a deleted one's came from its history row.
            default:
                break
            }
        }
        return tags
    }
}

extension ResponseCache {
    /// Serves a rendered answer from the cache, or computes, caches and serves it (`X-Cache`
    /// says which). The entry is stored under the data version read before computing, so an
    /// import committing meanwhile never leaves a stale answer behind. Without `tags`, the answer
    /// goes with every import (``CacheTag/untracked``).
    func answer(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        contentType: String = "application/json", tags: [String] = [CacheTag.untracked],
        _ compute: () async throws -> JSONValue
    ) async throws -> Response {
        try await answerRendered(
            request, key: key, cacheControl: cacheControl, contentType: contentType, tags: tags
        ) {
            try await compute().canonicalBytes
        }
    }

    /// The same for an answer already rendered as canonical JSON bytes.
    func answerRendered(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        contentType: String = "application/json", tags: [String] = [CacheTag.untracked],
        _ compute: () async throws -> [UInt8]
    ) async throws -> Response {
        countHot(request)
        if let hit = lookup(key) { return Self.respond(hit, request, cacheControl, contentType, cache: "hit") }
        let version = version()
        let entry = JSONResponse.render(bytes: try await compute())
        if let version { store(key, Stored(entry: entry, tags: tags, source: nil), version: version) }
        return Self.respond(entry, request, cacheControl, contentType, cache: "miss")
    }

    static let warmUpHeader = HTTPField.Name("X-Registry-Warm-Up")!

    /// Counts a request for the warm start of the next node (not the warm-up's own requests).
    func countHot(_ request: Request) {
        guard generationBytes > 0, request.headers[Self.warmUpHeader] == nil else { return }
        hotRequests.count(request.uri.description)
    }

    /// A SAM lookup: cached with the tags of the entities it was rendered from, and stored
    /// without its `source` (spliced in when served, see ``SourceSlot``).
    func answerSAM(
        _ request: Request, key: String, cacheControl: String = JSONResponse.lookupCacheControl,
        _ compute: () async throws -> SAMAnswer
    ) async throws -> Response {
        countHot(request)
        if let hit = lookup(key) {
            return Self.respond(hit, request, cacheControl, "application/json", cache: "hit")
        }
        let version = version()
        let answer = try await compute()
        let stored = Self.template(answer)
        if let version { store(key, stored, version: version) }
        return Self.respond(Self.served(stored, newest: nil), request, cacheControl, "application/json", cache: "miss")
    }

    /// The answer rendered with a placeholder for `source`, cut at the placeholder.
    static func template(_ answer: SAMAnswer) -> Stored {
        guard case .object(var members) = answer.json, let source = answer.source else {
            return Stored(entry: JSONResponse.render(answer.json), tags: answer.tags, source: nil)
        }
        members["source"] = .string(sourcePlaceholder)
        let rendered = JSONResponse.render(JSONValue.object(members))
        guard let range = Self.firstRange(of: Self.sourceMarker, in: rendered.body) else {
            return Stored(entry: JSONResponse.render(answer.json), tags: answer.tags, source: nil)
        }
        var body = rendered.body
        body.removeSubrange(range)
        let template = JSONResponse.render(bytes: Array(body.dropLast()))
        return Stored(
            entry: template, tags: answer.tags,
            source: SourceSlot(
                offset: range.lowerBound, runId: source.runId, json: MedicineSource.json(source).canonicalBytes))
    }

    /// Cannot occur in SAM text (the importers refuse NUL).
    static let sourcePlaceholder = "\u{0}registry-source-slot\u{0}"
    /// The placeholder as rendered JSON (quoted, NUL escaped).
    static let sourceMarker = JSONValue.string(sourcePlaceholder).canonicalBytes

    /// Where `marker` first occurs in `bytes`: `memchr` to its first byte, then `memcmp`. The
    /// generic `firstRange(of:)` compared element by element through protocol witnesses and was a
    /// quarter of an uncached lookup's CPU (perf, BENCHMARKS.md "Cold answers").
    static func firstRange(of marker: [UInt8], in bytes: [UInt8]) -> Range<Int>? {
        guard let first = marker.first else { return nil }
        return bytes.withUnsafeBytes { haystack -> Range<Int>? in
            marker.withUnsafeBytes { needle -> Range<Int>? in
                guard let base = haystack.baseAddress, let needleBase = needle.baseAddress else { return nil }
                var offset = 0
                while haystack.count - offset >= needle.count,
                    let found = memchr(base + offset, Int32(first), haystack.count - offset - needle.count + 1)
                {
                    offset = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(found, needleBase, needle.count) == 0 { return offset..<offset + needle.count }
                    offset += 1
                }
                return nil
            }
        }
    }

    static func respond(
        _ entry: Entry, _ request: Request, _ cacheControl: String, _ contentType: String, cache: String
    )
        -> Response
    {
        var response = JSONResponse.make(entry, request: request, cacheControl: cacheControl, contentType: contentType)
        response.headers[.xCache] = cache
        return response
    }
}

/// A SAM lookup's answer with what the cache needs: the tags it depends on and its source.
struct SAMAnswer: Sendable {
    var json: JSONValue
    var tags: [String]
    var source: SAMSourceRun?
}
