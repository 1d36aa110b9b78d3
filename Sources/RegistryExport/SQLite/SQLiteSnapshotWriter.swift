import Foundation
import GRDB
import GRDBSQLite

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
                        try Self.execute(statement, row, db)
                        rowCount += 1
                    }
                }
            }
        }
    }

    /// Binds `row` and steps the prepared INSERT through SQLite's C API (GRDB's statement, its
    /// escape hatch): building GRDB's `StatementArguments` per row took a tenth of a build.
    static func execute(_ statement: Statement, _ row: [SQLiteValue], _ db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        for (offset, value) in row.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
            case .text(var text):
                // The string's own UTF-8 storage and length: no C-string copy, no strlen.
                code = text.withUTF8 { utf8 in
                    utf8.withMemoryRebound(to: CChar.self) { chars in
                        guard let base = chars.baseAddress else {
                            // An empty string is text, not NULL.
                            return "".withCString { sqlite3_bind_text(handle, index, $0, 0, sqliteTransient) }
                        }
                        return sqlite3_bind_text(handle, index, base, Int32(chars.count), sqliteTransient)
                    }
                }
            }
            guard code == SQLITE_OK else { throw failure(code, db) }
        }
        let stepped = sqlite3_step(handle)
        guard stepped == SQLITE_DONE else { throw failure(stepped, db) }
    }

    static func failure(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) })
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

/// SQLite's SQLITE_TRANSIENT: it copies the bound text before the call returns.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
