import Foundation
import RegistryStore

/// The `registry` executable built with the tests, run as a child process on a test database.
package enum RegistryBinary {
    /// The executable next to the test bundle (or the package's debug build).
    package static let path: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("registry").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return TestDatabase.packageRoot.appendingPathComponent(".build/debug/registry").path
    }()

    /// The key that encrypts webhook signing secrets at rest in tests (REGISTRY_SECRET_KEY: 32 bytes,
    /// base64); every process launched here gets it unless the test's environment says otherwise.
    package static let testSecretKey = "dGVzdC1rZXktZm9yLXdlYmhvb2stc2VjcmV0cy0wMDE="

    /// Starts `registry ARGUMENTS` with `DATABASE_URL` (and the test secret key); stdout and stderr
    /// go to the returned log file.
    package static func launch(
        _ arguments: [String], databaseURL: DatabaseURL, environment extra: [String: String] = [:]
    )
        throws -> (process: Process, log: URL)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL.urlString
        environment["REGISTRY_SECRET_KEY"] = testSecretKey
        environment["REGISTRY_SECRET_KEY_PREVIOUS"] = nil
        environment["REGISTRY_PLAINTEXT_SECRETS"] = nil
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let log = try ChildProcess.OutputFile()
        process.standardOutput = log.handle
        process.standardError = log.handle
        try process.run()
        try log.handle.close()
        return (process, log.url)
    }

    /// Runs `registry ARGUMENTS` to completion: exit status and everything it printed.
    package static func run(_ arguments: [String], databaseURL: DatabaseURL, environment: [String: String] = [:])
        async throws -> (status: Int32, output: String)
    {
        let (process, log) = try launch(arguments, databaseURL: databaseURL, environment: environment)
        await process.exited()
        return (process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }
}
