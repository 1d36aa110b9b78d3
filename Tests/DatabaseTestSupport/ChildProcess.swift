import Foundation

/// Child processes of the tests (Python checkers, `sha256sum`, the `registry` executable), awaited
/// without holding a thread of Swift's cooperative pool.
///
/// The pool has one thread per core (two on these machines) and the tests' in-process servers
/// answer on it: a test blocked in `waitUntilExit()` while its child talked to such a server, with
/// the other thread blocked too, could wait forever. Waiting happens on a thread of its own instead.
package enum ChildProcess {
    package struct Finished: Sendable {
        package var status: Int32
        package var output: Data
        package var errors: Data
        package var outputText: String { String(decoding: output, as: UTF8.self) }
        package var errorText: String { String(decoding: errors, as: UTF8.self) }
    }

    /// Runs EXECUTABLE ARGUMENTS to its end; what it printed is collected in files (no pipe to fill).
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) async throws -> Finished {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = try OutputFile()
        let errors = try OutputFile()
        defer {
            output.remove()
            errors.remove()
        }
        process.standardOutput = output.handle
        process.standardError = errors.handle
        try process.run()
        try output.handle.close()
        try errors.handle.close()
        await process.exited()
        return Finished(status: process.terminationStatus, output: try output.contents(), errors: try errors.contents())
    }

    /// Runs `python3 -c SCRIPT ARGUMENTS` (`/usr/bin/env` finds the interpreter).
    package static func python(_ script: String, _ arguments: [String] = []) async throws -> Finished {
        try await run("/usr/bin/env", ["python3", "-c", script] + arguments)
    }

    /// A temporary file a child writes one of its streams to.
    struct OutputFile {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).out")
        let handle: FileHandle

        init() throws {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            handle = try FileHandle(forWritingTo: url)
        }

        func contents() throws -> Data { try Data(contentsOf: url) }
        func remove() { try? FileManager.default.removeItem(at: url) }
    }
}

extension Process {
    /// Waits for the process to end on a thread of its own (see `ChildProcess`).
    package func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                self.waitUntilExit()
                continuation.resume()
            }
            thread.name = "child-process-wait"
            thread.start()
        }
    }
}
