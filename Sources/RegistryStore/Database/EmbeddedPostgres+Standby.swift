import Foundation

extension EmbeddedPostgres {
    /// The password file the standby's WAL receiver reads (owned by the server's user).
    var replicationPassFile: URL { clusterDirectory.appendingPathComponent("replication.pgpass") }

    /// Makes this cluster a hot standby of `primary` the first time (`pg_basebackup -R`: a copy of
    /// the primary that streams its WAL and answers read-only queries), then starts it like any
    /// embedded cluster. The standby has the primary's role and password, so `url` works for both.
    /// Returns true when this call started it.
    @discardableResult
    package func startStandby(of primary: EmbeddedPostgres) throws -> Bool {
        guard !isInitialised else { return try start() }
        guard let password = primary.password else {
            throw DatabaseError.embedded("the primary under \(primary.baseDirectory.path) has no password file")
        }
        let fm = FileManager.default
        for directory in [baseDirectory, clusterDirectory, socketDirectory] {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try writePrivate(passwordFile, password + "\n")
        try writePrivate(replicationPassFile, "127.0.0.1:\(primary.port):*:\(user):\(password)\n")
        try prepareOwnership()
        if runningAsRoot { _ = try run(path: "/bin/chown", ["postgres:postgres", replicationPassFile.path]) }
        try run(
            tool: "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(primary.port)", "-U", user, "-D", dataDirectory.path, "-R", "-X", "stream",
                "--no-sync", "--checkpoint=fast",
            ], environment: ["PGPASSFILE": replicationPassFile.path])
        // The copy carries the primary's settings: its own port and socket, and the connection
        // to the primary through the password file (later lines of a file win).
        let conf = """

            # registry embedded standby of 127.0.0.1:\(primary.port)
            port = \(port)
            unix_socket_directories = '\(socketDirectory.path)'
            hot_standby = on
            hot_standby_feedback = on

            """
        try append(conf, to: dataDirectory.appendingPathComponent("postgresql.conf"))
        try append(
            """

            primary_conninfo = 'host=127.0.0.1 port=\(primary.port) user=\(user) passfile=''\(replicationPassFile.path)'' application_name=standby_\(port)'

            """, to: dataDirectory.appendingPathComponent("postgresql.auto.conf"))
        return try start()
    }

    func append(_ text: String, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }
}
