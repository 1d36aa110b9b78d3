import PostgresNIO

/// Builds rows for `COPY ... FROM STDIN` in PostgreSQL's text format.
///
/// Values are escaped per the text format (backslash, tab, newline, carriage return);
/// `nil` becomes `\N`.
package struct CopyTextBuffer {
    var buffer = ByteBuffer()

    package init(capacity: Int = 1 << 20) {
        buffer.reserveCapacity(capacity)
    }

    package mutating func appendRow(_ values: [String?]) {
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            appendEscaped(value)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Appends a row whose last column is given as UTF-8 bytes (a canonical JSON document).
    package mutating func appendRow(_ values: [String?], lastColumnBytes: [UInt8]) {
        for value in values {
            appendEscaped(value)
            buffer.writeInteger(UInt8(ascii: "\t"))
        }
        appendEscaped(bytes: lastColumnBytes)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private mutating func appendEscaped(_ value: String?) {
        guard var value else {
            buffer.writeStaticString("\\N")
            return
        }
        value.withUTF8 { appendEscaped(bytes: $0) }
    }

    /// Escapes backslash, tab, newline and carriage return; everything else passes through.
    private mutating func appendEscaped(bytes: some Collection<UInt8>) {
        guard bytes.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            buffer.writeBytes(bytes)
            return
        }
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    package var byteCount: Int { buffer.readableBytes }

    /// Takes the filled buffer, leaving an empty one.
    package mutating func take() -> ByteBuffer {
        let full = buffer
        buffer = ByteBuffer()
        buffer.reserveCapacity(1 << 20)
        return full
    }
}

extension PostgresConnection {
    /// Runs a statement and discards any rows.
    package func execute(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await self.query(query, logger: logger)
        for try await _ in rows {}
    }

    /// Runs one or more literal statements, one at a time (no value can reach them: they are
    /// literals of the code; statements with values use `execute` and bound parameters).
    package func executeScript(_ sql: StaticString, logger: Logger = Logger(label: "registry.sql")) async throws {
        try await executeUnsafeScript("\(sql)", logger: logger)
    }

    /// Runs one or more statements that the code assembled from its own constants (migration
    /// files, index definitions, table names of a configuration). Never pass text that holds a
    /// value from input or from the database: it is sent as SQL, unescaped.
    package func executeUnsafeScript(_ sql: String, logger: Logger = Logger(label: "registry.sql")) async throws {
        for statement in SQLScript.statements(sql) {
            try await execute(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// COPYs prepared rows into a table.
    package func copyRows(table: String, columns: [String], rows: [[String?]], logger: Logger) async throws {
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

/// PostgreSQL's text input of values Swift builds for COPY.
package enum PostgresText {
    /// A `text[]` literal: every element quoted (`"` and `\` escaped), nil as NULL.
    package static func array(_ elements: [String?]) -> String {
        var out = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { out += "," }
            guard let element else {
                out += "NULL"
                continue
            }
            out += "\""
            if element.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                for ch in element.unicodeScalars {
                    if ch == "\"" || ch == "\\" { out += "\\" }
                    out.unicodeScalars.append(ch)
                }
            } else {
                out += element
            }
            out += "\""
        }
        return out + "}"
    }
}
