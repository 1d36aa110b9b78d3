import Logging
import PostgresNIO
import RegistryCore

/// The SAM import run that the answer comes from: the latest applied one.
package struct SAMSourceRun: Sendable, Hashable {
    package var runId: Int64
    package var samId: String?
    package var version: String?
    package var importedAt: String
    /// The download service's version of the export, when the source synchronisation fetched it.
    package var upstreamVersion: String? = nil

    package init(runId: Int64, samId: String?, version: String?, importedAt: String, upstreamVersion: String? = nil) {
        self.runId = runId
        self.samId = samId
        self.version = version
        self.importedAt = importedAt
        self.upstreamVersion = upstreamVersion
    }
}

/// Entities read for one answer, and the run that supplied the registry's current SAM data.
package struct SAMReadResult: Sendable {
    package var entities: [StoredSAMEntity]
    package var source: SAMSourceRun?

    /// Adds one row `(type, key, parentType, parentKey, document, changedRunId, sourceRun)`; a row
    /// without type carries only the source run.
    mutating func add(_ row: (String?, String?, String?, String?, String?, Int64?, String?)) throws {
        let (type, key, parentType, parentKey, text, runId, sourceText) = row
        if source == nil, let sourceText {
            let parts = sourceText.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 5, let id = Int64(parts[0]) {
                source = SAMSourceRun(
                    runId: id, samId: parts[1].isEmpty ? nil : parts[1], version: parts[2].isEmpty ? nil : parts[2],
                    importedAt: parts[3], upstreamVersion: parts[4].isEmpty ? nil : parts[4])
            }
        }
        guard let type, let key, let text else { return }
        entities.append(
            StoredSAMEntity(
                type: type, key: key, parentType: parentType, parentKey: parentKey,
                document: try JSONValue.parse(text), changedRunId: runId))
    }

    package func first(_ type: String) -> StoredSAMEntity? { entities.first { $0.type == type } }
    package func all(_ type: String) -> [StoredSAMEntity] { entities.filter { $0.type == type } }
}

