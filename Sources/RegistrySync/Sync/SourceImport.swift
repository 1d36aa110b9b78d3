import Foundation
import Logging
import PostgresNIO
import RegistryImport

/// Imports downloaded files through the source's existing pipeline, like `registry import`
/// would: the sync adds nothing to how data is checked and applied.
enum SourceImport {
    static func run(
        _ source: SyncSourceName, paths: [String], client: PostgresClient, logger: Logger, maxDeleteShare: Double,
        progress: (@Sendable (String) -> Void)?
    ) async throws -> ImportSummary {
        switch source {
        case .sam:
            return try await SAMImportPipeline(client: client, logger: logger).run(
                paths: paths, options: SAMImportOptions(maxDeleteShare: maxDeleteShare, progress: progress))
        case .afmpsPharmacies:
            return try await PharmacyImportPipeline(client: client, logger: logger).run(
                path: paths[0], maxDeleteShare: maxDeleteShare)
        case .sporRMS:
            return try await RMSImportPipeline(client: client, logger: logger).run(
                paths: paths, maxDeleteShare: maxDeleteShare)
        case .sporSMS:
            return try await SMSImportPipeline(client: client, logger: logger).run(
                paths: paths, maxDeleteShare: maxDeleteShare)
        case .sporOMS:
            return try await OMSImportPipeline(client: client, logger: logger).run(
                paths: paths, maxDeleteShare: maxDeleteShare)
        case .cobrha:
            // Several snapshot files form one import: the pipeline reads the folder holding them.
            let path = paths.count == 1 ? paths[0] : (paths[0] as NSString).deletingLastPathComponent
            return try await CoBRHAImportPipeline(client: client, logger: logger).run(
                path: path, maxDeleteShare: maxDeleteShare)
        case .practices:
            return try await PracticeImportPipeline(client: client, logger: logger).run(
                path: paths[0], maxDeleteShare: maxDeleteShare)
        }
    }
}
