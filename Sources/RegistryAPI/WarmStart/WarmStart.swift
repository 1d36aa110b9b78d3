import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Counts the cached GET requests this node answers (path and query), so that the most requested
/// ones can be written to `hot_request` and preloaded by the next node that starts.
package final class HotRequestCounter: Sendable {
    /// Most distinct requests counted between two flushes; beyond it the rarest are dropped.
    static let capacity = 20_000
    let counts = Mutex<[String: Int]>([:])

    package init() {}

    func count(_ path: String) {
        guard path.utf8.count <= 1024 else { return }
        counts.withLock { counts in
            counts[path, default: 0] += 1
            if counts.count > Self.capacity {
                // Keep the busier half: a flood of one-off paths cannot grow memory.
                let threshold = counts.values.sorted(by: >)[Self.capacity / 2]
                counts = counts.filter { $0.value > threshold }
            }
        }
    }

    /// The counts since the last call, most requested first, at most `limit`.
    func drain(limit: Int) -> [(path: String, hits: Int)] {
        let taken = counts.withLock { counts -> [String: Int] in
            defer { counts = [:] }
            return counts
        }
        return taken.sorted { $0.value > $1.value }.prefix(limit).map { ($0.key, $0.value) }
    }
}

/// Whether the node is still preloading its cache (`/health/ready` says "warming" meanwhile).
package final class WarmUpState: Sendable {
    enum Phase: Sendable { case waiting, warming(done: Int, of: Int), ready }
    let phase: Mutex<Phase>

    init(warming: Bool) { phase = Mutex(warming ? .waiting : .ready) }

    /// nil when ready; else what is left to do, for the readiness problem's detail.
    var pending: String? {
        switch phase.withLock({ $0 }) {
        case .ready: nil
        case .waiting: "the response cache is about to be warmed"
        case .warming(let done, let total): "warming the response cache: \(done) of \(total) answers"
        }
    }
}

/// Settings of the warm start.
package struct WarmStartSettings: Sendable {
    /// Most requests preloaded at start (0: no warm start).
    package var paths = 2000
    /// Longest the warm-up may hold readiness back.
    package var timeLimit: Duration = .seconds(30)
    /// How often the node writes its most requested paths to the database.
    package var flushInterval: Duration = .seconds(60)

    package init() {}
}

/// Writes the node's most requested paths to `hot_request` every `flushInterval` (hits add up
/// across nodes; the table keeps the 5,000 busiest), and at start replays the busiest ones
/// against this node's own listener before it reports ready.
struct WarmStartService: Service {
    let client: PostgresClient
    let cache: ResponseCache
    let state: WarmUpState
    let settings: WarmStartSettings
    /// The listener's port, once the server runs.
    let port: AsyncStream<Int>
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await warmUp() }
                group.addTask { await flushPeriodically() }
                await group.waitForAll()
            }
        }
        try? await flush()
    }

    func flushPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.flushInterval)
            if Task.isCancelled { return }
            do { try await flush() } catch {
                logger.debug("could not record the hot requests", metadata: ["error": "\(error)"])
            }
        }
    }

    func flush() async throws {
        let hot = cache.hotRequests.drain(limit: 1000)
        guard !hot.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO hot_request (path, hits)
            SELECT * FROM unnest(\(hot.map(\.path))::text[], \(hot.map { Int64($0.hits) })::bigint[])
            ON CONFLICT (path) DO UPDATE SET hits = hot_request.hits + EXCLUDED.hits, seen_at = now()
            """, logger: logger)
        try await client.query(
            """
            DELETE FROM hot_request WHERE path IN (
                SELECT path FROM hot_request ORDER BY hits DESC OFFSET 5000)
            """, logger: logger)
    }

    func warmUp() async {
        defer { state.phase.withLock { $0 = .ready } }
        guard settings.paths > 0 else { return }
        let paths: [String]
        do {
            paths = try await client.query(
                "SELECT path FROM hot_request ORDER BY hits DESC LIMIT \(Int64(settings.paths))", logger: logger
            ).decode(String.self).reduce(into: []) { $0.append($1) }
        } catch {
            logger.warning("no warm start: cannot read the hot requests", metadata: ["error": "\(error)"])
            return
        }
        guard !paths.isEmpty else { return }
        var boundPort: Int?
        for await value in port {
            boundPort = value
            break
        }
        guard let boundPort, boundPort > 0 else { return }
        let started = ContinuousClock.now
        // The cache keeps answers only once its change listener listens (else they could go stale).
        while !cache.isEnabled, ContinuousClock.now - started < settings.timeLimit {
            try? await Task.sleep(for: .milliseconds(50))
        }
        state.phase.withLock { $0 = .warming(done: 0, of: paths.count) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let timeLimit = settings.timeLimit
        // A few at a time: the warm-up must not starve the database of the node that serves.
        let done = await withTaskGroup(of: Void.self) { group -> Int in
            var index = 0
            var done = 0
            while true {
                while index < paths.count, index - done < 8, ContinuousClock.now - started < timeLimit {
                    let url = "http://127.0.0.1:\(boundPort)\(paths[index])"
                    index += 1
                    group.addTask {
                        var request = HTTPClientRequest(url: url)
                        request.headers.add(name: "X-Registry-Warm-Up", value: "1")
                        if let response = try? await http.execute(request, timeout: .seconds(10)) {
                            _ = try? await response.body.collect(upTo: 64 << 20)
                        }
                    }
                }
                guard await group.next() != nil else { return done }
                done += 1
                state.phase.withLock { $0 = .warming(done: done, of: paths.count) }
            }
        }
        try? await http.shutdown()
        logger.info(
            "response cache warmed",
            metadata: [
                "answers": "\(done)", "of": "\(paths.count)",
                "seconds": "\((ContinuousClock.now - started).components.seconds)",
            ])
    }
}
