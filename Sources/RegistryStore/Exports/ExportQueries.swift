import Logging
import PostgresNIO
import RegistryCore

/// One file the registry built for offline mirrors (`export_artifact`): a SAM SQLite snapshot, an
/// NDJSON file of one entity type, and what `GET /v1/exports` lists.
package struct ExportArtifact: Sendable, Equatable {
    /// `sam-sqlite`, `sam-ndjson`, `actors-ndjson`.
    package var kind: String
    /// The registry's version of the data: the id of the import run the file was built from
    /// (for actors, the newest applied run of the actor domains).
    package var version: Int64
    package var name: String
    package var entityType: String?
    package var sizeBytes: Int64
    package var sha256: String
    package var createdAt: String
    /// The source's own versions (`sourceVersion`, `upstreamVersion`, `samId`), when known.
    package var meta: JSONValue

    package init(
        kind: String, version: Int64, name: String, entityType: String?, sizeBytes: Int64, sha256: String,
        createdAt: String = "", meta: JSONValue = .object([:])
    ) {
        self.kind = kind
        self.version = version
        self.name = name
        self.entityType = entityType
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.createdAt = createdAt
        self.meta = meta
    }
}

/// A stored SAM entity as an export reads it: the document as its UTF-8 bytes.
package struct ExportedEntity: Sendable {
    package var type: String
    package var key: String
    package var parentType: String?
    package var parentKey: String?
    package var document: [UInt8]
}

/// What changed for one entity between two SAM versions: its document at the later one, or nil
/// when it no longer exists there.
package struct EntityDelta: Sendable {
    package var type: String
    package var key: String
    package var parentType: String?
    package var parentKey: String?
    package var documentText: String?
}

/// The reads and writes of the export builder and the export routes.
package struct ExportQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The newest applied run of `domains` (the version an export of them would carry).
    package func latestAppliedRun(domains: [String]) async throws -> Int64? {
        var latest: Int64?
        for try await value in try await client.query(
            "SELECT max(id) FROM import_run WHERE outcome = 'applied' AND domain = ANY(\(domains))", logger: logger
        ).decode(Int64?.self) { latest = value }
        return latest
    }

    /// Runs `body` in one read-only REPEATABLE READ transaction, so everything it reads is one
    /// state of the database: the SAM version it names and the entities it streams agree.
    package func withSnapshot<T: Sendable>(
        _ body: (SnapshotReader) async throws -> T
    ) async throws -> T {
        try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let result = try await body(SnapshotReader(connection: connection, logger: logger))
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Records a built file (replacing a record of the same name).
    package func record(_ artifact: ExportArtifact) async throws {
        try await client.query(
            """
            INSERT INTO export_artifact (kind, version, name, entity_type, size_bytes, sha256, meta)
            VALUES (\(artifact.kind), \(artifact.version), \(artifact.name), \(artifact.entityType),
                    \(artifact.sizeBytes), \(artifact.sha256), \(artifact.meta.canonicalText)::jsonb)
            ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, version = EXCLUDED.version,
                entity_type = EXCLUDED.entity_type, size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256,
                meta = EXCLUDED.meta, created_at = now()
            """, logger: logger)
    }

    /// Every recorded file, newest version first.
    package func artifacts(kind: String? = nil) async throws -> [ExportArtifact] {
        var result: [ExportArtifact] = []
        let rows = try await client.query(
            """
            SELECT kind, version, name, entity_type, size_bytes, sha256,
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), meta::text
            FROM export_artifact WHERE \(kind)::text IS NULL OR kind = \(kind)
            ORDER BY version DESC, kind, name
            """, logger: logger)
        for try await (kind, version, name, type, size, sha, created, meta) in rows.decode(
            (String, Int64, String, String?, Int64, String, String, String).self)
        {
            result.append(
                ExportArtifact(
                    kind: kind, version: version, name: name, entityType: type, sizeBytes: size, sha256: sha,
                    createdAt: created, meta: (try? JSONValue.parse(meta)) ?? .object([:])))
        }
        return result
    }

    /// Forgets the records of `names` (their files are deleted by the caller).
    package func forget(names: [String]) async throws {
        guard !names.isEmpty else { return }
        try await client.query("DELETE FROM export_artifact WHERE name = ANY(\(names))", logger: logger)
    }

    /// The applied SAM run `id`, with SAM's own version names; nil if `id` is not one.
    package func appliedSAMRun(_ id: Int64) async throws -> SAMSourceRun? {
        try await samRun(
            client.query("\(unescaped: samRunColumns) WHERE id = \(id) AND \(unescaped: appliedSAM)", logger: logger))
    }

    /// The first applied SAM run after `from` (up to `to`) whose change events the feed's retention
    /// has pruned: a delta through it would be incomplete. Nil when all are there.
    package func firstPrunedSAMRun(after from: Int64, upTo to: Int64) async throws -> Int64? {
        var pruned: Int64?
        for try await id in try await client.query(
            """
            SELECT r.id FROM import_run r
            WHERE r.domain = 'sam' AND r.outcome = 'applied' AND r.id > \(from) AND r.id <= \(to)
              AND r.first_event_seq IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM change_event e WHERE e.seq = r.first_event_seq)
            ORDER BY r.id LIMIT 1
            """, logger: logger
        ).decode(Int64.self) { pruned = id }
        return pruned
    }

    /// The entities SAM runs after `from` and up to `to` changed (from the change feed), each with
    /// its document as it was at `to` (the current row, or the history row that was current then),
    /// ordered by type and key. Read in one REPEATABLE READ transaction.
    package func samDelta(from: Int64, to: Int64, _ each: (EntityDelta) async throws -> Void) async throws {
        try await withSnapshot { reader in
            let rows = try await reader.connection.query(
                """
                WITH changed AS (
                    SELECT DISTINCT e.entity_type, e.entity_key
                    FROM change_event e JOIN import_run r ON r.id = e.run_id
                    WHERE r.domain = 'sam' AND r.outcome = 'applied' AND e.run_id > \(from) AND e.run_id <= \(to)
                      AND e.type LIKE 'sam.%'
                )
                SELECT c.entity_type, c.entity_key,
                       coalesce(cur.parent_type, h.parent_type), coalesce(cur.parent_key, h.parent_key),
                       coalesce(cur.document, h.document)::text
                FROM changed c
                LEFT JOIN sam_entity cur ON cur.entity_type = c.entity_type AND cur.entity_key = c.entity_key
                     AND cur.changed_run_id <= \(to)
                LEFT JOIN LATERAL (
                    SELECT hh.document, coalesce(hh.parent_type, s.parent_type) AS parent_type,
                           coalesce(hh.parent_key, s.parent_key) AS parent_key
                    FROM sam_entity_history hh
                    LEFT JOIN sam_entity s ON s.entity_type = hh.entity_type AND s.entity_key = hh.entity_key
                    WHERE cur.entity_key IS NULL AND hh.entity_type = c.entity_type AND hh.entity_key = c.entity_key
                      AND hh.replaced_by_run > \(to) AND coalesce(hh.valid_from_run, 0) <= \(to)
                    ORDER BY hh.replaced_by_run LIMIT 1
                ) h ON true
                ORDER BY c.entity_type, c.entity_key
                """, logger: logger)
            for try await (type, key, parentType, parentKey, document) in rows.decode(
                (String, String, String?, String?, String?).self)
            {
                try await each(
                    EntityDelta(
                        type: type, key: key, parentType: parentType, parentKey: parentKey, documentText: document))
            }
        }
    }
}

