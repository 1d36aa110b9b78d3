import RegistryCore
import RegistryStore

/// The NDJSON delta between two SAM versions (`GET /v1/exports/sam/delta?from=V1&to=V2`), derived
/// from the change feed: a first `meta` line, then per changed entity an `upsert` (its `/v1`
/// document at V2 and its snapshot rows, table by table) or a `delete`. Applying it to the V1
/// snapshot (`ops/apply-sam-delta.py`) gives the V2 snapshot: per entity, delete its rows from the
/// tables `entity_table` names, insert the rows the line carries, and set `meta`.
package struct SAMDelta: Sendable {
    let queries: ExportQueries
    let render: @Sendable (StoredSAMEntity) -> JSONValue

    package init(queries: ExportQueries, render: @escaping @Sendable (StoredSAMEntity) -> JSONValue) {
        self.queries = queries
        self.render = render
    }

    /// The `meta` line: the versions, and the `meta` rows the V2 snapshot has (but `built_at`).
    package static func metaLine(from: SAMSourceRun, to: SAMSourceRun) -> JSONValue {
        var meta: [String: JSONValue] = [:]
        for (key, value) in SAMExportBuilder.metaRows(to) { meta[key] = value.map(JSONValue.string) ?? .null }
        return .object([
            "op": .string("meta"), "from": .number("\(from.runId)"), "to": .number("\(to.runId)"),
            "schemaVersion": .number("\(SAMSQLiteSchema.version)"), "meta": .object(meta),
        ])
    }

    /// The line of one entity's change.
    package static func line(_ change: EntityDelta, render: (StoredSAMEntity) -> JSONValue) throws -> JSONValue {
        guard let text = change.documentText else {
            return .object(["op": .string("delete"), "type": .string(change.type), "key": .string(change.key)])
        }
        let entity = StoredSAMEntity(
            type: change.type, key: change.key, parentType: change.parentType, parentKey: change.parentKey,
            document: try JSONValue.parse(text), changedRunId: nil)
        var tables: [String: JSONValue] = [:]
        for (table, rows) in SAMSQLiteRows(entity).byTable {
            guard let columns = SQLiteSnapshotWriter.columns(of: table) else { continue }
            tables[table] = .array(
                rows.map { row in
                    .object(Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json))))
                })
        }
        return .object([
            "op": .string("upsert"), "type": .string(change.type), "key": .string(change.key),
            "document": SAMExportBuilder.ndjsonDocument(entity, render: render), "rows": .object(tables),
        ])
    }

    /// Writes the delta's lines through `emit` (each a complete JSON text followed by a newline).
    package func write(from: SAMSourceRun, to: SAMSourceRun, emit: ([UInt8]) async throws -> Void) async throws {
        var buffer: [UInt8] = []
        Self.metaLine(from: from, to: to).write(into: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        try await queries.samDelta(from: from.runId, to: to.runId) { change in
            try Self.line(change, render: render).write(into: &buffer)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 16 {
                try await emit(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty { try await emit(buffer) }
    }
}

extension SQLiteValue {
    var json: JSONValue {
        switch self {
        case .null: .null
        case .text(let text): .string(text)
        case .integer(let value): .number("\(value)")
        }
    }
}
