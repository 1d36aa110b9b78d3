import Foundation
import Logging
import PostgresNIO
import RegistryStore
import ServiceLifecycle

/// Keeps every configured source current: each source on its own schedule, a check right after
/// start when the last one (by any process) is due, then at the times its schedule gives. Runs
/// inside `registry serve` and `registry sync`; stops at graceful shutdown (an import in
/// progress is cancelled and rolls back).
package struct SourceSyncService: Service {
    let settings: SyncSettings
    let client: PostgresClient
    let logger: Logger
    let environment: [String: String]
    let progress: (@Sendable (String) -> Void)?

    package init(
        settings: SyncSettings, client: PostgresClient, logger: Logger, environment: [String: String],
        progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.environment = environment
        self.progress = progress
    }

    package func run() async throws {
        await withDiscardingTaskGroup { group in
            for source in settings.sources {
                group.addTask { await keepCurrent(source) }
            }
        }
    }

    func keepCurrent(_ source: SourceSettings) async {
        let synchroniser = SourceSynchroniser(
            settings: source, archiveRoot: settings.archiveDirectory, client: client, logger: logger,
            environment: environment, progress: progress)
        var due = await firstCheck(source)
        while !Task.isCancelledOrShuttingDown {
            let wait = due.timeIntervalSinceNow
            if wait > 0 {
                do {
                    try await gracefulShutdownSleep(seconds: wait)
                } catch {
                    return
                }
            }
            let next = source.schedule.nextCheck(after: Date(), random: Double.random(in: 0..<1))
            do {
                _ = try await cancelWhenGracefulShutdown {
                    try await synchroniser.check(nextCheck: next)
                }
            } catch {
                if Task.isCancelledOrShuttingDown { return }
                logger.error(
                    "source check could not run", metadata: ["source": "\(source.name.rawValue)", "error": "\(error)"])
            }
            due = next
        }
    }

    /// Now, unless the last recorded check (by this or another process) planned a later one.
    func firstCheck(_ source: SourceSettings) async -> Date {
        let statuses = (try? await SourceSyncRepository(client: client, logger: logger).statuses()) ?? []
        guard let status = statuses.first(where: { $0.source == source.name.rawValue }),
            let planned = status.nextCheckAt.flatMap({ ISO8601DateFormatter().date(from: $0) }),
            status.lastOutcome != "failed"
        else { return Date() }
        return min(planned, source.schedule.nextCheck(after: Date(), random: 0.5))
    }

    func gracefulShutdownSleep(seconds: Double) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .milliseconds(Int64(min(seconds, 86_400 * 30) * 1000)))
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
