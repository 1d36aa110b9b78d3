import Foundation
import Logging
import PostgresNIO
import RegistryCore

/// An API client as stored (never with its token).
package struct APIClientRecord: Sendable, Hashable {
    package var id: String
    package var name: String
    package var scopes: [Scope]
    package var createdAt: String
    package var revokedAt: String?

    package func has(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }
}

/// Creates, lists, revokes and authenticates API clients (`api_client`).
package struct ClientRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// A new client and its bearer token, which exists nowhere else after this call returns.
    package func create(name: String, scopes: [Scope]) async throws -> (APIClientRecord, AccessToken) {
        let token = AccessToken.generate()
        let id = RandomText.identifier("cli_")
        let rows = try await client.query(
            """
            INSERT INTO api_client (id, name, token_hash, scopes) VALUES (\(id), \(name), \(token.hash), \(scopes.map(\.rawValue)))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        // Drained to the end: the client exists for every connection once this returns.
        var created: APIClientRecord?
        for try await row in rows.decode(Self.Row.self) { created = Self.record(row) }
        guard let created else { throw DatabaseError.unexpected("INSERT INTO api_client returned no row") }
        return (created, token)
    }

    package func list() async throws -> [APIClientRecord] {
        let rows = try await client.query(
            "SELECT \(unescaped: Self.columns) FROM api_client ORDER BY created_at, id", logger: logger)
        var records: [APIClientRecord] = []
        for try await row in rows.decode(Self.Row.self) { records.append(Self.record(row)) }
        return records
    }

    /// Revokes the client (its token stops working at once); nil when there is no such client.
    package func revoke(id: String) async throws -> APIClientRecord? {
        let rows = try await client.query(
            """
            UPDATE api_client SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        var revoked: APIClientRecord?
        for try await row in rows.decode(Self.Row.self) { revoked = Self.record(row) }
        return revoked
    }

    /// The active client holding `token`, or nil (unknown or revoked).
    package func authenticate(_ token: AccessToken) async throws -> APIClientRecord? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM api_client WHERE token_hash = \(token.hash) AND revoked_at IS NULL
            """, logger: logger)
        for try await row in rows.decode(Self.Row.self) { return Self.record(row) }
        return nil
    }

    typealias Row = (String, String, [String], String, String?)
    static let columns = """
        id, name, scopes, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        """

    static func record(_ row: Row) -> APIClientRecord {
        APIClientRecord(
            id: row.0, name: row.1, scopes: row.2.compactMap(Scope.init(rawValue:)), createdAt: row.3,
            revokedAt: row.4)
    }
}

/// One line of the audit log.
package struct AuditEntry: Sendable, Hashable {
    package enum Outcome: String, Sendable { case succeeded, refused, failed }
    package var id: Int64 = 0
    package var at: String = ""
    package var clientId: String?
    package var action: String
    package var target: String?
    package var outcome: Outcome
    package var status: Int?
    /// Canonical JSON object text.
    package var detail: String = "{}"

    package init(
        clientId: String?, action: String, target: String?, outcome: Outcome, status: Int?,
        detail: JSONValue = .object([:])
    ) {
        // PostgreSQL text and jsonb cannot hold U+0000, which a hostile request may carry into a
        // detail: it is replaced, so the refusal is still recorded.
        self.clientId = clientId
        self.action = action.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        self.target = target?.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        self.outcome = outcome
        self.status = status
        self.detail = detail.canonicalText.replacingOccurrences(of: "\\u0000", with: "\\ufffd")
    }
}

/// Who did what, when, with which outcome (`audit_entry`): every management action and every
/// read that needed a sensitive scope.
package struct AuditLog: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func record(_ entry: AuditEntry) async throws {
        try await client.execute(
            """
            INSERT INTO audit_entry (client_id, action, target, outcome, status, detail)
            VALUES (\(entry.clientId), \(entry.action), \(entry.target), \(entry.outcome.rawValue), \(entry.status),
                    \(entry.detail)::jsonb)
            """, logger: logger)
    }

    /// How long each kind of audit entry is kept.
    package struct Retention: Sendable, Equatable {
        /// Refusals without a known client (anybody can cause them): noise after this long.
        package var unauthenticatedDays = 30
        /// Management actions and refusals of known clients.
        package var managementDays = 400
        /// Reads of personal data (`provider.read-sensitive`): kept longest, they answer "who saw my data".
        package var sensitiveReadDays = 3650

        package init() {}
    }

    /// Deletes entries past their retention; returns how many.
    @discardableResult
    package func prune(_ retention: Retention) async throws -> Int {
        let rows = try await client.query(
            """
            WITH removed AS (
                DELETE FROM audit_entry
                WHERE at < now() - interval '1 day' * (CASE
                    WHEN action = 'provider.read-sensitive' AND outcome = 'succeeded' THEN \(retention.sensitiveReadDays)
                    WHEN client_id IS NULL AND outcome = 'refused' THEN \(retention.unauthenticatedDays)
                    ELSE \(retention.managementDays) END)
                RETURNING 1)
            SELECT count(*)::bigint FROM removed
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Newest first, before `before` (an entry id) when given; optionally one client's or one action's.
    package func list(before: Int64?, limit: Int, clientId: String?, action: String?) async throws -> [AuditEntry] {
        let rows = try await client.query(
            """
            SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), client_id, action, target,
                   outcome, status, detail::text
            FROM audit_entry
            WHERE (\(before)::bigint IS NULL OR id < \(before)) AND (\(clientId)::text IS NULL OR client_id = \(clientId))
              AND (\(action)::text IS NULL OR action = \(action))
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await (id, at, clientId, action, target, outcome, status, detail) in rows.decode(
            (Int64, String, String?, String, String?, String, Int?, String).self)
        {
            var entry = AuditEntry(
                clientId: clientId, action: action, target: target,
                outcome: AuditEntry.Outcome(rawValue: outcome) ?? .failed, status: status)
            entry.id = id
            entry.at = at
            entry.detail = detail
            entries.append(entry)
        }
        return entries
    }
}
