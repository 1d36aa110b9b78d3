import Foundation
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore
import ServiceLifecycle
import Synchronization

/// How a dispatcher works; tests shorten the schedule, the lease and the timeouts.
package struct DispatcherSettings: Sendable {
    /// Names this process in leases and attempt records.
    package var workerId: String
    /// Subscriptions served at once (one HTTP call in flight each).
    package var concurrency: Int = 32
    /// Deliveries read and recorded per round trip.
    package var batchSize: Int = 100
    /// A claimed subscription is this process's for this long, renewed every round.
    package var leaseSeconds: Int = 60
    /// Looks for work at least this often even without a notification.
    package var pollInterval: Duration = .seconds(1)
    package var retryPolicy: RetryPolicy = .standard
    package var addressPolicy: TargetAddressPolicy = TargetAddressPolicy()
    package var timeouts: SendTimeouts = SendTimeouts()
    /// How often the process checks whether a new day began (for `sam.*.effective` events); nil
    /// leaves that to other processes.
    package var effectiveDateCheck: Duration? = .seconds(60)
    /// Resolves target host names (the system resolver; tests pin names to addresses).
    package var lookUp: WebhookSender.LookUp = WebhookSender.lookUp(host:)
    /// After a round that could not be recorded (or failed otherwise), the subscription is left
    /// alone for this long, doubling with each failure in a row up to `maximumHoldOff`.
    package var holdOff: Duration = .seconds(1)
    package var maximumHoldOff: Duration = .seconds(300)
    /// Decrypts the stored signing secrets (the `registry` commands always configure it).
    package var secretKeys: SecretKeyring = .plaintext

    package init(workerId: String = DispatcherSettings.defaultWorkerId()) {
        self.workerId = workerId
    }

    package static func defaultWorkerId() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):"
            + RandomText.identifier("").prefix(6)
    }
}

