/// What an import run imports. Each domain has its advisory lock (one run of a domain at a time,
/// runs of different domains in parallel), its name in `import_run.domain` and in the
/// notifications its commit sends, and its label in reports.
package enum ImportDomain: String, CaseIterable, Sendable {
    case sam
    case cobrha
    case practices
    case pharmacies = "afmps"
    case sporRMS = "spor-rms"
    case sporSMS = "spor-sms"
    case sporOMS = "spor-oms"

    /// The `pg_advisory_lock` key; the numbers are those earlier releases used, so a run of an
    /// older binary and one of this binary still exclude each other.
    package var advisoryLockKey: Int64 {
        switch self {
        case .sam: 7_220_100
        case .pharmacies: 7_020_222
        case .cobrha: 7_020_223
        case .practices: 7_020_224
        case .sporRMS: 7_020_310
        case .sporSMS: 7_020_311
        case .sporOMS: 7_020_312
        }
    }

    /// What the report and the "already running" error call it.
    package var label: String {
        switch self {
        case .sam: "SAM"
        case .cobrha: "CoBRHA"
        case .practices: "practice register"
        case .pharmacies: "AFMPS pharmacies"
        case .sporRMS: "SPOR RMS"
        case .sporSMS: "SPOR SMS"
        case .sporOMS: "SPOR OMS"
        }
    }
}
