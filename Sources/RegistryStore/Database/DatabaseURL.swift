import Foundation
import PostgresNIO

/// Connection settings parsed from a `postgres://user:password@host:port/database` URL.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text),
            ["postgres", "postgresql"].contains(components.scheme ?? "")
        else {
            throw DatabaseError.invalidURL(text, "expected postgres://user[:password]@host[:port]/database")
        }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 5432
        user = components.user ?? "postgres"
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
    }

    /// The same server, another database (tests create one database each).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    public var urlString: String {
        "postgres://\(user)\(password.map { ":\($0)" } ?? "")@\(host):\(port)/\(database)"
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        return configuration
    }
}

public enum DatabaseError: Error, CustomStringConvertible {
    case invalidURL(String, String)
    case embedded(String)
    case migrationsDiverged(String)
    case unreachable(String, String)
    /// A statement did not return what it always returns (a bug, not bad input).
    case unexpected(String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let why): return "DATABASE_URL '\(url)' is not valid: \(why)"
        case .embedded(let why): return "embedded PostgreSQL: \(why)"
        case .migrationsDiverged(let why): return "migration history and code disagree: \(why)"
        case .unreachable(let url, let why): return "cannot connect to \(url): \(why)"
        case .unexpected(let what): return "unexpected database answer: \(what)"
        }
    }
}