/// Delivers change events to subscriptions: claims subscriptions with work under a lease
/// (`FOR UPDATE SKIP LOCKED`, no transaction held during HTTP), sends each one's messages in
/// order, records every attempt, and retries or dead-letters failures. Any number of dispatchers
/// may run against one database. Woken by NOTIFY (new events, retries, replays) with a poll as
/// backstop.
package struct Dispatcher: Service {
    let client: PostgresClient
    let settings: DispatcherSettings
    let sender: WebhookSender
    let store: DeliveryStore
    let entities: any EventEntitySource
    let logger: Logger
    let failures = RoundFailures()

    package init(
        client: PostgresClient, settings: DispatcherSettings, entities: any EventEntitySource, logger: Logger
    ) {
        self.client = client
        self.settings = settings
        self.entities = entities
        self.logger = logger
        self.sender = WebhookSender(
            policy: settings.addressPolicy, timeouts: settings.timeouts, connectionsPerHost: settings.concurrency,
            lookUp: settings.lookUp, logger: logger)
        self.store = DeliveryStore(
            client: client, owner: settings.workerId, leaseSeconds: settings.leaseSeconds, keys: settings.secretKeys,
            logger: logger)
    }

    /// Imports, replays, manual retries and re-activations notify this channel.
    package static let channels = [SubscriptionRepository.wakeChannel]

    package func run() async throws {
        logger.info(
            "dispatcher started",
            metadata: ["worker": "\(settings.workerId)", "concurrency": "\(settings.concurrency)"])
        let (signals, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let stopping = StopFlag()
        // On SIGTERM/SIGINT no new subscription is claimed and the rounds in flight finish and are
        // recorded, so a restart does not send their messages again.
        await withGracefulShutdownHandler {
            await dispatch(signals: signals, wake: wake, stopping: stopping)
        } onGracefulShutdown: {
            stopping.stop()
            wake.finish()
        }
        await sender.shutdown()
        logger.info("dispatcher stopped", metadata: ["worker": "\(settings.workerId)"])
    }

    func dispatch(signals: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation, stopping: StopFlag) async {
        let running = InFlight()
        await withTaskGroup(of: Void.self) { background in
            for channel in Self.channels {
                background.addTask { await listen(on: channel, wake: wake) }
            }
            background.addTask {
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: settings.pollInterval)
                }
            }
            if let interval = settings.effectiveDateCheck {
                background.addTask { await emitEffectiveDateEvents(every: interval) }
            }
            await withDiscardingTaskGroup { workers in
                for await _ in signals {
                    if Task.isCancelled || stopping.isStopping { break }
                    let free = settings.concurrency - running.count.withLock { $0 }
                    guard free > 0 else { continue }
                    let claimed: [ClaimedSubscription]
                    do {
                        claimed = try await store.claim(limit: free)
                    } catch {
                        if !Task.isCancelled {
                            logger.warning(
                                "claiming subscriptions failed", metadata: ["error": "\(String(reflecting: error))"])
                        }
                        continue
                    }
                    for subscription in claimed {
                        running.count.withLock { $0 += 1 }
                        workers.addTask {
                            await serve(subscription, stopping: stopping)
                            running.count.withLock { $0 -= 1 }
                            wake.yield()
                        }
                    }
                }
            }
            background.cancelAll()
        }
    }

    /// At 00:00 Europe/Brussels (within `interval`), the day's effective-date events; after
    /// downtime, every missed day in order.
    func emitEffectiveDateEvents(every interval: Duration) async {
        let emitter = EffectiveDateEmitter(client: client, logger: logger)
        while !Task.isCancelled {
            do {
                try await emitter.catchUp()
            } catch {
                if !Task.isCancelled {
                    logger.warning("effective-date events failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    func listen(on channel: String, wake: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        for try await _ in notifications { wake.yield() }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.debug("dispatcher listener reconnecting", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Works through one claimed subscription for up to half its lease (then others get a turn),
    /// round by round; each round renews the lease when it records.
    ///
    /// A round that fails (the database refused its record, an event could not be rendered, …)
    /// must not be retried at once: its sends may already have happened, and claiming again
    /// straight away would send them again in a tight loop. The subscription is held off instead
    /// (see ``holdOffDelay(failures:)``); while the database is unreachable even that cannot be
    /// written, and the lease, ours until it expires, holds it off.
    func serve(_ claimed: ClaimedSubscription, stopping: StopFlag) async {
        var subscription = claimed
        let turnEnds = ContinuousClock.now + .seconds(max(1, settings.leaseSeconds / 2))
        do {
            while !Task.isCancelled, !stopping.isStopping, ContinuousClock.now < turnEnds {
                guard try await round(&subscription, until: roundDeadline()) else { break }
            }
            failures.succeeded(claimed.id)
            try await store.release(subscription.id)
        } catch {
            let error = unwrappingTransaction(error)
            if error is LeaseLost {
                logger.warning(
                    "lease lost; another dispatcher sends again", metadata: ["subscription": "\(claimed.id)"])
                return
            }
            if Task.isCancelled {
                // Shutting down: the next dispatcher may take over at once (what was sent but not
                // recorded is sent again, at least once).
                try? await store.release(subscription.id)
                return
            }
            let delay = holdOffDelay(failures: failures.failed(claimed.id))
            logger.error(
                "delivery round failed; subscription held off",
                metadata: [
                    "subscription": "\(claimed.id)", "error": "\(String(reflecting: error))",
                    "holdOffSeconds": "\(delay.components.seconds)",
                ])
            do {
                try await store.holdOff(subscription.id, for: delay)
            } catch {
                logger.warning(
                    "holding the subscription off failed; its lease holds it until it expires",
                    metadata: ["subscription": "\(claimed.id)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    /// The pause after the `failures`-th failed round in a row: `holdOff` doubled each time, at most
    /// `maximumHoldOff`.
    func holdOffDelay(failures: Int) -> Duration {
        var delay = settings.holdOff
        for _ in 1..<max(1, min(failures, 32)) where delay < settings.maximumHoldOff { delay *= 2 }
        return min(delay, settings.maximumHoldOff)
    }

    /// Records a round; when the database refuses the record (text it cannot store, a constraint),
    /// records it once more without the receivers' answers and error texts, so that attempts still
    /// count and retries are still scheduled. A second refusal is the caller's to handle.
    func record(
        _ subscription: ClaimedSubscription, attempts: [RecordedAttempt], cursor: Int64?, verdict: SubscriptionVerdict
    ) async throws {
        do {
            try await store.record(
                subscriptionId: subscription.id, attempts: attempts, cursor: cursor, verdict: verdict,
                disableAfterSeconds: settings.retryPolicy.disableAfterSeconds)
        } catch  where !attempts.isEmpty && unwrappingTransaction(error) is PSQLError {
            logger.error(
                "recording a delivery round failed; recording it without the receivers' answers",
                metadata: ["subscription": "\(subscription.id)", "error": "\(String(reflecting: error))"])
            try await store.record(
                subscriptionId: subscription.id, attempts: attempts.map { $0.withoutDetails() }, cursor: cursor,
                verdict: verdict, disableAfterSeconds: settings.retryPolicy.disableAfterSeconds)
        }
    }

    /// The last moment a round may start a send: the slowest send (connect + response timeouts)
    /// and its recording must still end inside the lease, or another dispatcher could take the
    /// subscription over and send the same messages concurrently.
    func roundDeadline() -> ContinuousClock.Instant {
        ContinuousClock.now + .seconds(settings.leaseSeconds) - settings.timeouts.connect - settings.timeouts.response
            - .seconds(2)
    }

    /// One round: the queue's due head(s), or else new matching events. True when there may be more to do now.
    func round(_ subscription: inout ClaimedSubscription, until deadline: ContinuousClock.Instant) async throws -> Bool
    {
        // Never unsigned: with no readable secret (its key is not configured) the round fails and
        // the subscription is held off until the operator fixes the keys.
        guard !subscription.secrets.isEmpty else { throw NoReadableSecret(subscription: subscription.id) }
        let queue = try await store.queued(subscription.id, limit: settings.batchSize)
        var recorded: [RecordedAttempt] = []
        var verdict = SubscriptionVerdict.healthy
        var blocked = false
        if !queue.isEmpty {
            for delivery in queue {
                guard delivery.due, ContinuousClock.now < deadline else {
                    blocked = true
                    break
                }
                let body: String
                if let stored = delivery.body {
                    body = stored
                } else if let event = delivery.event {
                    body = try await message(for: event, subscription: subscription)
                } else {
                    recorded.append(
                        deadLetter(delivery, reason: "the event was pruned from the feed before it could be sent"))
                    continue
                }
                let result = await sender.send(
                    url: subscription.url, messageId: delivery.messageId, body: Array(body.utf8),
                    secrets: subscription.secrets)
                let attempt = delivery.attempts + 1
                let outcome = judge(result, attempt: attempt - delivery.retryBase)
                recorded.append(
                    RecordedAttempt(
                        deliveryId: delivery.id, eventSeq: nil, messageId: delivery.messageId,
                        eventType: delivery.eventType, body: body, status: outcome.status,
                        nextAttemptIn: outcome.nextIn, attempt: attempt, result: result))
                verdict = outcome.verdict
                if outcome.status == "retrying" {
                    blocked = true
                    break
                }
            }
            try await record(subscription, attempts: recorded, cursor: nil, verdict: verdict)
            if case .disable = verdict { return false }
            return !blocked && !recorded.isEmpty
        }
        let (events, scannedTo) = try await store.events(
            for: subscription, after: subscription.cursor, limit: settings.batchSize)
        var cursor = scannedTo
        for event in events {
            guard ContinuousClock.now < deadline else {
                cursor = recorded.last?.eventSeq ?? subscription.cursor
                blocked = true
                break
            }
            let body = try await message(for: event, subscription: subscription)
            let result = await sender.send(
                url: subscription.url, messageId: event.id, body: Array(body.utf8), secrets: subscription.secrets)
            let outcome = judge(result, attempt: 1)
            recorded.append(
                RecordedAttempt(
                    deliveryId: nil, eventSeq: event.seq, messageId: event.id, eventType: event.type, body: body,
                    status: outcome.status, nextAttemptIn: outcome.nextIn, attempt: 1, result: result))
            verdict = outcome.verdict
            if outcome.status == "retrying" {
                // Queued now: the events after it wait behind it (the cursor stops here).
                cursor = event.seq
                blocked = true
                break
            }
        }
        try await record(subscription, attempts: recorded, cursor: cursor, verdict: verdict)
        subscription.cursor = max(subscription.cursor, cursor)
        if case .disable = verdict { return false }
        return !blocked && events.count == settings.batchSize
    }

    struct Outcome {
        var status: String
        var nextIn: Double
        var verdict: SubscriptionVerdict
    }

    /// The delivery's next state after an attempt (`attempt` counts from the last manual retry).
    func judge(_ result: AttemptResult, attempt: Int) -> Outcome {
        switch result.verdict {
        case .accepted:
            return Outcome(status: "succeeded", nextIn: 0, verdict: .healthy)
        case .gone:
            // Stays queued: if the subscription is re-activated it resumes here.
            return Outcome(
                status: "retrying", nextIn: 0, verdict: .disable(reason: "the receiver answered 410 Gone"))
        case .failed(_, let notBefore):
            if let delay = settings.retryPolicy.afterFailure(
                attempts: attempt, retryAfter: notBefore, random: Double.random(in: 0...1))
            {
                return Outcome(status: "retrying", nextIn: delay, verdict: .failing)
            }
            return Outcome(status: "dead", nextIn: 0, verdict: .failing)
        }
    }

    func deadLetter(_ delivery: QueuedDelivery, reason: String) -> RecordedAttempt {
        RecordedAttempt(
            deliveryId: delivery.id, eventSeq: nil, messageId: delivery.messageId, eventType: delivery.eventType,
            body: "", status: "dead", nextAttemptIn: 0, attempt: delivery.attempts + 1,
            result: AttemptResult(
                verdict: .failed(reason: reason, notBefore: nil), at: Date(), targetAddress: nil, statusCode: nil,
                latencyMs: 0, responseBody: nil, error: reason))
    }

    /// The exact bytes sent for an event: its feed envelope (thin), plus `data.entity` (full): the
    /// lookup answer for its href with every slice, null when the entity is gone.
    func message(for event: ChangeEventRecord, subscription: ClaimedSubscription) async throws -> String {
        let envelope = try event.envelope()
        guard subscription.payload == .full, case .object(var members) = envelope,
            case .object(var data)? = members["data"]
        else { return envelope.canonicalText }
        data["entity"] = try await data["href"]?.stringValue.asyncMap { try await entities.entity(href: $0) } ?? .null
        members["data"] = .object(data)
        return JSONValue.object(members).canonicalText
    }
}

/// Subscriptions being served right now (shared by the claiming loop and the workers).
final class InFlight: Sendable {
    let count = Mutex(0)
}

/// None of a subscription's signing secrets can be decrypted with the configured keys.
struct NoReadableSecret: Error, CustomStringConvertible {
    var subscription: String
    var description: String {
        "no signing secret of \(subscription) can be read with the configured keys (REGISTRY_SECRET_KEY, REGISTRY_SECRET_KEY_PREVIOUS)"
    }
}

/// Failed rounds in a row per subscription (this process's view), for the hold-off.
final class RoundFailures: Sendable {
    let counts = Mutex<[String: Int]>([:])

    /// Counts a failure; the number in a row.
    func failed(_ id: String) -> Int {
        counts.withLock { counts in
            counts[id, default: 0] += 1
            return counts[id]!
        }
    }

    func succeeded(_ id: String) {
        _ = counts.withLock { $0.removeValue(forKey: id) }
    }
}

/// Set once on graceful shutdown.
final class StopFlag: Sendable {
    let flag = Mutex(false)
    var isStopping: Bool { flag.withLock { $0 } }
    func stop() { flag.withLock { $0 = true } }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