/// Reads inside ``ExportQueries/withSnapshot(_:)``.
package struct SnapshotReader: Sendable {
    package let connection: PostgresConnection
    let logger: Logger

    /// The latest applied SAM run in this snapshot, with SAM's own version names.
    package func latestSAMRun() async throws -> SAMSourceRun? {
        try await samRun(
            connection.query(
                "\(unescaped: samRunColumns) WHERE \(unescaped: appliedSAM) ORDER BY id DESC LIMIT 1", logger: logger))
    }

    /// Every stored SAM entity, by type and key, streamed (PostgreSQL sends as the reader consumes).
    package func samEntities(_ each: (ExportedEntity) async throws -> Void) async throws {
        let rows = try await connection.query(
            """
            SELECT entity_type, entity_key, parent_type, parent_key, document::text
            FROM sam_entity ORDER BY entity_type, entity_key
            """, logger: logger)
        for try await (type, key, parentType, parentKey, document) in rows.decode(
            (String, String, String?, String?, ByteBuffer).self)
        {
            try await each(
                ExportedEntity(
                    type: type, key: key, parentType: parentType, parentKey: parentKey,
                    document: Array(document.readableBytesView)))
        }
    }
}

/// The actor tables an export streams.
package enum ActorTable: String, CaseIterable, Sendable {
    case professionals, institutions, practices

    var sql: String {
        switch self {
        case .professionals: "SELECT id, document::text, changed_run_id FROM professional ORDER BY id"
        case .institutions: "SELECT key, document::text, changed_run_id FROM institution ORDER BY key"
        case .practices: "SELECT key, document::text, changed_run_id FROM practice ORDER BY key"
        }
    }
}

extension SnapshotReader {
    /// The newest applied run of `domains` in this snapshot.
    package func latestAppliedRun(domains: [String]) async throws -> Int64? {
        var latest: Int64?
        for try await value in try await connection.query(
            "SELECT max(id) FROM import_run WHERE outcome = 'applied' AND domain = ANY(\(domains))", logger: logger
        ).decode(Int64?.self) { latest = value }
        return latest
    }

    /// Every row of an actor table: key, document, the run that last changed it.
    package func actors(_ table: ActorTable, _ each: (String, String, Int64?) async throws -> Void) async throws {
        for try await (key, document, runId) in try await connection.query(
            PostgresQuery(unsafeSQL: table.sql), logger: logger
        ).decode((String, String, Int64?).self) { try await each(key, document, runId) }
    }
}

/// An applied SAM run with SAM's own version names (`FROM import_run`; the caller adds the rest).
let samRunColumns = """
    SELECT id, source_id, source_version,
           to_char(coalesce(finished_at, started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), upstream_version
    FROM import_run
    """
let appliedSAM = "domain = 'sam' AND outcome = 'applied'"

/// The first row of a ``samRunColumns`` query (read to its end, so the connection is free after).
func samRun(_ rows: PostgresRowSequence) async throws -> SAMSourceRun? {
    var run: SAMSourceRun?
    for try await (id, samId, version, importedAt, upstream) in rows.decode(
        (Int64, String?, String?, String, String?).self)
    where run == nil {
        run = SAMSourceRun(runId: id, samId: samId, version: version, importedAt: importedAt, upstreamVersion: upstream)
    }
    return run
}