/// Reads SAM entities for the query API. Each method is one SQL statement (one round trip): a
/// CNK lookup reads its DMPP, AMPP, AMP, reimbursement contexts and copayments together.
package struct SAMEntityQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id"
    static let sourceRun = """
        (SELECT id::text || '|' || coalesce(source_id, '') || '|' || coalesce(source_version, '') || '|'
                || to_char(coalesce(finished_at, started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                || '|' || coalesce(upstream_version, '')
         FROM import_run WHERE domain = 'sam' AND outcome = 'applied' ORDER BY id DESC LIMIT 1)
        """

    func read(_ query: PostgresQuery) async throws -> SAMReadResult {
        let rows = try await client.query(query, logger: logger)
        var result = SAMReadResult(entities: [], source: nil)
        for try await row in rows.decode((String?, String?, String?, String?, String?, Int64?, String?).self) {
            try result.add(row)
        }
        return result
    }

    /// The latest applied SAM run, which every SAM answer names as its source.
    package func latestSource() async throws -> SAMSourceRun? {
        try await read("SELECT NULL, NULL, NULL, NULL, NULL, NULL::bigint, \(unescaped: Self.sourceRun)").source
    }

    /// A DMPP (key `env|codeType|code`) with its AMPP, AMP, reimbursement contexts and their copayments.
    package func dmppWithContext(environment: String, codeType: String, code: String) async throws -> SAMReadResult {
        try await PreparedStatementGeneration.recovering {
            let rows = try await client.execute(
                DmppWithContext(
                    key: "\(environment)|\(codeType)|\(code)", code: code, environment: environment,
                    codeType: codeType),
                logger: logger)
            var result = SAMReadResult(entities: [], source: nil)
            for try await row in rows { try result.add(row) }
            return result
        }
    }

    /// The hottest statement of the API, prepared once per connection: its plan (five CTEs over
    /// four indexes) took longer to make than to run.
    struct DmppWithContext: PostgresPreparedStatement {
        typealias Row = (String?, String?, String?, String?, String?, Int64?, String?)
        var key: String
        var code: String
        var environment: String
        var codeType: String

        static var name: String { PreparedStatementGeneration.name("DmppWithContext") }

        static let sql = """
            WITH d AS (SELECT * FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key = $1),
                 p AS (SELECT s.* FROM sam_entity s JOIN d ON s.entity_type = 'ampp' AND s.entity_key = d.parent_key),
                 a AS (SELECT s.* FROM sam_entity s JOIN p ON s.entity_type = 'amp' AND s.entity_key = p.parent_key),
                 r AS (SELECT s.* FROM sam_entity s
                       WHERE s.entity_type = 'reimbursement_context' AND s.document #>> '{key,code}' = $2
                         AND s.document #>> '{key,deliveryEnvironment}' = $3
                         AND s.document #>> '{key,codeType}' = $4
                         AND EXISTS (SELECT 1 FROM d)),
                 c AS (SELECT s.* FROM sam_entity s JOIN r ON s.parent_type = 'reimbursement_context'
                                                          AND s.parent_key = r.entity_key)
            SELECT \(SAMEntityQueries.columns), NULL FROM d
            UNION ALL SELECT \(SAMEntityQueries.columns), NULL FROM p
            UNION ALL SELECT \(SAMEntityQueries.columns), NULL FROM a
            UNION ALL SELECT \(SAMEntityQueries.columns), NULL FROM r
            UNION ALL SELECT \(SAMEntityQueries.columns), NULL FROM c
            UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, \(SAMEntityQueries.sourceRun)
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(key)
            bindings.append(code)
            bindings.append(environment)
            bindings.append(codeType)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Every DMPP that has this code, whatever its environment (to explain a 404 for one environment).
    package func dmppEnvironments(codeType: String, code: String) async throws -> [String] {
        let keys = ["P", "A", "H", "R"].map { "\($0)|\(codeType)|\(code)" }
        var environments: [String] = []
        let rows = try await client.query(
            """
            SELECT split_part(entity_key, '|', 1) FROM sam_entity
            WHERE entity_type = 'dmpp' AND entity_key = ANY(\(keys)) ORDER BY 1
            """, logger: logger)
        for try await environment in rows.decode(String.self) { environments.append(environment) }
        return environments
    }

    /// An entity with its children of the given types (and their children one level down when asked).
    package func entity(
        type: String, key: String, childTypes: [String] = [], grandchildTypes: [String] = [],
        parentOfType: String? = nil
    ) async throws -> SAMReadResult {
        try await read(
            """
            WITH e AS (SELECT * FROM sam_entity WHERE entity_type = \(type) AND entity_key = \(key)),
                 c AS (SELECT s.* FROM sam_entity s JOIN e ON s.parent_type = e.entity_type AND s.parent_key = e.entity_key
                       WHERE s.entity_type = ANY(\(childTypes))),
                 g AS (SELECT s.* FROM sam_entity s JOIN c ON s.parent_type = c.entity_type AND s.parent_key = c.entity_key
                       WHERE s.entity_type = ANY(\(grandchildTypes))),
                 p AS (SELECT s.* FROM sam_entity s JOIN e ON s.entity_type = e.parent_type AND s.entity_key = e.parent_key
                       WHERE s.entity_type = \(parentOfType ?? ""))
            SELECT \(unescaped: Self.columns), \(unescaped: Self.sourceRun) FROM e
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM c
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM g
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM p
            UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, \(unescaped: Self.sourceRun)
            """)
    }

    /// A VMP with its components and their ingredients, and the AMPs that implement it.
    package func vmp(code: String) async throws -> SAMReadResult {
        try await read(
            """
            WITH v AS (SELECT * FROM sam_entity WHERE entity_type = 'vmp' AND entity_key = \(code)),
                 a AS (SELECT s.* FROM sam_entity s WHERE s.entity_type = 'amp'
                         AND s.document #>> '{attributes,vmpCode}' = \(code) AND EXISTS (SELECT 1 FROM v)),
                 c AS (SELECT s.* FROM sam_entity s JOIN v ON s.parent_type = 'vmp' AND s.parent_key = v.entity_key
                       WHERE s.entity_type = 'vmp_component'),
                 i AS (SELECT s.* FROM sam_entity s JOIN c ON s.parent_type = 'vmp_component' AND s.parent_key = c.entity_key
                       WHERE s.entity_type = 'virtual_ingredient')
            SELECT \(unescaped: Self.columns), \(unescaped: Self.sourceRun) FROM v
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM a
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM c
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM i
            UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, \(unescaped: Self.sourceRun)
            """)
    }

    /// A VMP group with every VMP that was ever in it, their AMPs, and those AMPs' AMPPs
    /// (the caller keeps the ones valid at the requested date).
    package func vmpGroup(code: String) async throws -> SAMReadResult {
        let containment = "[{\"fields\":{\"VmpGroup\":{\"@code\":\(JSONValue.string(code).canonicalText)}}}]"
        return try await read(
            """
            WITH g AS (SELECT * FROM sam_entity WHERE entity_type = 'vmp_group' AND entity_key = \(code)),
                 v AS (SELECT s.* FROM sam_entity s WHERE s.entity_type = 'vmp'
                         AND s.document -> 'slices' @> \(containment)::jsonb AND EXISTS (SELECT 1 FROM g)),
                 a AS (SELECT s.* FROM sam_entity s JOIN v ON s.entity_type = 'amp'
                         AND s.document #>> '{attributes,vmpCode}' = v.entity_key),
                 p AS (SELECT s.* FROM sam_entity s JOIN a ON s.entity_type = 'ampp' AND s.parent_type = 'amp'
                         AND s.parent_key = a.entity_key)
            SELECT \(unescaped: Self.columns), \(unescaped: Self.sourceRun) FROM g
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM v
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM a
            UNION ALL SELECT \(unescaped: Self.columns), NULL FROM p
            UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, \(unescaped: Self.sourceRun)
            """)
    }
}
