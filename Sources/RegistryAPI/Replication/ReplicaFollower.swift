import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import ServiceLifecycle
import Synchronization

/// A node's read connections go to a hot standby (`DATABASE_READ_URL`), its writes to the primary.
package struct ReplicaSettings: Sendable {
    /// Past this lag `/health/ready` answers 503, so a load balancer drains the node.
    package var maxLag: Duration = .seconds(30)
    /// How often the standby is asked what it has replayed (and the primary where it is).
    package var pollInterval: Duration = .milliseconds(250)

    package init(maxLag: Duration = .seconds(30), pollInterval: Duration = .milliseconds(250)) {
        self.maxLag = maxLag
        self.pollInterval = pollInterval
    }
}

/// What the follower last saw, for `/health/ready`.
package final class ReplicaState: Sendable {
    package struct Snapshot: Sendable {
        /// When the standby last answered.
        var lastAnswer: ContinuousClock.Instant?
        /// False when the read database is not in recovery (a primary given as read URL).
        var standby = true
        var lag: Duration?
        var primaryReachable: Bool?
        var lastError: String?
    }
    let snapshot = Mutex(Snapshot())
    let settings: ReplicaSettings
    /// The follower's: the primary's positions over time, and until when to poll every 20 ms
    /// (set by the primary's notifications).
    let estimator = Mutex(ReplicaLagEstimator())
    let hurry = Mutex(ContinuousClock.now)

    init(settings: ReplicaSettings) { self.settings = settings }

    var current: Snapshot { snapshot.withLock { $0 } }

    /// Why the node should not take traffic, or nil.
    func notReadyReason(now: ContinuousClock.Instant = .now) -> String? {
        let state = current
        let stale = max(.seconds(3), settings.pollInterval * 4)
        guard let answered = state.lastAnswer, now - answered <= stale else {
            return "the read database (standby) has not answered for \(stale)"
                + (state.lastError.map { ": \($0)" } ?? "")
        }
        guard let lag = state.lag else { return "the standby's replication lag is unknown" }
        if lag > settings.maxLag {
            return
                "the standby is \(Self.seconds(lag)) s behind the primary (at most \(Self.seconds(settings.maxLag)) s)"
        }
        return nil
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(Double((value * 1000).rounded()) / 1000)
    }
}

