import ArgumentParser
import Foundation
import Logging
import RegistryStore

/// `registry imports list|show`: what past import runs did, and their quality findings.
struct ImportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imports", abstract: "Show recorded import runs and their quality findings.",
        subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the most recent import runs.")

        @Option(help: "How many runs (1...1000).")
        var limit: Int = 20

        func run() async throws {
            let logger = makeLogger()
            let limit = self.limit
            let runs = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    try await ImportRunRepository(client: client, logger: logger).recent(limit: limit)
                }
            }
            for r in runs {
                let duration = r.durationMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "-"
                print(
                    "#\(r.id) \(r.startedAt) \(r.domain) \(r.outcome.uppercased()) version \(r.sourceVersion ?? "-") SamId \(r.sourceId ?? "-") events \(r.eventsEmitted) findings \(r.findingsTotal) \(duration) \(r.source)"
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run with its findings.")

        @Argument(help: "The run id.")
        var id: Int64

        @Option(help: "Only findings of this rule id (e.g. SAM-REF-RMB-DMPP).")
        var rule: String?

        @Option(help: "How many findings to print.")
        var findings: Int = 50

        func run() async throws {
            let logger = makeLogger()
            let (id, rule, limit) = (self.id, self.rule, self.findings)
            let (run, list) = try await DatabaseContext.with(logger: logger) { url in
                try await withPostgresClient(url, logger: logger) { client in
                    let repository = ImportRunRepository(client: client, logger: logger)
                    return (
                        try await repository.run(id: id),
                        try await repository.findings(runId: id, rule: rule, limit: limit)
                    )
                }
            }
            guard let run else { throw CommandError(description: "no import run #\(id)") }
            print("#\(run.id) \(run.domain) \(run.outcome.uppercased())" + (run.refusalReason.map { ": \($0)" } ?? ""))
            print("  source: \(run.source)\n  version: \(run.sourceVersion ?? "-")  SamId: \(run.sourceId ?? "-")")
            print("  started: \(run.startedAt)  duration: \(run.durationMs.map { "\($0) ms" } ?? "-")")
            print("  events: \(run.eventsEmitted)  findings: \(run.findingsTotal)")
            print("  files: \(run.files)\n  counts: \(run.counts)")
            for f in list {
                let location = (f.file ?? "-") + (f.line.map { ":\($0)" } ?? "")
                let entity = f.entityType.map { " \($0) \(f.entityKey ?? "")" } ?? ""
                print("  \(f.severity.uppercased()) [\(f.rule)] \(location)\(entity): \(f.message)")
            }
        }
    }
}
