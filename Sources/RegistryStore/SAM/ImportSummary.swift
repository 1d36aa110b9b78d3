import RegistryCore

/// The result of one import run, as stored in `import_run` and printed by `registry import`.
public struct ImportSummary: Sendable {
    public enum Outcome: String, Sendable { case applied, refused, failed }

    public struct FileSummary: Sendable {
        public var name: String
        public var kind: String?
        public var bytes: UInt64
        public var sha256: String
        public var entities: Int
    }

    public struct TypeCounts: Sendable {
        public var read = 0
        public var accepted = 0
        public var rejected = 0
        public var created = 0
        public var updated = 0
        public var deleted = 0
    }

    public var runId: Int64
    public var outcome: Outcome
    public var refusalReason: String?
    public var source: String
    /// What was imported, for the report ("SAM", "AFMPS pharmacies").
    public var label = "SAM"
    public var samVersion: String?
    public var samId: String?
    public var files: [FileSummary] = []
    public var counts: [String: TypeCounts] = [:]
    public var findingsBySeverity: [FindingSeverity: Int] = [:]
    /// The first findings (all fatal ones, then others) for display; the database has them all.
    public var findingsSample: [QualityFinding] = []
    public var eventsEmitted = 0
    public var firstEventSeq: Int64?
    public var lastEventSeq: Int64?
    public var durationSeconds: Double = 0
    /// Wall time per pipeline phase, in order.
    public var phases: [(name: String, seconds: Double)] = []

    public var totalChanged: Int { counts.values.reduce(0) { $0 + $1.created + $1.updated + $1.deleted } }

    /// A readable multi-line report.
    public var report: String {
        var lines: [String] = []
        lines.append(
            "\(label) import run #\(runId): \(outcome.rawValue.uppercased())" + (refusalReason.map { ": \($0)" } ?? ""))
        lines.append("  source: \(source)")
        if label == "SAM" { lines.append("  SAM version: \(samVersion ?? "-")  SamId: \(samId ?? "-")") }
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
public enum ImportError: Error, CustomStringConvertible {
    /// The quality gate refused the input; nothing was applied (exit code 3).
    case refused(ImportSummary)
    /// Another import of the same domain holds the lock.
    case alreadyRunning(domain: String)
    case input(String)

    public var description: String {
        switch self {
        case .refused(let summary): return summary.report
        case .alreadyRunning(let domain):
            return "another \(domain) import is running (it holds the advisory lock); wait for it to finish and retry"
        case .input(let message): return message
        }
    }
}