/// Keeps a standby-backed node exactly as fresh as its standby, without `LISTEN` on it (a hot
/// standby refuses `LISTEN`). Every `pollInterval` it reads, on the standby, the applied import
/// runs and the last effective day that it has replayed: a run it has not seen evicts what that
/// run changed (the change events are read from the standby too, so they are there), exactly as a
/// notification would on a primary-backed node. The primary's `NOTIFY` only wakes it early, and
/// then it looks every 20 ms until the standby has the new run: a node never answers from data
/// older than its standby for long, and never caches anything the standby does not show (its
/// answers are read from it). It also measures the standby's lag against the primary's WAL
/// position for readiness.
struct ReplicaFollower: Service {
    let read: PostgresClient
    let primary: PostgresClient
    /// Does the evictions and the practice snapshot reloads (with `read` as its client).
    let listener: DataChangeListener
    let state: ReplicaState
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await follow() }
                group.addTask { await samplePrimary() }
                group.addTask { await listenToPrimary() }
                await group.waitForAll()
            }
        }
    }

    /// The standby's view, polled every `pollInterval`, or every 20 ms for 2 s after a wake-up.
    func follow() async {
        var seenRuns: Set<Int64>?
        var effectiveDay = ""
        while !Task.isCancelled {
            await poll(&seenRuns, &effectiveDay)
            var slept = Duration.zero
            while slept < state.settings.pollInterval, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                slept += .milliseconds(20)
                if ContinuousClock.now < state.hurry.withLock({ $0 }) { break }
            }
        }
    }

    func poll(_ seenRuns: inout Set<Int64>?, _ effectiveDay: inout String) async {
        do {
            let view = try await withDeadline(.seconds(3)) {
                try await standbyView()
            }
            let now = ContinuousClock.now
            let lag: Duration? =
                view.standby
                ? (state.estimator.withLock { $0.lag(replayed: view.replayed, now: now) } ?? view.lastCommitAge)
                : .zero
            state.snapshot.withLock {
                $0.lastAnswer = now
                $0.standby = view.standby
                $0.lag = lag
                $0.lastError = nil
            }
            if let seen = seenRuns {
                let new = view.runs.filter { !seen.contains($0.id) }.sorted { $0.id < $1.id }
                for run in new { await listener.dataChanged("\(run.domain):\(run.id)") }
                // The runs the standby lists (its newest 50): older ones cannot appear again.
                seenRuns = Set(view.runs.map(\.id))
                if view.effectiveDay != effectiveDay {
                    effectiveDay = view.effectiveDay
                    await listener.dataChanged("effective")
                }
                if !new.isEmpty { state.hurry.withLock { $0 = now } }
            } else {
                // The baseline: what the standby has now is what the node starts serving.
                seenRuns = Set(view.runs.map(\.id))
                effectiveDay = view.effectiveDay
                try? await listener.refreshSource()
                listener.setListening(true)
            }
        } catch {
            if !Task.isCancelled {
                let first = state.snapshot.withLock { snapshot -> Bool in
                    defer { snapshot.lastError = "\(error)" }
                    return snapshot.lastError == nil
                }
                if first {
                    logger.warning(
                        "the standby does not answer; answers are uncached until it does",
                        metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            if seenRuns != nil {
                seenRuns = nil
                listener.setListening(false)
            }
        }
    }

    struct StandbyView {
        var standby: Bool
        var replayed: UInt64
        var lastCommitAge: Duration?
        var runs: [(id: Int64, domain: String)]
        var effectiveDay: String
    }

    /// One statement on the read database: recovery state, replayed position, the applied runs
    /// and the last effective day it shows.
    func standbyView() async throws -> StandbyView {
        let rows = try await read.query(
            """
            SELECT pg_is_in_recovery(),
                   (CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0')
                         ELSE pg_current_wal_lsn() END)::text,
                   extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
                   (SELECT coalesce(string_agg(id::text || ':' || domain, ','), '')
                    FROM (SELECT id, domain FROM import_run WHERE outcome = 'applied' ORDER BY id DESC LIMIT 50) r),
                   (SELECT coalesce(max(day)::text, '') FROM effective_day WHERE events > 0)
            """, logger: logger)
        for try await (standby, replayed, age, runs, day) in rows.decode((Bool, String, Double?, String, String).self) {
            let parsedRuns = runs.split(separator: ",").compactMap { item -> (id: Int64, domain: String)? in
                let parts = item.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let id = Int64(parts[0]) else { return nil }
                return (id, String(parts[1]))
            }
            return StandbyView(
                standby: standby, replayed: ReplicaLagEstimator.position(replayed) ?? 0,
                lastCommitAge: age.map { .milliseconds(Int64(max(0, $0) * 1000)) }, runs: parsedRuns,
                effectiveDay: day)
        }
        throw ReplicaError.noAnswer
    }

    enum ReplicaError: Error { case noAnswer }

    /// The primary's WAL position every poll interval, for the lag.
    func samplePrimary() async {
        while !Task.isCancelled {
            let before = ContinuousClock.now
            do {
                let position = try await withDeadline(.seconds(2)) {
                    let rows = try await primary.query(
                        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END",
                        logger: logger)
                    for try await text in rows.decode(String?.self) { return text }
                    return nil
                }
                if let position = position.flatMap(ReplicaLagEstimator.position) {
                    state.estimator.withLock { $0.record(primary: position, at: before) }
                }
                state.snapshot.withLock { $0.primaryReachable = true }
            } catch {
                state.snapshot.withLock { $0.primaryReachable = false }
            }
            try? await Task.sleep(for: state.settings.pollInterval)
        }
    }

    /// `LISTEN registry_data` on the primary (when reachable): a commit there means the standby
    /// will have something new very soon.
    func listenToPrimary() async {
        while !Task.isCancelled {
            do {
                try await primary.withConnection { connection in
                    try await connection.listen(on: DataChangeListener.channel) { notifications in
                        for try await _ in notifications { state.hurry.withLock { $0 = .now + .seconds(2) } }
                    }
                }
            } catch {}
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
