import Logging
import PostgresNIO
import RegistryCore

/// One FHIR Bulk Data export job (`fhir_export_job`).
package struct BulkExportJob: Sendable, Equatable {
    package var id: String
    package var clientId: String
    package var requestURL: String
    package var types: [String]
    /// `_since` as an ISO instant (UTC), nil for everything.
    package var since: String?
    package var status: String
    package var progress: String?
    package var transactionTime: String?
    /// `[{type, url, count}]` once completed (file names, not URLs: the route makes them absolute).
    package var output: JSONValue
    package var error: String?
    package var createdAt: String
}

/// The job table and the ids each exported resource type has (all, or those changed after `since`).
package struct BulkExportQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, client_id, request_url, types, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), status,
        progress, to_char(transaction_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), output::text, error,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        """

    func jobs(_ query: PostgresQuery) async throws -> [BulkExportJob] {
        var jobs: [BulkExportJob] = []
        for try await row in try await client.query(query, logger: logger) {
            let (id, clientId, url, types, since, status, progress, transaction, output, error, created) =
                try row.decode(
                    (
                        String, String, String, [String], String?, String, String?, String?, String, String?,
                        String
                    ).self)
            jobs.append(
                BulkExportJob(
                    id: id, clientId: clientId, requestURL: url, types: types, since: since, status: status,
                    progress: progress, transactionTime: transaction,
                    output: (try? JSONValue.parse(output)) ?? .array([]), error: error, createdAt: created))
        }
        return jobs
    }

    /// Records a new job unless the client already has `maxOpen` jobs queued or running, or
    /// `maxKept` jobs stored: then nil (the route answers 429).
    package func create(
        id: String, clientId: String, requestURL: String, types: [String], since: String?, maxOpen: Int, maxKept: Int
    ) async throws -> Bool {
        var created = false
        for try await _ in try await client.query(
            """
            INSERT INTO fhir_export_job (id, client_id, request_url, types, since)
            SELECT \(id), \(clientId), \(requestURL), \(types), \(since)::timestamptz
            WHERE (SELECT count(*) FROM fhir_export_job WHERE client_id = \(clientId)
                   AND status IN ('accepted', 'running')) < \(maxOpen)
              AND (SELECT count(*) FROM fhir_export_job WHERE client_id = \(clientId)) < \(maxKept)
            RETURNING id
            """, logger: logger)
        { created = true }
        return created
    }

    package func job(id: String, clientId: String) async throws -> BulkExportJob? {
        try await jobs(
            "SELECT \(unescaped: Self.columns) FROM fhir_export_job WHERE id = \(id) AND client_id = \(clientId)"
        ).first
    }

    /// Marks the job cancelled (a running one stops at its next check); false if not the client's.
    package func cancel(id: String, clientId: String) async throws -> Bool {
        var found = false
        for try await _ in try await client.query(
            """
            UPDATE fhir_export_job SET status = 'cancelled', finished_at = now(), lease_owner = NULL
            WHERE id = \(id) AND client_id = \(clientId) AND status <> 'cancelled' RETURNING id
            """, logger: logger)
        { found = true }
        return found
    }

    /// Claims the oldest queued job (or one whose worker's lease ran out) for `owner`, setting its
    /// transaction time: what it exports is what is committed at that instant.
    package func claim(owner: String, lease: Int) async throws -> BulkExportJob? {
        try await jobs(
            """
            UPDATE fhir_export_job SET status = 'running', lease_owner = \(owner),
                lease_until = now() + (\(lease) * interval '1 second'), transaction_time = now(), progress = 'started'
            WHERE id = (SELECT id FROM fhir_export_job
                        WHERE status = 'accepted' OR (status = 'running' AND lease_until < now())
                        ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING \(unescaped: Self.columns)
            """
        )
        .first
    }

    /// Records progress and renews the lease; false when the job is no longer this worker's
    /// (cancelled, or taken over after the lease ran out).
    package func heartbeat(id: String, owner: String, progress: String, lease: Int) async throws -> Bool {
        var ours = false
        for try await _ in try await client.query(
            """
            UPDATE fhir_export_job SET progress = \(progress), lease_until = now() + (\(lease) * interval '1 second')
            WHERE id = \(id) AND lease_owner = \(owner) AND status = 'running' RETURNING id
            """, logger: logger)
        { ours = true }
        return ours
    }

    package func finish(id: String, owner: String, output: JSONValue?, error: String?) async throws -> Bool {
        var ours = false
        for try await _ in try await client.query(
            """
            UPDATE fhir_export_job SET status = \(error == nil ? "completed" : "failed"),
                output = \(output?.canonicalText ?? "[]")::jsonb, error = \(error), finished_at = now(),
                progress = NULL, lease_owner = NULL
            WHERE id = \(id) AND lease_owner = \(owner) AND status = 'running' RETURNING id
            """, logger: logger)
        { ours = true }
        return ours
    }

    /// Deletes jobs finished more than `hours` ago and cancelled ones; returns their ids (their
    /// files are deleted by the caller).
    package func expire(hours: Int) async throws -> [String] {
        var ids: [String] = []
        for try await id in try await client.query(
            """
            DELETE FROM fhir_export_job
            WHERE (status = 'cancelled') OR (finished_at < now() - (\(hours) * interval '1 hour'))
            RETURNING id
            """, logger: logger
        ).decode(String.self) { ids.append(id) }
        return ids
    }

    /// The registry keys behind the resources of `type` (all, or those whose data changed after
    /// `since`: the entity, a child (also one deleted since, from the history), in key order; the
    /// caller turns them into FHIR ids. Resources deleted since are not listed (the Bulk Data IG
    /// makes reporting them optional).
    package func keys(resourceType type: String, since: String?, _ each: (String) async throws -> Void) async throws {
        let query: PostgresQuery
        switch type {
        case "MedicinalProductDefinition":
            query = """
                SELECT split_part(entity_key, '/', 1) FROM sam_entity
                WHERE entity_type IN ('amp', 'amp_component', 'real_actual_ingredient')
                  AND (\(since)::timestamptz IS NULL AND entity_type = 'amp' OR changed_at > \(since)::timestamptz)
                UNION
                SELECT split_part(entity_key, '/', 1) FROM sam_entity_history
                WHERE entity_type IN ('amp_component', 'real_actual_ingredient') AND replaced_at > \(since)::timestamptz
                ORDER BY 1
                """
        case "ManufacturedItemDefinition":
            query = """
                SELECT split_part(entity_key, '/', 1) || '/' || split_part(entity_key, '/', 2) FROM sam_entity
                WHERE entity_type IN ('amp_component', 'real_actual_ingredient')
                  AND (\(since)::timestamptz IS NULL AND entity_type = 'amp_component' OR changed_at > \(since)::timestamptz)
                UNION
                SELECT split_part(entity_key, '/', 1) || '/' || split_part(entity_key, '/', 2) FROM sam_entity_history
                WHERE entity_type = 'real_actual_ingredient' AND replaced_at > \(since)::timestamptz
                ORDER BY 1
                """
        case "Ingredient":
            query = """
                SELECT entity_key FROM sam_entity WHERE entity_type = 'real_actual_ingredient'
                  AND (\(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz) ORDER BY 1
                """
        case "PackagedProductDefinition":
            query = """
                SELECT CASE WHEN entity_type = 'ampp' THEN entity_key ELSE parent_key END FROM sam_entity
                WHERE (entity_type = 'ampp' OR parent_type = 'ampp')
                  AND (\(since)::timestamptz IS NULL AND entity_type = 'ampp' OR changed_at > \(since)::timestamptz)
                UNION
                SELECT parent_key FROM sam_entity_history
                WHERE parent_type = 'ampp' AND replaced_at > \(since)::timestamptz
                ORDER BY 1
                """
        case "SubstanceDefinition":
            query = """
                SELECT substance_id FROM spor_sms_substance
                WHERE \(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz ORDER BY 1
                """
        case "Practitioner":
            query = """
                SELECT id FROM professional
                WHERE \(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz ORDER BY 1
                """
        case "PractitionerRole", "Location":
            query = """
                SELECT key FROM practice
                WHERE \(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz ORDER BY 1
                """
        case "Organization":
            query = """
                SELECT key FROM institution WHERE \(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz
                UNION ALL
                SELECT 'company:' || entity_key FROM sam_entity WHERE entity_type = 'company'
                  AND (\(since)::timestamptz IS NULL OR changed_at > \(since)::timestamptz)
                ORDER BY 1
                """
        default:
            return
        }
        for try await key in try await client.query(query, logger: logger).decode(String.self) { try await each(key) }
    }
}
