import Logging
import PostgresNIO

/// What an import run changed, read for the API's cache invalidation: per change event of the
/// run, the entity, its parent, and the values other answers follow to it (an AMP's VMP, a VMP's
/// groups) before and after the run.
package struct ChangeTagQueries: Sendable {
    package struct SAMChange: Sendable {
        package var eventType: String
        package var entityType: String
        package var entityKey: String
        /// The event's key object as JSON text (reimbursement contexts are matched by its fields).
        package var keyJSON: String?
        package var parentType: String?
        package var parentKey: String?
        package var vmpCodes: [String]
        package var groupCodesJSON: [String]

        package init(
            eventType: String, entityType: String, entityKey: String, keyJSON: String?, parentType: String?,
            parentKey: String?, vmpCodes: [String], groupCodesJSON: [String]
        ) {
            self.eventType = eventType
            self.entityType = entityType
            self.entityKey = entityKey
            self.keyJSON = keyJSON
            self.parentType = parentType
            self.parentKey = parentKey
            self.vmpCodes = vmpCodes
            self.groupCodesJSON = groupCodesJSON
        }
    }

    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The run's domain and its changes, or nil changes when it emitted more than `limit` events
    /// (then clearing everything is cheaper than reading them).
    package func samChanges(runId: Int64, limit: Int) async throws -> [SAMChange]? {
        let bounds = try await client.query(
            "SELECT first_event_seq, last_event_seq FROM import_run WHERE id = \(runId) AND outcome = 'applied'",
            logger: logger
        ).decode((Int64?, Int64?).self).first { _ in true }
        guard let bounds else { return nil }
        guard let first = bounds.0, let last = bounds.1 else { return [] }
        guard last - first + 1 <= Int64(limit) else { return nil }
        let rows = try await client.query(
            """
            SELECT e.type, e.entity_type, e.entity_key, e.key::text, c.parent_type, c.parent_key,
                   c.document #>> '{attributes,vmpCode}', h.document #>> '{attributes,vmpCode}',
                   CASE WHEN e.entity_type = 'vmp'
                        THEN jsonb_path_query_array(c.document, '$.slices[*].fields.VmpGroup."@code"')::text END,
                   CASE WHEN e.entity_type = 'vmp'
                        THEN jsonb_path_query_array(h.document, '$.slices[*].fields.VmpGroup."@code"')::text END
            FROM change_event e
            LEFT JOIN sam_entity c ON c.entity_type = e.entity_type AND c.entity_key = e.entity_key
            LEFT JOIN sam_entity_history h ON h.entity_type = e.entity_type AND h.entity_key = e.entity_key
                                          AND h.replaced_by_run = e.run_id
            WHERE e.seq BETWEEN \(first) AND \(last) AND e.run_id = \(runId) AND e.entity_type IS NOT NULL
            """, logger: logger)
        var changes: [SAMChange] = []
        for try await row in rows.decode(
            (String, String, String, String?, String?, String?, String?, String?, String?, String?).self)
        {
            changes.append(
                SAMChange(
                    eventType: row.0, entityType: row.1, entityKey: row.2, keyJSON: row.3, parentType: row.4,
                    parentKey: row.5, vmpCodes: [row.6, row.7].compactMap { $0 },
                    groupCodesJSON: [row.8, row.9].compactMap { $0 }))
        }
        return changes
    }
}
