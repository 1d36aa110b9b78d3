import Foundation
import RegistryImport

/// The sources the registry can keep current by itself, by their configuration names.
package enum SyncSourceName: String, CaseIterable, Sendable, Comparable {
    case sam
    case afmpsPharmacies = "afmps-pharmacies"
    case sporRMS = "spor-rms"
    case sporSMS = "spor-sms"
    case sporOMS = "spor-oms"
    case cobrha
    case practices

    /// The import domain a download of the source is imported into.
    package var domain: ImportDomain {
        switch self {
        case .sam: .sam
        case .afmpsPharmacies: .pharmacies
        case .sporRMS: .sporRMS
        case .sporSMS: .sporSMS
        case .sporOMS: .sporOMS
        case .cobrha: .cobrha
        case .practices: .practices
        }
    }

    /// The sync's own advisory lock: one process checks, downloads and imports a source at a
    /// time, however many `serve` processes share the database (the import takes its domain's
    /// lock as well, so a hand-started import and the sync still exclude each other).
    package var syncLockKey: Int64 { 7_030_000 + Int64(Self.allCases.firstIndex(of: self)!) }

    /// Checked every hour (SAM publishes several exports a day) or every day.
    var defaultInterval: Double { self == .sam ? 3600 : 86_400 }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How a source is reached.
package enum SourceTransport: Sendable, Equatable {
    /// SAM's download service: `{base}/samv2-full-getLastVersion?xsd=N` answers the latest
    /// version, `{base}/samv2-download?type=FULL&version=V&xsd=N` the export zip.
    case samVersions(baseURL: String, xsd: Int)
    /// Plain HTTP(S) documents fetched with conditional requests; all of them form one import.
    case documents([SourceDocument])
    /// A folder that another process (SFTP, a batch) writes complete files into.
    case dropFolder(path: String, stableSeconds: Double)
}

/// One document of a source: where it is and the file name the importer expects (the SPOR RMS
/// importer reads the list id from `<LISTID>.csv`).
package struct SourceDocument: Sendable, Equatable {
    package var url: String
    package var fileName: String

    package init(url: String, fileName: String) {
        self.url = url
        self.fileName = fileName
    }
}

/// The client certificate a source asks for (eHealth services authenticate organisations by
/// X.509 certificate): a PKCS#12 bundle with its password, or a PEM chain and PEM key.
package enum ClientCertificate: Sendable, Equatable {
    case pkcs12(path: String, password: String?)
    case pem(chainPath: String, keyPath: String)
}

/// Limits and timeouts of the downloads of one source.
package struct DownloadLimits: Sendable, Equatable {
    package var connectTimeout: Double = 30
    /// A download that receives nothing for this long is abandoned (and resumed on retry).
    package var stallTimeout: Double = 120
    package var maxAttempts = 5
    package var retryBaseDelay: Double = 1
    package var retryMaxDelay: Double = 300
    package var maxBytes: UInt64 = 4 << 30

    package init() {}
}

/// Everything the sync needs to know about one source.
package struct SourceSettings: Sendable, Equatable {
    package var name: SyncSourceName
    package var transport: SourceTransport
    package var schedule: SyncSchedule
    package var limits = DownloadLimits()
    package var clientCertificate: ClientCertificate?
    /// PEM file of the certificate authorities to trust instead of the system's.
    package var trustRootsPath: String?
    /// Versions kept in the archive.
    package var keepVersions = 3
    package var maxDeleteShare = 0.05

    package init(name: SyncSourceName, transport: SourceTransport, schedule: SyncSchedule) {
        self.name = name
        self.transport = transport
        self.schedule = schedule
    }

    /// Where downloads are fetched from, for the import run and `/v1/sources`.
    package var location: String {
        switch transport {
        case .samVersions(let base, let xsd): "\(base) (xsd \(xsd))"
        case .documents(let documents): documents.map(\.url).joined(separator: " ")
        case .dropFolder(let path, _): path
        }
    }
}

/// The configuration of the source synchronisation as a whole.
package struct SyncSettings: Sendable, Equatable {
    package var sources: [SourceSettings]
    /// `.registry/archive` by default: `{archive}/{source}/{version}/…`.
    package var archiveDirectory: String

    package init(sources: [SourceSettings], archiveDirectory: String) {
        self.sources = sources
        self.archiveDirectory = archiveDirectory
    }

    package func source(_ name: SyncSourceName) -> SourceSettings? { sources.first { $0.name == name } }
}
