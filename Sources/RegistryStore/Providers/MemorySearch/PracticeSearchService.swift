import Logging
import PostgresNIO
import RegistryCore
import ServiceLifecycle
import Synchronization

/// Answers practice searches from a ``PracticeSearchSnapshot`` when one of the current data is
/// loaded, and from PostgreSQL (``ProviderQueries``) otherwise: while the first snapshot loads,
/// after an import until the next one is built, and whenever the change listener is down.
/// A search is never answered from data older than the last applied import it could know of.
///
/// As a `Service` it builds the snapshot at start and rebuilds it when told the data changed
/// (``dataChanged()``, called on every `registry_data` notification) and the newest CoBRHA or
/// practice import is not the one the snapshot holds.
package final class PracticeSearchService: Service, Sendable {
    struct State {
        var snapshot: PracticeSearchSnapshot?
        /// The newest marker read from the database; a snapshot of another one is stale.
        var latestMarker: Int64?
        /// Notifications received, and how many of them the last marker read follows: memory
        /// answers wait until every notification has been followed by a marker read.
        var changes: UInt64 = 1
        var checkedChanges: UInt64 = 0
        /// Whether the change listener is connected (without it, changes could go unnoticed).
        var listening = false
    }

    let state = Mutex(State())
    let reader: ProviderQueries
    let client: PostgresClient
    let logger: Logger
    package let enabled: Bool
    let render: @Sendable (PracticeSearchHit) -> [UInt8]
    let renderResource: (@Sendable (FHIRActorQueries.Practice) -> [UInt8])?
    let changes: AsyncStream<Void>
    let signal: AsyncStream<Void>.Continuation

    /// `enabled: false` answers every search from PostgreSQL (and loads nothing). `render` makes
    /// the bytes of a hit once per practice when a snapshot loads (see `PracticeSearchRow.rendered`),
    /// `renderResource` those of the practice as a FHIR resource (`PracticeSearchRow.resource`).
    package init(
        client: PostgresClient, enabled: Bool, logger: Logger,
        render: @escaping @Sendable (PracticeSearchHit) -> [UInt8],
        renderResource: (@Sendable (FHIRActorQueries.Practice) -> [UInt8])? = nil
    ) {
        self.render = render
        self.renderResource = renderResource
        self.client = client
        self.reader = ProviderQueries(client: client, logger: logger)
        self.logger = logger
        self.enabled = enabled
        (changes, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The snapshot to answer from, if it is current.
    package var currentSnapshot: PracticeSearchSnapshot? {
        state.withLock { state in
            guard state.listening, state.checkedChanges == state.changes, let snapshot = state.snapshot,
                snapshot.marker == state.latestMarker
            else { return nil }
            return snapshot
        }
    }

    package func search(_ query: PracticeSearchQuery) async throws -> PracticeSearchResult {
        guard let snapshot = currentSnapshot else { return try await reader.search(query) }
        var folded: (exact: String, key: String)?
        if let name = query.name {
            folded = snapshot.folding.fold(name)
            if folded == nil { folded = try await reader.fold(name) }
        }
        return snapshot.search(query, folded: folded)
    }

    /// Some data changed: stop answering from memory until the marker is read again.
    package func dataChanged() {
        state.withLock { $0.changes &+= 1 }
        signal.yield()
    }

    /// Whether changes are being listened to (memory answers only while they are).
    package func setListening(_ listening: Bool) {
        state.withLock { $0.listening = listening }
        if listening { dataChanged() }
    }

    package func run() async throws {
        // A service that returns early would stop the whole service group: idle until shutdown.
        guard enabled else { return try await gracefulShutdown() }
        signal.yield()
        await cancelWhenGracefulShutdown {
            for await _ in self.changes {
                await self.refresh()
            }
        }
        signal.finish()
    }

    /// Reads the marker; when the snapshot is not of it, builds one (retrying after a failure).
    func refresh() async {
        while !Task.isCancelled {
            do {
                let seen = state.withLock { $0.changes }
                let marker = try await PracticeSearchSnapshot.currentMarker(client: client, logger: logger)
                let current = state.withLock { state in
                    state.latestMarker = marker
                    state.checkedChanges = seen
                    return state.snapshot?.marker == marker
                }
                if current { return }
                let clock = ContinuousClock()
                let started = clock.now
                let snapshot = try await PracticeSearchSnapshot.load(
                    client: client, logger: logger, render: render, renderResource: renderResource)
                state.withLock { $0.snapshot = snapshot }
                logger.info(
                    "practice search loaded in memory",
                    metadata: [
                        "practices": "\(snapshot.count)", "importRun": "\(snapshot.marker)",
                        "duration": "\(clock.now - started)",
                    ])
                // Another import may have committed while loading: read the marker again.
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "practice search could not be loaded in memory; searches use PostgreSQL",
                    metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }
}
