import Logging
import PostgresNIO
import RegistryCore

/// The IDMP view of SAM (migration 0014): an AMP's dose forms, routes, active substances and
/// units as RMS terms and SMS substances, an AMPP's packaging, and the coverage report. Computed
/// from the imported data on each call, so it follows every SAM, RMS and SMS import.
package struct IDMPQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The AMP's IDMP codes on `at`, or nil when it has no slice then.
    package func amp(code: String, at: LocalDate) async throws -> JSONValue? {
        try await first("SELECT idmp::text FROM idmp_amp(ARRAY[\(code)], \(at.description)::date)")
    }

    /// The packaging of the AMPP's components valid on `at`.
    package func packaging(ctiExtended: String, at: LocalDate) async throws -> JSONValue {
        try await first("SELECT idmp_ampp_packaging(\(ctiExtended), \(at.description)::date)::text") ?? .array([])
    }

    /// The coverage of the AMPs valid on `at`, with the `blockerLimit` blockers holding back most AMPs.
    package func coverage(at: LocalDate, blockerLimit: Int) async throws -> JSONValue {
        try await first("SELECT idmp_coverage(\(at.description)::date, \(blockerLimit)::int)::text") ?? .null
    }

    private func first(_ query: PostgresQuery) async throws -> JSONValue? {
        for try await text in try await client.query(query, logger: logger).decode(String?.self) {
            return try text.map(JSONValue.parse)
        }
        return nil
    }
}
