/// How bad a finding is.
///
/// `error` rejects the record (the stored version stays), `warning` and `info` are recorded
/// and the record is accepted, `fatal` refuses the whole run.
package enum FindingSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, error, fatal

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        case .fatal: 3
        }
    }
    package static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// A stable quality rule identifier. Ids never change meaning once published.
package struct QualityRule: Sendable, Hashable, Codable, CustomStringConvertible {
    package let id: String
    package let severity: FindingSeverity
    package let summary: String

    package init(id: String, severity: FindingSeverity, summary: String) {
        self.id = id
        self.severity = severity
        self.summary = summary
    }

    package var description: String { id }
}

/// One quality finding: which rule, on which entity, where in which file, and why.
package struct QualityFinding: Sendable, Hashable, Codable, CustomStringConvertible {
    package var severity: FindingSeverity
    package var rule: String
    package var entityType: String?
    package var entityKey: String?
    package var file: String?
    package var line: Int?
    package var message: String

    package init(
        rule: QualityRule, entityType: String? = nil, entityKey: String? = nil, file: String? = nil, line: Int? = nil,
        message: String
    ) {
        self.severity = rule.severity
        self.rule = rule.id
        self.entityType = entityType
        self.entityKey = entityKey
        self.file = file
        self.line = line
        self.message = message
    }

    package var description: String {
        var location = file ?? "-"
        if let line { location += ":\(line)" }
        var entity = ""
        if let entityType { entity = " \(entityType)" + (entityKey.map { " \($0)" } ?? "") }
        return "\(severity.rawValue.uppercased()) [\(rule)] \(location)\(entity): \(message)"
    }
}
