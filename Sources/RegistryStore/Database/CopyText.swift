import PostgresNIO

/// Builds rows for `COPY ... FROM STDIN` in PostgreSQL's text format.
///
/// Values are escaped per the text format (backslash, tab, newline, carriage return);
/// `nil` becomes `\N`.
struct CopyTextBuffer {
    var buffer = ByteBuffer()
    var rowCount = 0

    init(capacity: Int = 1 << 20) {
        buffer.reserveCapacity(capacity)
    }

    mutating func appendRow(_ values: [String?]) {
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            appendEscaped(value)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
        rowCount += 1
    }

    /// Appends a row whose last column is given as UTF-8 bytes (a canonical JSON document).
    mutating func appendRow(_ values: [String?], lastColumnBytes: [UInt8]) {
        for value in values {
            appendEscaped(value)
            buffer.writeInteger(UInt8(ascii: "\t"))
        }
        var needsEscape = false
        for byte in lastColumnBytes where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            needsEscape = true
            break
        }
        if needsEscape {
            for byte in lastColumnBytes {
                switch byte {
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
        } else {
            buffer.writeBytes(lastColumnBytes)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
        rowCount += 1
    }

    private mutating func appendEscaped(_ value: String?) {
        guard let value else {
            buffer.writeStaticString("\\N")
            return
        }
        var needsEscape = false
        for byte in value.utf8 where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            needsEscape = true
            break
        }
        if !needsEscape {
            buffer.writeString(value)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    var byteCount: Int { buffer.readableBytes }

    /// Takes the filled buffer, leaving an empty one.
    mutating func take() -> ByteBuffer {
        let full = buffer
        buffer = ByteBuffer()
        buffer.reserveCapacity(1 << 20)
        return full
    }
}

extension PostgresConnection {
    /// Runs a statement and discards any rows.
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await self.query(query, logger: logger)
        for try await _ in rows {}
    }

    /// Runs one or more statements, one at a time.
    func executeScript(_ sql: String, logger: Logger = Logger(label: "registry.sql")) async throws {
        for statement in SQLScript.statements(sql) {
            try await execute(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// COPYs prepared rows into a table.
    func copyRows(table: String, columns: [String], rows: [[String?]], logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        try await copyFrom(table: table, columns: columns, logger: logger) { writer in
            var buffer = CopyTextBuffer()
            for row in rows {
                buffer.appendRow(row)
                if buffer.byteCount > 1 << 20 { try await writer.write(buffer.take()) }
            }
            if buffer.byteCount > 0 { try await writer.write(buffer.take()) }
        }
    }
}
