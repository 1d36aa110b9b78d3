import Hummingbird
import Logging
import PostgresNIO
import RegistryCore
import RegistryStore

/// `/fhir`: FHIR R5 (JSON) for medicines, SPOR and healthcare actors, read and search only.
/// `GET /fhir/metadata` is the CapabilityStatement of exactly these routes.
struct FHIRRoutes<Context: RegistryContext>: Sendable {
    let client: PostgresClient
    let cache: ResponseCache
    /// The in-memory practice search, which answers `near` searches when it is current.
    let practiceSearch: PracticeSearchService?
    let logger: Logger
    var clock = RegistryClock.system
    var today: LocalDate { clock.today }

    func register(on routes: RouteRegistrar<Context>) {
        routes.get("/fhir/metadata") { request, _ in
            try await FHIR.serve(request, cache: cache, today: today) {
                _ = try FHIRSearch(request, supported: ["mode": []])
                return FHIR.response(
                    FHIRCapabilities.statement(base: FHIR.base(request), software: "registry"), request: request)
            }
        }
        FHIRMedicineRoutes<Context>(client: client, cache: cache, logger: logger, clock: clock).register(on: routes)
        FHIRActorRoutes<Context>(
            client: client, cache: cache, practiceSearch: practiceSearch, logger: logger, clock: clock
        )
        .register(on: routes)
    }
}
