import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryDispatch
import RegistryStore
import ServiceLifecycle

/// How webhooks are sent, shared by `serve` and `dispatch` (each option also from the environment).
struct WebhookOptions: ParsableArguments {
    static let environment = ProcessInfo.processInfo.environment

    @Option(
        help: ArgumentHelp(
            "Addresses or CIDR blocks webhooks may reach although private/loopback, comma-separated; plain http is allowed only to these (env WEBHOOK_ALLOW_TARGETS).",
            valueName: "list"))
    var allowTargets = environment["WEBHOOK_ALLOW_TARGETS"] ?? ""

    @Option(
        help: ArgumentHelp(
            "Delays before each retry, e.g. 5s,1m,5m,30m,2h,6h,12h,24h,24h,24h; after the last one a delivery is a dead letter (env WEBHOOK_RETRY_SCHEDULE).",
            valueName: "delays"))
    var retrySchedule = environment["WEBHOOK_RETRY_SCHEDULE"] ?? "5s,1m,5m,30m,2h,6h,12h,24h,24h,24h"

    @Option(
        help:
            "Hours of failures without a success after which a subscription is disabled (env WEBHOOK_DISABLE_AFTER_HOURS)."
    )
    var disableAfterHours = environment["WEBHOOK_DISABLE_AFTER_HOURS"].flatMap { Double($0) } ?? 120

    @Option(help: "Seconds a rotated-out secret keeps signing (env WEBHOOK_SECRET_OVERLAP_SECONDS).")
    var secretOverlapSeconds = environment["WEBHOOK_SECRET_OVERLAP_SECONDS"].flatMap { Int($0) } ?? 86400

    @Option(help: "Subscriptions served at once by this process (env DISPATCH_CONCURRENCY).")
    var dispatchConcurrency = environment["DISPATCH_CONCURRENCY"].flatMap { Int($0) } ?? 32

    @Option(help: "Seconds a claimed subscription stays this process's (env DISPATCH_LEASE_SECONDS).")
    var leaseSeconds = environment["DISPATCH_LEASE_SECONDS"].flatMap { Int($0) } ?? 60

    @Option(help: "Seconds to connect to a receiver (env WEBHOOK_CONNECT_TIMEOUT).")
    var connectTimeout = environment["WEBHOOK_CONNECT_TIMEOUT"].flatMap { Double($0) } ?? 5

    @Option(help: "Seconds to wait for a receiver's answer (env WEBHOOK_RESPONSE_TIMEOUT).")
    var responseTimeout = environment["WEBHOOK_RESPONSE_TIMEOUT"].flatMap { Double($0) } ?? 15

    @Option(
        help: "Most events one replay call queues; a larger limit is refused with 422 (env WEBHOOK_REPLAY_MAX_EVENTS).")
    var replayMaxEvents = environment["WEBHOOK_REPLAY_MAX_EVENTS"].flatMap { Int($0) } ?? 10_000

    @Option(
        help:
            "Most deliveries a subscription may have waiting; a replay beyond it is refused with 429 (env WEBHOOK_MAX_QUEUED_DELIVERIES)."
    )
    var maxQueuedDeliveries = environment["WEBHOOK_MAX_QUEUED_DELIVERIES"].flatMap { Int($0) } ?? 50_000

    @Option(
        help:
            "Most subscriptions one API client may have; one more is refused with 422 (env WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT)."
    )
    var maxSubscriptionsPerClient = environment["WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT"].flatMap { Int($0) } ?? 100

    @Flag(
        name: .customLong("plaintext-secrets"),
        help:
            "Store webhook signing secrets in plain text when REGISTRY_SECRET_KEY is not set, instead of refusing to start (env REGISTRY_PLAINTEXT_SECRETS=1)."
    )
    var plaintextSecretsFlag = false

    /// The operator chose plain storage (flag or environment).
    var plaintextSecrets: Bool {
        plaintextSecretsFlag
            || ["1", "true", "yes"].contains(Self.environment["REGISTRY_PLAINTEXT_SECRETS"]?.lowercased() ?? "")
    }

