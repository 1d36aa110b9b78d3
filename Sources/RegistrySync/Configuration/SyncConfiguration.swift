import Configuration
import Foundation
import NIOFileSystem

/// Reads the sync's settings from a JSON configuration file and the environment (which wins),
/// through swift-configuration. Keys (environment names in brackets):
///
///     sync.archiveDirectory            [SYNC_ARCHIVE_DIRECTORY]   default .registry/archive
///     sync.keepVersions                [SYNC_KEEP_VERSIONS]       default 3
///     sources.sam.enabled              [SOURCES_SAM_ENABLED]
///     sources.sam.baseUrl, .xsd        [SOURCES_SAM_BASE_URL, SOURCES_SAM_XSD]
///     sources.<name>.url               [SOURCES_AFMPS_PHARMACIES_URL, …]; spor-rms: with {list}
///     sources.spor-rms.lists           [SOURCES_SPOR_RMS_LISTS]   comma-separated list ids
///     sources.<name>.dropFolder, .stableSeconds
///     sources.<name>.interval, .jitter, .cron
///     sources.<name>.clientCertificate, .clientKey, .clientCertificatePassword, .trustRoots
///     sources.<name>.connectTimeout, .stallTimeout, .maxAttempts, .retryBaseDelay,
///         .retryMaxDelay, .maxBytes, .keepVersions, .maxDeleteShare
package enum SyncConfiguration {
    package static let defaultSAMBaseURL = "https://www.vas.ehealth.fgov.be/websamcivics/samcivics/download"

    /// A setting that is present but wrong: the key, what was expected and what was found.
    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    /// Loads the settings from `file` (JSON; a missing default file is no error) and `environment`.
    package static func load(file: String?, fileIsExplicit: Bool, environment: [String: String]) async throws
        -> SyncSettings
    {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .dynamic { key, _ in key.hasSuffix("PASSWORD") })
        ]
        if let file {
            do {
                providers.append(
                    try await FileProvider<JSONSnapshot>(filePath: FilePath(file), allowMissing: !fileIsExplicit))
            } catch {
                throw Invalid(description: "configuration file \(file): \(error)")
            }
        }
        return try settings(from: ConfigReader(providers: providers))
    }

    /// The settings a reader holds; every present but invalid value is an error naming its key.
    package static func settings(from config: ConfigReader) throws -> SyncSettings {
        let keepDefault = try int(config, ["sync", "keepVersions"], range: 1...1000) ?? 3
        var sources: [SourceSettings] = []
        for name in SyncSourceName.allCases {
            if let source = try source(name, config: config, keepDefault: keepDefault) { sources.append(source) }
        }
        let archive = config.string(forKey: ["sync", "archiveDirectory"]) ?? ".registry/archive"
        return SyncSettings(sources: sources, archiveDirectory: archive)
    }

    static func source(_ name: SyncSourceName, config: ConfigReader, keepDefault: Int) throws -> SourceSettings? {
        let prefix = ["sources", name.rawValue]
        func key(_ last: String) -> [String] { prefix + [last] }
        let enabled = try bool(config, key("enabled"))
        if enabled == false { return nil }
        let url = config.string(forKey: ConfigKey(key("url")))
        let dropFolder = config.string(forKey: ConfigKey(key("dropFolder")))
        let transport: SourceTransport
        switch name {
        case .sam:
            let base = config.string(forKey: ConfigKey(key("baseUrl")))
            guard enabled == true || base != nil else { return nil }
            let xsd = try int(config, key("xsd"), range: 1...99) ?? 6
            let baseURL = base ?? defaultSAMBaseURL
            try checkURL(baseURL, key: key("baseUrl"))
            transport = .samVersions(baseURL: String(baseURL.trimmingSuffix("/")), xsd: xsd)
        default:
            if let dropFolder, [.cobrha, .practices].contains(name) {
                guard url == nil else {
                    throw Invalid(
                        description:
                            "\(key("url").joined(separator: ".")): a source has a url or a dropFolder, not both")
                }
                let stable = try double(config, key("stableSeconds"), minimum: 0) ?? 30
                transport = .dropFolder(path: dropFolder, stableSeconds: stable)
            } else if let url {
                try checkURL(url.replacingOccurrences(of: "{list}", with: "x"), key: key("url"))
                transport = .documents(try documents(name, url: url, config: config, key: key))
            } else if enabled == true {
                throw Invalid(
                    description:
                        "sources.\(name.rawValue): enabled but neither \(key("url").joined(separator: ".")) nor a drop folder is set"
                )
            } else {
                return nil
            }
        }
        var settings = SourceSettings(name: name, transport: transport, schedule: try schedule(name, config, key))
        var limits = DownloadLimits()
        limits.connectTimeout = try double(config, key("connectTimeout"), minimum: 0.1) ?? limits.connectTimeout
        limits.stallTimeout = try double(config, key("stallTimeout"), minimum: 0.1) ?? limits.stallTimeout
        limits.maxAttempts = try int(config, key("maxAttempts"), range: 1...100) ?? limits.maxAttempts
        limits.retryBaseDelay = try double(config, key("retryBaseDelay"), minimum: 0) ?? limits.retryBaseDelay
        limits.retryMaxDelay = try double(config, key("retryMaxDelay"), minimum: 0) ?? limits.retryMaxDelay
        if let maxBytes = try int(config, key("maxBytes"), range: 1...Int.max) { limits.maxBytes = UInt64(maxBytes) }
        settings.limits = limits
        settings.keepVersions = try int(config, key("keepVersions"), range: 1...1000) ?? keepDefault
        settings.maxDeleteShare = try double(config, key("maxDeleteShare"), minimum: 0) ?? settings.maxDeleteShare
        guard settings.maxDeleteShare <= 1 else {
            throw Invalid(
                description: "sources.\(name.rawValue).maxDeleteShare: expected 0...1, got \(settings.maxDeleteShare)")
        }
        if let certificate = config.string(forKey: ConfigKey(key("clientCertificate"))) {
            let lower = certificate.lowercased()
            if lower.hasSuffix(".p12") || lower.hasSuffix(".pfx") {
                let password = config.string(forKey: ConfigKey(key("clientCertificatePassword")), isSecret: true)
                settings.clientCertificate = .pkcs12(path: certificate, password: password)
            } else {
                guard let keyPath = config.string(forKey: ConfigKey(key("clientKey"))) else {
                    throw Invalid(
                        description:
                            "sources.\(name.rawValue).clientKey: a PEM clientCertificate needs its PEM private key (or give a .p12 bundle)"
                    )
                }
                settings.clientCertificate = .pem(chainPath: certificate, keyPath: keyPath)
            }
        }
        settings.trustRootsPath = config.string(forKey: ConfigKey(key("trustRoots")))
        return settings
    }

    static func documents(_ name: SyncSourceName, url: String, config: ConfigReader, key: (String) -> [String]) throws
        -> [SourceDocument]
    {
        guard name == .sporRMS else {
            let fileName: String =
                switch name {
                case .afmpsPharmacies: "pharmacies.json"
                case .sporSMS: "substances.csv"
                case .sporOMS: "organisations.json"
                case .cobrha: "cobrha.xml"
                case .practices: url.lowercased().contains(".json") ? "practices.json" : "practices.csv"
                default: "document"
                }
            return [SourceDocument(url: url, fileName: fileName)]
        }
        // RMS lists: one export per list id, the URL names it with {list}.
        let lists = config.stringArray(forKey: ConfigKey(key("lists"))) ?? []
        guard url.contains("{list}") || lists.isEmpty else {
            throw Invalid(description: "sources.spor-rms.url: with lists, the URL must contain {list}")
        }
        if lists.isEmpty {
            guard !url.contains("{list}") else {
                throw Invalid(description: "sources.spor-rms.lists: the URL contains {list} but no list ids are given")
            }
            return [SourceDocument(url: url, fileName: "rms-lists.zip")]
        }
        return try lists.map { list in
            guard !list.isEmpty, list.allSatisfy({ $0.isNumber }) else {
                throw Invalid(description: "sources.spor-rms.lists: \"\(list)\" is not an RMS list id (digits)")
            }
            return SourceDocument(url: url.replacingOccurrences(of: "{list}", with: list), fileName: "\(list).csv")
        }
    }

    static func schedule(_ name: SyncSourceName, _ config: ConfigReader, _ key: (String) -> [String]) throws
        -> SyncSchedule
    {
        if let cron = config.string(forKey: ConfigKey(key("cron"))) {
            do {
                return .cron(try CronExpression(parsing: cron))
            } catch {
                throw Invalid(description: "sources.\(name.rawValue).cron: \(error)")
            }
        }
        let interval = try double(config, key("interval"), minimum: 0.05) ?? name.defaultInterval
        let jitter = try double(config, key("jitter"), minimum: 0) ?? 0.1
        guard jitter < 1 else {
            throw Invalid(description: "sources.\(name.rawValue).jitter: expected 0...<1, got \(jitter)")
        }
        return .interval(seconds: interval, jitter: jitter)
    }

    static func checkURL(_ text: String, key: [String]) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else {
            throw Invalid(description: "\(key.joined(separator: ".")): expected an http(s) URL, got \"\(text)\"")
        }
    }

    // swift-configuration answers nil both for a missing and for an unconvertible value; the
    // `required…` accessors tell them apart, and only a missing one may fall back to a default.
    static func present<T>(_ key: [String], _ read: () throws -> T) throws -> T? {
        do {
            return try read()
        } catch {
            if "\(error)".hasPrefix("Missing required config value") { return nil }
            throw Invalid(description: "\(key.joined(separator: ".")): \(error)")
        }
    }

    static func int(_ config: ConfigReader, _ key: [String], range: ClosedRange<Int>) throws -> Int? {
        guard let value = try present(key, { try config.requiredInt(forKey: ConfigKey(key)) }) else { return nil }
        guard range.contains(value) else {
            throw Invalid(
                description:
                    "\(key.joined(separator: ".")): expected \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return value
    }

    static func double(_ config: ConfigReader, _ key: [String], minimum: Double) throws -> Double? {
        guard let value = try present(key, { try config.requiredDouble(forKey: ConfigKey(key)) }) else { return nil }
        guard value.isFinite, value >= minimum else {
            throw Invalid(description: "\(key.joined(separator: ".")): expected a number ≥ \(minimum), got \(value)")
        }
        return value
    }

    static func bool(_ config: ConfigReader, _ key: [String]) throws -> Bool? {
        try present(key, { try config.requiredBool(forKey: ConfigKey(key)) })
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        var s = Substring(self)
        while s.hasSuffix(suffix) { s = s.dropLast(suffix.count) }
        return s
    }
}
