import Foundation

/// A private PostgreSQL cluster under `.registry/` of the working directory.
///
/// Used when `DATABASE_URL` is not set, so the product runs on a fresh machine with one
/// command. PostgreSQL refuses to run as root; when we are root the server runs as the
/// `postgres` system user and the data folder belongs to it.
package struct EmbeddedPostgres: Sendable {
    package let baseDirectory: URL
    package let port: Int
    package let user = "registry"
    package let database = "registry"

    package init(baseDirectory: URL, port: Int = 54329) {
        self.baseDirectory = baseDirectory
        self.port = port
    }

    /// Reads `REGISTRY_HOME` (default `./.registry`) and `REGISTRY_DB_PORT` (default 54329).
    package static func fromEnvironment() -> EmbeddedPostgres {
        let env = ProcessInfo.processInfo.environment
        let base =
            env["REGISTRY_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".registry")
        return EmbeddedPostgres(baseDirectory: base, port: env["REGISTRY_DB_PORT"].flatMap(Int.init) ?? 54329)
    }

    package var dataDirectory: URL { clusterDirectory.appendingPathComponent("pgdata") }
    package var socketDirectory: URL { clusterDirectory.appendingPathComponent("run") }
    package var logFile: URL { clusterDirectory.appendingPathComponent("postgres.log") }

    /// Where the cluster lives: `baseDirectory`, unless we are root and the `postgres` user cannot
    /// reach it (e.g. a checkout under /root); then a folder under /var/tmp named after it.
    package var clusterDirectory: URL {
        guard geteuid() == 0, !EmbeddedPostgres.othersCanTraverse(baseDirectory.deletingLastPathComponent()) else {
            return baseDirectory
        }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in baseDirectory.path.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return URL(fileURLWithPath: "/var/tmp/registry-pg-\(String(hash, radix: 16))")
    }

    static func othersCanTraverse(_ directory: URL) -> Bool {
        var dir = directory.standardizedFileURL
        while true {
            var info = stat()
            if stat(dir.path, &info) != 0 { return false }
            if info.st_mode & 0o001 == 0 { return false }
            if dir.path == "/" { return true }
            dir = dir.deletingLastPathComponent()
        }
    }

    /// The generated password of the cluster's role (SCRAM-SHA-256 on TCP and on the socket), kept
    /// readable by its owner only; nil for a cluster made before passwords (trust).
    package var passwordFile: URL { baseDirectory.appendingPathComponent("db-password") }
    /// A libpq password file for the `psql` calls of this type (`PGPASSFILE`).
    var passFile: URL { baseDirectory.appendingPathComponent("pgpass") }

    package var password: String? {
        (try? String(contentsOf: passwordFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package var url: DatabaseURL {
        DatabaseURL(host: "127.0.0.1", port: port, user: user, password: password, database: database)
    }

    /// Writes a new random password (32 bytes, hex) and the matching pgpass file, both mode 0600.
    func generatePassword() throws -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let password = bytes.map { String(format: "%02x", $0) }.joined()
        try writePrivate(passwordFile, password + "\n")
        return password
    }

    func writePrivate(_ file: URL, _ text: String) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw DatabaseError.embedded("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let data = Array(text.utf8)
        guard write(fd, data, data.count) == data.count else {
            throw DatabaseError.embedded("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }

    /// The environment of our `psql` calls: the password comes from a pgpass file, never argv.
    func clientEnvironment() throws -> [String: String] {
        guard let password else { return [:] }
        try writePrivate(passFile, "127.0.0.1:\(port):*:\(user):\(password)\n")
        return ["PGPASSFILE": passFile.path]
    }

    var runningAsRoot: Bool { geteuid() == 0 }

    /// Whether nothing listens on `port` of 127.0.0.1 yet (a bind succeeds). With SO_REUSEADDR,
    /// as PostgreSQL binds: connections of a server just stopped (TIME_WAIT) do not count.
    package static func isPortFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// The server binaries of the newest installed major version.
    package func binDirectory() throws -> URL {
        let fm = FileManager.default
        if let override = ProcessInfo.processInfo.environment["PG_BINDIR"] { return URL(fileURLWithPath: override) }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() {
            let bin = URL(fileURLWithPath: "\(root)/\(version)/bin")
            if fm.isExecutableFile(atPath: bin.appendingPathComponent("pg_ctl").path) { return bin }
        }
        for candidate in ["/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"]
        where fm.isExecutableFile(atPath: candidate + "/pg_ctl") {
            return URL(fileURLWithPath: candidate)
        }
        throw DatabaseError.embedded("no PostgreSQL server binaries found (install postgresql, or set PG_BINDIR)")
    }

    package var isInitialised: Bool {
        FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path)
    }

    /// Whether a server is running on our data folder (pg_ctl status).
    package func isRunning() throws -> Bool {
        guard isInitialised else { return false }
        return try run(tool: "pg_ctl", ["status", "-D", dataDirectory.path], allowFailure: true) == 0
    }

    /// Creates the cluster if needed and starts it. Returns true when this call started it.
    @discardableResult
    package func start() throws -> Bool {
        let fm = FileManager.default
        try fm.createDirectory(at: baseDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(at: clusterDirectory, withIntermediateDirectories: true)
        if !isInitialised {
            try fm.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
            try fm.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
            try prepareOwnership()
            // Every connection authenticates with SCRAM-SHA-256: another local user of the machine
            // cannot connect as the registry. initdb reads the password from a file the server's
            // user can read, removed right after.
            let password = try generatePassword()
            let initialPassword = clusterDirectory.appendingPathComponent("initdb-password")
            try writePrivate(initialPassword, password + "\n")
            defer { unlink(initialPassword.path) }
            if runningAsRoot { _ = try run(path: "/bin/chown", ["postgres:postgres", initialPassword.path]) }
            try run(
                tool: "initdb",
                [
                    "-D", dataDirectory.path, "-U", user, "--auth=scram-sha-256", "--pwfile=\(initialPassword.path)",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                ])
            let conf = """

                # registry embedded cluster
                listen_addresses = '127.0.0.1'
                port = \(port)
                unix_socket_directories = '\(socketDirectory.path)'
                fsync = on
                # serve (two pools) + dispatchers + imports, and the test suite's parallel databases
                max_connections = 500
                shared_buffers = 256MB
                work_mem = 64MB
                maintenance_work_mem = 256MB
                max_wal_size = 4GB

                """
            try append(conf, to: dataDirectory.appendingPathComponent("postgresql.conf"))
        }
        if try isRunning() {
            try ensureDatabase()
            return false
        }
        guard EmbeddedPostgres.isPortFree(port) else {
            throw DatabaseError.embedded(
                "port \(port) of 127.0.0.1 is taken by another server; set REGISTRY_DB_PORT to a free port")
        }
        try prepareOwnership()
        // pg_ctl's server inherits stdout: don't pipe it, or reading the pipe would wait for the server to exit.
        try run(
            tool: "pg_ctl",
            ["start", "-w", "-t", "60", "-D", dataDirectory.path, "-l", logFile.path, "-o", "-p \(port)"],
            detached: true)
        try ensureDatabase()
        return true
    }

    package func stop() throws {
        guard try isRunning() else { return }
        try run(tool: "pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDirectory.path])
    }

    func ensureDatabase() throws {
        let psql = try binDirectory().appendingPathComponent("psql").path
        let environment = try clientEnvironment()
        let exists = try run(
            path: psql,
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres", "-tAc",
                "SELECT 1 FROM pg_database WHERE datname = '\(database)'",
            ], captureOutput: true, environment: environment)
        if exists.output.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            _ = try run(
                path: psql,
                [
                    "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres", "-c",
                    "CREATE DATABASE \(database)",
                ],
                environment: environment)
        }
    }

    /// As root, hand the cluster folders to the `postgres` user and make the path traversable.
    func prepareOwnership() throws {
        guard runningAsRoot else { return }
        for dir in [clusterDirectory, dataDirectory, socketDirectory] {
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        chmod(baseDirectory.path, 0o755)
        chmod(clusterDirectory.path, 0o755)
        _ = try run(path: "/bin/chown", ["-R", "postgres:postgres", dataDirectory.path, socketDirectory.path])
        chmod(dataDirectory.path, 0o700)
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        _ = try run(path: "/bin/chown", ["postgres:postgres", logFile.path])
    }

    @discardableResult
    func run(
        tool: String, _ arguments: [String], allowFailure: Bool = false, detached: Bool = false,
        environment: [String: String] = [:]
    ) throws -> Int32 {
        let path = try binDirectory().appendingPathComponent(tool).path
        if runningAsRoot {
            // runuser starts the tool with a clean environment: `env` passes ours on.
            let settings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return try run(
                path: "/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env"] + settings + [path] + arguments,
                allowFailure: allowFailure, detached: detached
            ).status
        }
        return try run(path: path, arguments, allowFailure: allowFailure, detached: detached, environment: environment)
            .status
    }

    @discardableResult
    func run(
        path: String, _ arguments: [String], allowFailure: Bool = false, captureOutput: Bool = false,
        detached: Bool = false, environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let (status, output) = try ChildProcess.run(path, arguments, environment: environment)
        if status != 0 && !allowFailure {
            var detail = output
            if detached, let log = try? String(contentsOf: logFile, encoding: .utf8) {
                detail += "\n" + log.suffix(2000)
            }
            throw DatabaseError.embedded(
                "\(URL(fileURLWithPath: path).lastPathComponent) \(arguments.joined(separator: " ")) failed (\(status)): \(detail.suffix(3000))"
            )
        }
        return (status, output)
    }
}