    @Flag(
        inversion: .prefixedNo,
        help:
            "Emit sam.*.effective events when a day begins in Belgium (any number of processes may; each day is emitted once)."
    )
    var effectiveEvents = true

    func validate() throws {
        do {
            _ = try secretKeys()
        } catch {
            throw ValidationError(error.description)
        }
        guard (1...1_000_000).contains(replayMaxEvents) else {
            throw ValidationError("--replay-max-events must be from 1 to 1000000.")
        }
        guard maxQueuedDeliveries >= 1 else { throw ValidationError("--max-queued-deliveries must be at least 1.") }
        guard maxSubscriptionsPerClient >= 1 else {
            throw ValidationError("--max-subscriptions-per-client must be at least 1.")
        }
        if case .failure(let refusal) = TargetAddressPolicy.parse(allowList: allowTargets) {
            throw ValidationError("--allow-targets: \(refusal)")
        }
        guard RetryPolicy(schedule: retrySchedule) != nil else {
            throw ValidationError("--retry-schedule must be delays such as 5s,1m,2h,1d separated by commas.")
        }
        guard disableAfterHours > 0 else { throw ValidationError("--disable-after-hours must be positive.") }
        guard (0...604_800).contains(secretOverlapSeconds) else {
            throw ValidationError("--secret-overlap-seconds must be from 0 to 604800.")
        }
        guard (1...1024).contains(dispatchConcurrency) else {
            throw ValidationError("--dispatch-concurrency must be from 1 to 1024.")
        }
        guard (2...3600).contains(leaseSeconds) else {
            throw ValidationError("--lease-seconds must be from 2 to 3600.")
        }
        guard connectTimeout > 0, connectTimeout <= 60, responseTimeout > 0, responseTimeout <= 300 else {
            throw ValidationError("timeouts must be positive (connect ≤ 60 s, response ≤ 300 s).")
        }
        // A send that takes both timeouts, and its recording, must end inside the lease.
        guard Double(leaseSeconds) >= connectTimeout + responseTimeout + 5 else {
            throw ValidationError(
                "--lease-seconds must be at least the connect and response timeouts plus 5 s (here \(Int(connectTimeout + responseTimeout + 5)))."
            )
        }
    }

    var policy: TargetAddressPolicy { (try? TargetAddressPolicy.parse(allowList: allowTargets).get()) ?? .init() }
    var timeouts: SendTimeouts {
        SendTimeouts(
            connect: .milliseconds(Int(connectTimeout * 1000)), response: .milliseconds(Int(responseTimeout * 1000)))
    }

    /// The keys of the signing secrets at rest, from REGISTRY_SECRET_KEY and REGISTRY_SECRET_KEY_PREVIOUS.
    func secretKeys() throws(SecretKeyConfigurationError) -> SecretKeyring {
        try SecretKeyring.fromEnvironment(Self.environment, plaintextAllowed: plaintextSecrets)
    }

    var webhookSettings: WebhookSettings {
        var settings = WebhookSettings(
            addressPolicy: policy, secretOverlapSeconds: secretOverlapSeconds, timeouts: timeouts)
        settings.secretKeys = (try? secretKeys()) ?? .plaintext
        settings.replayMaxEvents = replayMaxEvents
        settings.maxQueuedDeliveries = maxQueuedDeliveries
        settings.maxSubscriptionsPerClient = maxSubscriptionsPerClient
        return settings
    }

    var dispatcherSettings: DispatcherSettings {
        var settings = DispatcherSettings()
        settings.concurrency = dispatchConcurrency
        settings.leaseSeconds = leaseSeconds
        settings.retryPolicy =
            RetryPolicy(
                schedule: retrySchedule, disableAfterSeconds: disableAfterHours * 3600) ?? .standard
        settings.addressPolicy = policy
        settings.timeouts = timeouts
        settings.effectiveDateCheck = effectiveEvents ? .seconds(60) : nil
        settings.secretKeys = (try? secretKeys()) ?? .plaintext
        return settings
    }
}

