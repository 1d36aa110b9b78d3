import FakeSources
import Foundation

/// `sam-download-fake PORT VERSION EXPORT_ZIP`: SAM's download service on loopback for the sync
/// benchmark (ops/bench/sync.sh): `…/samv2-full-getLastVersion` answers VERSION and
/// `…/samv2-download` serves EXPORT_ZIP, until the process is killed.
@main
struct SAMDownloadFake {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let port = Int(arguments[1]), let version = Int(arguments[2]),
            FileManager.default.fileExists(atPath: arguments[3])
        else {
            FileHandle.standardError.write(Data("usage: sam-download-fake PORT VERSION EXPORT_ZIP\n".utf8))
            exit(2)
        }
        var script = FakeSourceScript(latestVersion: version)
        script.exports = [version: arguments[3]]
        try await FakeSourceServer(script).run(port: port) { base in
            FileHandle.standardOutput.write(Data("\(base)\(FakeSourceServer.downloadPath)\n".utf8))
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
