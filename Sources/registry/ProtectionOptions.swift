import ArgumentParser
import Foundation
import NIOCore
import RegistryAPI
import RegistryCore
import RegistryStore

/// `registry serve` limits against hostile or runaway clients (README, "Limits"); each also from
/// the environment.
struct ProtectionOptions: ParsableArguments {
    static let environment = ProcessInfo.processInfo.environment

    @Option(help: "Requests per second[/burst] per source address without a known token; 0 = off (env RATE_LIMIT).")
    var rateLimit = environment["RATE_LIMIT"] ?? "200/400"

    @Option(help: "Requests per second[/burst] per API client token; 0 = off (env CLIENT_RATE_LIMIT).")
    var clientRateLimit = environment["CLIENT_RATE_LIMIT"] ?? "1000/2000"

    @Option(
        help:
            "Addresses/CIDR blocks never rate limited, comma-separated; '' for none (env RATE_LIMIT_EXEMPT).")
    var rateLimitExempt = environment["RATE_LIMIT_EXEMPT"] ?? "127.0.0.0/8,::1"

    @Option(help: "Seconds a client has to send a complete request head after its first byte (env HEADER_TIMEOUT).")
    var headerTimeout = environment["HEADER_TIMEOUT"].flatMap { Double($0) } ?? 10

    @Option(help: "Seconds an idle keep-alive connection stays open (env IDLE_TIMEOUT).")
    var idleTimeout = environment["IDLE_TIMEOUT"].flatMap { Double($0) } ?? 60

    @Option(help: "Seconds a request may take from head to answer, else 503; 0 = no deadline (env REQUEST_TIMEOUT).")
    var requestTimeout = environment["REQUEST_TIMEOUT"].flatMap { Double($0) } ?? 45

    @Option(help: "Milliseconds an API read's SQL statement may run, else 503; 0 = none (env STATEMENT_TIMEOUT_MS).")
    var statementTimeoutMs = environment["STATEMENT_TIMEOUT_MS"].flatMap { Int($0) } ?? 10_000

    @Option(help: "Serve /metrics without a token on this host's --metrics-port instead (env METRICS_HOST).")
    var metricsHost = environment["METRICS_HOST"] ?? "127.0.0.1"

    @Option(
        name: .customLong("metrics-port"),
        help:
            "Port of a separate /metrics listener; without it /metrics is on the API port for tokens with metrics:read (env METRICS_PORT)."
    )
    var metricsPortOption: Int?

    /// `--metrics-port`, else `METRICS_PORT` (an optional option takes no default value).
    var metricsPort: Int? { metricsPortOption ?? Self.environment["METRICS_PORT"].flatMap { Int($0) } }

    @Option(help: "Days unauthenticated refusals stay in the audit log (env AUDIT_UNAUTHENTICATED_RETENTION_DAYS).")
    var auditUnauthenticatedRetentionDays =
        environment["AUDIT_UNAUTHENTICATED_RETENTION_DAYS"].flatMap { Int($0) } ?? 30

    @Option(help: "Days management actions and clients' refusals stay in the audit log (env AUDIT_RETENTION_DAYS).")
    var auditRetentionDays = environment["AUDIT_RETENTION_DAYS"].flatMap { Int($0) } ?? 400

    @Option(help: "Days reads of personal data stay in the audit log (env AUDIT_SENSITIVE_RETENTION_DAYS).")
    var auditSensitiveRetentionDays = environment["AUDIT_SENSITIVE_RETENTION_DAYS"].flatMap { Int($0) } ?? 3650

    func validate() throws {
        _ = try settings()
        for (name, days) in [
            ("--audit-unauthenticated-retention-days", auditUnauthenticatedRetentionDays),
            ("--audit-retention-days", auditRetentionDays),
            ("--audit-sensitive-retention-days", auditSensitiveRetentionDays),
        ] where !(1...36500).contains(days) {
            throw ValidationError("\(name) must be from 1 to 36500.")
        }
        if let metricsPort, !(1...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be from 1 to 65535.")
        }
    }

    func settings() throws -> ProtectionSettings {
        var settings = ProtectionSettings()
        guard let perAddress = ProtectionSettings.parseLimit(rateLimit) else {
            throw ValidationError(
                "--rate-limit must be RATE[/BURST] (requests per second, e.g. 200/400), got '\(rateLimit)'.")
        }
        guard let perClient = ProtectionSettings.parseLimit(clientRateLimit) else {
            throw ValidationError(
                "--client-rate-limit must be RATE[/BURST] (requests per second, e.g. 1000/2000), got '\(clientRateLimit)'."
            )
        }
        settings.perAddress = perAddress
        settings.perClient = perClient
        settings.exempt = try rateLimitExempt.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let network = IPNetwork(text) ?? IPAddress(text).flatMap({ IPNetwork("\($0)/\($0.bytes.count * 8)") })
            else { throw ValidationError("--rate-limit-exempt: '\(text)' is not an address or CIDR block.") }
            return network
        }
        for (name, seconds) in [
            ("--header-timeout", headerTimeout), ("--idle-timeout", idleTimeout),
            ("--request-timeout", requestTimeout == 0 ? 1 : requestTimeout),
        ] where !(seconds >= 0.1 && seconds <= 86400) {
            throw ValidationError("\(name) must be from 0.1 to 86400 seconds.")
        }
        guard (0...3_600_000).contains(statementTimeoutMs) else {
            throw ValidationError("--statement-timeout-ms must be from 0 to 3600000.")
        }
        settings.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        settings.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        settings.requestTimeout = requestTimeout == 0 ? nil : .milliseconds(Int64(requestTimeout * 1000))
        settings.statementTimeout = .milliseconds(Int64(statementTimeoutMs))
        return settings
    }

    var auditRetention: AuditLog.Retention {
        var retention = AuditLog.Retention()
        retention.unauthenticatedDays = auditUnauthenticatedRetentionDays
        retention.managementDays = auditRetentionDays
        retention.sensitiveReadDays = auditSensitiveRetentionDays
        return retention
    }
}