/// `registry dispatch`: the webhook dispatcher alone (any number may run against one database).
struct DispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Deliver change events to webhook subscriptions until SIGTERM or SIGINT (also runs inside serve).")

    @OptionGroup var webhooks: WebhookOptions

    func run() async throws {
        var configured = Logger(label: "registry.dispatch")
        configured.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = configured
        let settings = webhooks.dispatcherSettings
        try await DatabaseContext.with(logger: logger) { url in
            try await withPostgresClient(url, logger: logger) { client in
                await SecretsCommand.checkStoredSecrets(client: client, keys: settings.secretKeys, logger: logger)
            }
            var configuration = url.clientConfiguration
            configuration.options.maximumConnections = max(4, settings.concurrency / 2 + 3)
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            let group = ServiceGroup(
                configuration: ShutdownBounds.configuration(
                    services: [
                        .init(service: PostgresService(client: client)),
                        .init(
                            service: Dispatcher(
                                client: client, settings: settings,
                                entities: LookupEntitySource(client: client, logger: logger), logger: logger),
                            successTerminationBehavior: .gracefullyShutdownGroup),
                    ], logger: logger))
            try await group.run()
        }
    }
}

/// `PostgresClient.run()` as a service that ends on graceful shutdown.
struct PostgresService: Service {
    let client: PostgresClient
    func run() async throws {
        await cancelWhenGracefulShutdown { await client.run() }
    }
}

/// `registry clients create|list|revoke`: API clients and their bearer tokens.
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "Create, list and revoke API clients (bearer tokens with scopes).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a client and print its bearer token (shown once; only its hash is stored).")

        @Option(help: "A name that says who the client is.") var name: String
        @Option(
            help: ArgumentHelp(
                "Comma-separated scopes: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list")
        )
        var scopes: String

        func validate() throws {
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.utf8.count <= 200 else {
                throw ValidationError("--name must be 1 to 200 bytes.")
            }
            if case .failure(let unknown) = Scope.parseList(scopes) { throw ValidationError("--scopes: \(unknown)") }
            if case .success(let list) = Scope.parseList(scopes), list.isEmpty {
                throw ValidationError("--scopes needs at least one scope.")
            }
        }

        func run() async throws {
            let scopes = try Scope.parseList(self.scopes).get()
            let logger = Logger(label: "registry.clients")
            let (record, token) = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    let created = try await ClientRepository(client: client, logger: logger).create(
                        name: name, scopes: scopes)
                    try await AuditLog(client: client, logger: logger).record(
                        AuditEntry(
                            clientId: nil, action: "client.create", target: created.0.id, outcome: .succeeded,
                            status: nil,
                            detail: .object([
                                "via": .string("cli"), "scopes": .array(scopes.map { .string($0.rawValue) }),
                            ])))
                    return created
                }
            }
            print("client: \(record.id)")
            print("scopes: \(record.scopes.map(\.rawValue).joined(separator: ","))")
            print("token:  \(token.text)")
            FileHandle.standardError.write(Data("The token is shown once; store it now.\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients (never their tokens).")

        func run() async throws {
            let logger = Logger(label: "registry.clients")
            let records = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    try await ClientRepository(client: client, logger: logger).list()
                }
            }
            for record in records {
                let state = record.revokedAt.map { "revoked \($0)" } ?? "active"
                print(
                    "\(record.id)\t\(record.name)\t\(record.scopes.map(\.rawValue).joined(separator: ","))\tcreated \(record.createdAt)\t\(state)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a client: its token stops working at once.")

        @Argument(help: "The client id (cli_…).") var id: String

        func run() async throws {
            let logger = Logger(label: "registry.clients")
            let id = self.id
            let record = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    let revoked = try await ClientRepository(client: client, logger: logger).revoke(id: id)
                    try await AuditLog(client: client, logger: logger).record(
                        AuditEntry(
                            clientId: nil, action: "client.revoke", target: id,
                            outcome: revoked == nil ? .refused : .succeeded, status: nil,
                            detail: .object(["via": .string("cli")])))
                    return revoked
                }
            }
            guard let record else { throw CommandError(description: "no client \(id)") }
            print("revoked \(record.id) (\(record.name)) at \(record.revokedAt ?? "")")
        }
    }
}

