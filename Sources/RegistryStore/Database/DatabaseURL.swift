import Foundation
import NIOSSL
import PostgresNIO

/// Connection settings parsed from a `postgres://user:password@host:port/database` URL.
package struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    /// libpq's `sslmode` (default `prefer`, as libpq's).
    package var sslMode: SSLMode = .prefer
    /// libpq's `sslrootcert`: the CA certificates (PEM) the server's certificate must chain to;
    /// the system's trust store when nil.
    package var sslRootCert: String?

    /// libpq's `sslmode` values.
    package enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, else plain (`allow` is treated the same).
        case allow, prefer
        /// TLS or fail; the certificate is checked only when `sslrootcert` is given (as libpq does).
        case require
        /// TLS with a certificate chaining to `sslrootcert` (or the system's roots); any host name.
        case verifyCA = "verify-ca"
        /// As verify-ca, and the certificate must name the host connected to.
        case verifyFull = "verify-full"
    }

    package init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    package init(parsing text: String) throws {
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
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw DatabaseError.invalidURL(
                        description,
                        "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(item.value ?? "")'"
                    )
                }
                sslMode = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else {
                    throw DatabaseError.invalidURL(description, "sslrootcert needs a file path")
                }
                sslRootCert = path
            default:
                throw DatabaseError.invalidURL(
                    description, "unsupported parameter '\(item.name)' (supported: sslmode, sslrootcert)")
            }
        }
        if let sslRootCert, !FileManager.default.isReadableFile(atPath: sslRootCert) {
            throw DatabaseError.invalidURL(description, "sslrootcert \(sslRootCert) is not a readable file")
        }
        do {
            _ = try connectionTLS()
        } catch {
            throw DatabaseError.invalidURL(description, "the TLS settings do not load: \(error)")
        }
    }

    /// What `sslmode` asks of the connection: no TLS, TLS if offered, or TLS required, with the
    /// certificate checks of libpq's semantics.
    package enum TLSUse: Sendable {
        case disable
        case prefer(TLSConfiguration)
        case require(TLSConfiguration)
    }

    package var tlsUse: TLSUse {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let sslRootCert { configuration.trustRoots = .file(sslRootCert) }
        switch sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            configuration.certificateVerification = .none
            return .prefer(configuration)
        case .require:
            configuration.certificateVerification = sslRootCert == nil ? .none : .noHostnameVerification
            return .require(configuration)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(configuration)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return .require(configuration)
        }
    }

    /// The TLS setting of a single connection (its context is built here: a bad PEM fails here).
    package func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch tlsUse {
        case .disable: return .disable
        case .prefer(let configuration): return .prefer(try NIOSSLContext(configuration: configuration))
        case .require(let configuration): return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    /// The same server, another database (tests create one database each).
    package func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    package var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    package var urlString: String {
        var query: [String] = []
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCert { query.append("sslrootcert=\(sslRootCert)") }
        let password = password?.addingPercentEncoding(withAllowedCharacters: .alphanumerics).map { ":\($0)" } ?? ""
        return "postgres://\(user)\(password)@\(host):\(port)/\(database)"
            + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// The pool's configuration, TLS as `sslmode` says.
    package var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsUse {
            case .disable: .disable
            case .prefer(let configuration): .prefer(configuration)
            case .require(let configuration): .require(configuration)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        return configuration
    }
}

package enum DatabaseError: Error, CustomStringConvertible {
    case invalidURL(String, String)
    case embedded(String)
    case migrationsDiverged(String)
    case unreachable(String, String)
    /// A statement did not return what it always returns (a bug, not bad input).
    case unexpected(String)

    package var description: String {
        switch self {
        case .invalidURL(let url, let why): return "DATABASE_URL '\(url)' is not valid: \(why)"
        case .embedded(let why): return "embedded PostgreSQL: \(why)"
        case .migrationsDiverged(let why): return "migration history and code disagree: \(why)"
        case .unreachable(let url, let why): return "cannot connect to \(url): \(why)"
        case .unexpected(let what): return "unexpected database answer: \(what)"
        }
    }
}
