import Foundation
import Logging
import PostgresNIO

/// One version of a source kept in its archive (`.registry/archive/{source}/{version}/`).
package struct ArchivedVersion: Codable, Sendable, Equatable {
    package var version: String
    package var files: [String]
    package var bytes: UInt64
    package var sha256: String
    package var archivedAt: String

    package init(version: String, files: [String], bytes: UInt64, sha256: String, archivedAt: String) {
        self.version = version
        self.files = files
        self.bytes = bytes
        self.sha256 = sha256
        self.archivedAt = archivedAt
    }
}

/// What a conditional request sends next time for one document, or what a drop-folder file
/// looked like at the last check.
package struct SourceValidator: Codable, Sendable, Equatable {
    package var etag: String?
    package var lastModified: String?
    package var sha256: String?
    package var bytes: UInt64?

    package init(etag: String? = nil, lastModified: String? = nil, sha256: String? = nil, bytes: UInt64? = nil) {
        self.etag = etag
        self.lastModified = lastModified
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// The state of one source's synchronisation that the next check needs.
package struct SourceSyncState: Sendable {
    package var validators: [String: SourceValidator]
    package var archive: [ArchivedVersion]
}

/// The run that holds a source's current data, as the sync recorded it.
package struct SyncedRun: Sendable, Equatable {
    package var runId: Int64
    package var upstreamVersion: String?
    package var sha256: String?
}

/// A source's freshness, for `GET /v1/sources`, `registry sources` and the staleness gauges.
package struct SourceStatus: Sendable {
    package var source: String
    package var domain: String
    /// The latest applied run of the source's domain (by the sync or by hand) and its versions.
    package var currentRunId: Int64?
    package var currentVersion: String?
    package var sourceVersion: String?
    package var importedAt: String?
    package var lastCheckAt: String?
    package var lastSuccessCheckAt: String?
    package var lastOutcome: String?
    package var lastError: String?
    package var nextCheckAt: String?
    package var upstreamVersion: String?
    package var archive: [ArchivedVersion]
    package var secondsSinceImport: Double?
    package var secondsSinceSuccessCheck: Double?
}

/// Reads and writes `source_sync`, and reads which runs the sync recorded in `import_run`.
package struct SourceSyncRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Makes sure every configured source has its row (the API lists the rows).
    package func register(source: String, domain: String) async throws {
        try await client.query(
            """
            INSERT INTO source_sync (source, domain) VALUES (\(source), \(domain))
            ON CONFLICT (source) DO UPDATE SET domain = EXCLUDED.domain
            """, logger: logger)
    }

    package func state(source: String) async throws -> SourceSyncState {
        let rows = try await client.query(
            "SELECT validators::text, archive::text FROM source_sync WHERE source = \(source)", logger: logger)
        for try await (validators, archive) in rows.decode((String, String).self) {
            let decoder = JSONDecoder()
            return SourceSyncState(
                validators: (try? decoder.decode([String: SourceValidator].self, from: Data(validators.utf8))) ?? [:],
                archive: (try? decoder.decode([ArchivedVersion].self, from: Data(archive.utf8))) ?? [])
        }
        return SourceSyncState(validators: [:], archive: [])
    }

    /// The latest applied run the sync made for `source`: its data is what the registry holds.
    package func currentRun(source: String) async throws -> SyncedRun? {
        try await firstRun(
            """
            SELECT id, upstream_version, download_sha256 FROM import_run
            WHERE sync_source = \(source) AND outcome = 'applied' ORDER BY id DESC LIMIT 1
            """)
    }

    /// A refused run of exactly this download (same content hash), if there was one.
    package func refusedRun(source: String, sha256: String) async throws -> SyncedRun? {
        try await firstRun(
            """
            SELECT id, upstream_version, download_sha256 FROM import_run
            WHERE sync_source = \(source) AND outcome = 'refused' AND download_sha256 = \(sha256)
            ORDER BY id DESC LIMIT 1
            """)
    }

    /// A refused run of this upstream version (for sources whose versions are announced before
    /// the download: SAM's getLastVersion), if there was one.
    package func refusedRun(source: String, upstreamVersion: String) async throws -> SyncedRun? {
        try await firstRun(
            """
            SELECT id, upstream_version, download_sha256 FROM import_run
            WHERE sync_source = \(source) AND outcome = 'refused' AND upstream_version = \(upstreamVersion)
            ORDER BY id DESC LIMIT 1
            """)
    }

    private func firstRun(_ query: PostgresQuery) async throws -> SyncedRun? {
        let rows = try await client.query(query, logger: logger)
        for try await (id, version, sha) in rows.decode((Int64, String?, String?).self) {
            return SyncedRun(runId: id, upstreamVersion: version, sha256: sha)
        }
        return nil
    }

    /// Records a check: when, its outcome and error, the next check, and (when given) the state
    /// the next check needs. `succeeded` says the check reached the source and came to a verdict.
    package func recordCheck(
        source: String, outcome: String, error: String?, succeeded: Bool, nextCheck: Date?, upstreamVersion: String?,
        validators: [String: SourceValidator]?, archive: [ArchivedVersion]?
    ) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let validatorText = try validators.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let archiveText = try archive.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let next = nextCheck.map { $0.timeIntervalSince1970 }
        // Messages quote what upstream answered; PostgreSQL text takes no NUL, and logs and
        // terminals are better off without control characters.
        let error = error.map(Self.printable)
        let upstreamVersion = upstreamVersion.map(Self.printable)
        try await client.query(
            """
            UPDATE source_sync SET last_check_at = now(),
                last_success_check_at = CASE WHEN \(succeeded) THEN now() ELSE last_success_check_at END,
                last_outcome = \(outcome), last_error = \(error),
                next_check_at = to_timestamp(\(next)::float8),
                upstream_version = coalesce(\(upstreamVersion), upstream_version),
                validators = coalesce(\(validatorText)::jsonb, validators),
                archive = coalesce(\(archiveText)::jsonb, archive), updated_at = now()
            WHERE source = \(source)
            """, logger: logger)
    }

    /// `text` with control characters shown as `\u{…}` and cut to 4,000 characters.
    package static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(4000) {
            if scalar.properties.generalCategory == .control && scalar != "\n" {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Every registered source with its freshness, in name order.
    package func statuses() async throws -> [SourceStatus] {
        let rows = try await client.query(
            """
            SELECT s.source, s.domain, r.id, r.upstream_version, r.source_version,
                   to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(s.last_check_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(s.last_success_check_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   s.last_outcome, s.last_error,
                   to_char(s.next_check_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   s.upstream_version, s.archive::text,
                   extract(epoch FROM now() - r.finished_at)::float8,
                   extract(epoch FROM now() - s.last_success_check_at)::float8
            FROM source_sync s
            LEFT JOIN LATERAL (
                SELECT id, upstream_version, source_version, finished_at FROM import_run
                WHERE domain = s.domain AND outcome = 'applied' ORDER BY id DESC LIMIT 1
            ) r ON true
            ORDER BY s.source
            """, logger: logger)
        var out: [SourceStatus] = []
        for try await row in rows.decode(
            (
                String, String, Int64?, String?, String?, String?, String?, String?, String?, String?, String?,
                String?, String, Double?, Double?
            ).self)
        {
            out.append(
                SourceStatus(
                    source: row.0, domain: row.1, currentRunId: row.2, currentVersion: row.3, sourceVersion: row.4,
                    importedAt: row.5, lastCheckAt: row.6, lastSuccessCheckAt: row.7, lastOutcome: row.8,
                    lastError: row.9, nextCheckAt: row.10, upstreamVersion: row.11,
                    archive: (try? JSONDecoder().decode([ArchivedVersion].self, from: Data(row.12.utf8))) ?? [],
                    secondsSinceImport: row.13, secondsSinceSuccessCheck: row.14))
        }
        return out
    }
}
