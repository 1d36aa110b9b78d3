import Foundation
import GRDB

/// Writes a SAM snapshot file: the schema, the rows of each entity as they stream in (one prepared
/// INSERT per table, a transaction per batch, no journal: a half-written file is never published,
/// the builder writes to a temporary name and renames), then indexes, the search index and `meta`.
package final class SQLiteSnapshotWriter {
    let queue: DatabaseQueue
    private(set) var rowCount = 0

    package static let fixedColumns: [String: [String]] = [
        SAMSQLiteSchema.otherTable: [
            "entity_type", "entity_key", "parent_type", "parent_key", "key", "attributes", "valid_from", "valid_to",
            "fields",
        ],
        "medicine_name": ["entity_type", "entity_key", "language", "name"],
    ]

    /// The columns of `table` in the order `SAMSQLiteRows` fills them.
    package static func columns(of table: String) -> [String]? {
        if let fixed = fixedColumns[table] { return fixed }
        return SAMSQLiteSchema.tables.first { $0.name == table }?.allColumnNames
    }

    /// Creates `path` (which must not exist) with the empty schema.
    package init(path: String) throws {
        var configuration = Configuration()
        configuration.journalMode = .default
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA page_size = 8192")
            for statement in SAMSQLiteSchema.createStatements { try db.execute(sql: statement) }
        }
    }

    /// Inserts the rows of a batch of entities in one transaction.
    package func insert(_ batch: [(entityType: String, rows: SAMSQLiteRows)]) throws {
        try queue.write { db in
            var statements: [String: Statement] = [:]
            for (_, rows) in batch {
                for (table, tableRows) in rows.byTable where !tableRows.isEmpty {
                    let statement: Statement
                    if let cached = statements[table] {
                        statement = cached
                    } else {
                        guard let columns = Self.columns(of: table) else { continue }
                        statement = try db.cachedStatement(
                            sql:
                                "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
                        )
                        statements[table] = statement
                    }
                    for row in tableRows {
                        try statement.execute(arguments: StatementArguments(row.map(\.databaseValue)))
                        rowCount += 1
                    }
                }
            }
        }
    }

    /// Indexes, the FTS5 index, `entity_table` and `meta`; then the file is complete.
    package func finish(meta: [(String, String?)]) throws {
        try queue.writeWithoutTransaction { db in
            for statement in SAMSQLiteSchema.indexStatements { try db.execute(sql: statement) }
            try db.inTransaction {
                for row in SAMSQLiteSchema.entityTableRows {
                    try db.execute(
                        sql: "INSERT INTO entity_table (entity_type, table_name, type_column) VALUES (?, ?, ?)",
                        arguments: StatementArguments(row.map(\.databaseValue)))
                }
                for (key, value) in meta {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
                }
                return .commit
            }
            try db.execute(sql: "ANALYZE")
        }
        try queue.close()
    }
}

extension SQLiteValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .text(let text): text.databaseValue
        case .integer(let value): value.databaseValue
        }
    }
}
