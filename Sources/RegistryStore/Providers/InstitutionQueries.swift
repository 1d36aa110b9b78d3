import Logging
import PostgresNIO
import RegistryCore

/// Reads institutions by one of their identifiers (`institution_identifier`).
package struct InstitutionQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Every institution the identifier names (a CBE number may name several pharmacies of one
    /// holder), in key order, with the import run that last changed each.
    package func institutions(scheme: String, value: String) async throws -> [(
        key: String, document: JSONValue, runId: Int64?
    )] {
        let rows = try await client.query(
            """
            SELECT i.key, i.document::text, i.changed_run_id
            FROM institution_identifier x JOIN institution i ON i.key = x.institution_key
            WHERE x.scheme = \(scheme) AND x.value = \(value)
            ORDER BY i.key
            """, logger: logger)
        var found: [(String, JSONValue, Int64?)] = []
        for try await (key, text, runId) in rows.decode((String, String, Int64?).self) {
            found.append((key, try JSONValue.parse(text), runId))
        }
        return found
    }
}