/// `registry secrets status|rotate`: the webhook signing secrets at rest.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Webhook signing secrets at rest: which key encrypts them, and re-encryption under the current key.",
        discussion: """
            Secrets are encrypted with AES-256-GCM under REGISTRY_SECRET_KEY (32 bytes, base64). To change \
            the key: set the new key as REGISTRY_SECRET_KEY and the old one in REGISTRY_SECRET_KEY_PREVIOUS \
            (comma-separated; those only decrypt), restart serve/dispatch, run `registry secrets rotate`, \
            then drop the old key from REGISTRY_SECRET_KEY_PREVIOUS. `rotate` also encrypts secrets stored \
            in plain text (before encryption at rest, or with --plaintext-secrets).
            """,
        subcommands: [Status.self, Rotate.self])

    /// Logs what the operator must know about the stored secrets: rows in plain text while a key is
    /// configured, and rows under a key that is not configured (they cannot sign).
    static func checkStoredSecrets(client: PostgresClient, keys: SecretKeyring, logger: Logger) async {
        let usage: [String: Int]
        do {
            usage = try await SubscriptionRepository(client: client, logger: logger, keys: keys).secretKeyUsage()
        } catch {
            logger.warning("cannot read the stored signing secrets", metadata: ["error": "\(describe(error))"])
            return
        }
        if keys.encrypts, let plain = usage["plain"] {
            logger.warning(
                "\(plain) webhook signing secret(s) are stored in plain text; run `registry secrets rotate` to encrypt them"
            )
        }
        let unknown = usage.keys.filter { $0 != "plain" && !keys.keyIds.contains($0) }.sorted()
        if !unknown.isEmpty {
            logger.error(
                "webhook signing secrets are encrypted with key(s) \(unknown.joined(separator: ", ")), which are neither REGISTRY_SECRET_KEY nor in REGISTRY_SECRET_KEY_PREVIOUS: their subscriptions cannot be delivered to"
            )
        }
    }

    static func keyring() throws -> SecretKeyring {
        do {
            return try SecretKeyring.fromEnvironment(ProcessInfo.processInfo.environment, plaintextAllowed: false)
        } catch {
            throw ValidationError(error.description)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How many stored secrets are under each key (plain: not encrypted).")

        func run() async throws {
            let logger = makeLogger()
            let keys = try SecretKeyring.fromEnvironment(ProcessInfo.processInfo.environment, plaintextAllowed: true)
            let usage = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    try await SubscriptionRepository(client: client, logger: logger, keys: keys).secretKeyUsage()
                }
            }
            for (key, count) in usage.sorted(by: { $0.key < $1.key }) {
                let role =
                    key == "plain"
                    ? "plain text"
                    : key == keys.current?.id
                        ? "current key" : keys.keyIds.contains(key) ? "previous key" : "UNKNOWN key"
                print("\(key)\t\(count)\t\(role)")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-encrypt every stored secret under REGISTRY_SECRET_KEY (plain ones and those under REGISTRY_SECRET_KEY_PREVIOUS), all or none."
        )

        func validate() throws { _ = try SecretsCommand.keyring() }

        func run() async throws {
            let logger = makeLogger()
            let keys = try SecretsCommand.keyring()
            let summary = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    try await SubscriptionRepository(client: client, logger: logger, keys: keys).reencryptSecrets()
                }
            }
            print(
                "re-encrypted \(summary.wasPlain + summary.wasPreviousKey) secret(s) under key \(keys.current?.id ?? "")"
                    + " (\(summary.wasPlain) were plain, \(summary.wasPreviousKey) under a previous key); \(summary.unchanged) already were"
            )
        }
    }
}
