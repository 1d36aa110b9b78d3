import RegistryCore

/// Renders the entity an event is about, for subscriptions with `full` payloads.
///
/// The dispatcher knows events, not lookups; the API module implements this with the same code
/// that answers `GET href`, so a full payload is exactly what the lookup would return.
package protocol EventEntitySource: Sendable {
    /// The lookup answer for `href` with every validity slice, or nil when the entity no longer exists.
    func entity(href: String) async throws -> JSONValue?
}
