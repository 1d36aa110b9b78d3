import RegistryCore

/// The result of one import run, as stored in `import_run` and printed by `registry import`.
package struct ImportSummary: Sendable {
    package enum Outcome: String, Sendable { case applied, refused, failed }

    package struct FileSummary: Sendable {
        package var name: String
        package var kind: String?
        package var bytes: UInt64
        package var sha256: String
        package var entities: Int
    }

    package struct TypeCounts: Sendable {
        package var read = 0
        package var accepted = 0
        package var rejected = 0
        package var created = 0
        package var updated = 0
        package var deleted = 0
    }

    package var runId: Int64
    package var outcome: Outcome
    package var refusalReason: String?
    package var source: String
    /// What was imported, for the report ("SAM", "AFMPS pharmacies").
    package var label = "SAM"
    /// The source's own version and id of what was read, when it says (SAM: its version and SamId).
    package var sourceVersion: String?
    package var sourceId: String?
    package var files: [FileSummary] = []
    package var counts: [String: TypeCounts] = [:]
    package var findingsBySeverity: [FindingSeverity: Int] = [:]
    /// The first findings (all fatal ones, then others) for display; the database has them all.
    package var findingsSample: [QualityFinding] = []
    package var eventsEmitted = 0
    package var firstEventSeq: Int64?
    package var lastEventSeq: Int64?
    package var durationSeconds: Double = 0
    /// Wall time per pipeline phase, in order.
    package var phases: [(name: String, seconds: Double)] = []

    package var totalChanged: Int { counts.values.reduce(0) { $0 + $1.created + $1.updated + $1.deleted } }

    /// A readable multi-line report.
    package var report: String {
        var lines: [String] = []
        lines.append(
            "\(label) import run #\(runId): \(outcome.rawValue.uppercased())" + (refusalReason.map { ": \($0)" } ?? ""))
        lines.append("  source: \(source)")
        if sourceVersion != nil || sourceId != nil {
            lines.append("  \(label) version: \(sourceVersion ?? "-")  id: \(sourceId ?? "-")")
        }
        for f in files {
            lines.append(
                "  file \(f.name) [\(f.kind ?? "?")]: \(f.bytes) bytes, \(f.entities) entities, sha256 \(f.sha256.prefix(16))…"
            )
        }
        lines.append(
            "  " + "type".padding(toLength: 34, withPad: " ", startingAt: 0)
                + "      read  accepted  rejected   created   updated   deleted")
        for (type, c) in counts.sorted(by: { $0.key < $1.key }) {
            func col(_ v: Int) -> String {
                let s = String(v)
                return String(repeating: " ", count: max(0, 10 - s.count)) + s
            }
            lines.append(
                "  " + type.padding(toLength: 34, withPad: " ", startingAt: 0) + col(c.read) + col(c.accepted)
                    + col(c.rejected) + col(c.created) + col(c.updated) + col(c.deleted))
        }
        let severities = FindingSeverity.allCases.reversed().map { "\($0.rawValue) \(findingsBySeverity[$0] ?? 0)" }
        lines.append("  findings: " + severities.joined(separator: ", "))
        for finding in findingsSample.prefix(20) { lines.append("    \(finding)") }
        if let first = firstEventSeq, let last = lastEventSeq {
            lines.append("  change events: \(eventsEmitted) (seq \(first)…\(last))")
        } else {
            lines.append("  change events: \(eventsEmitted)")
        }
        let phaseText = phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
        lines.append(
            "  duration: \(String(format: "%.1f", durationSeconds)) s" + (phaseText.isEmpty ? "" : " (\(phaseText))"))
        return lines.joined(separator: "\n")
    }
}

/// Why an import did not apply.
package enum ImportError: Error, CustomStringConvertible {
    /// The quality gate refused the input; nothing was applied (exit code 3).
    case refused(ImportSummary)
    /// Another import of the same domain holds the lock.
    case alreadyRunning(domain: String)
    case input(String)

    package var description: String {
        switch self {
        case .refused(let summary): return summary.report
        case .alreadyRunning(let domain):
            return "another \(domain) import is running (it holds the advisory lock); wait for it to finish and retry"
        case .input(let message): return message
        }
    }
}
