import DatabaseTestSupport
import Foundation
import HummingbirdTesting
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryImport
import RegistryStore
import Testing

/// "Today" comes from the injected clock, in Brussels: a practice valid until 7 December 2026 is
/// active at 23:59:59 in Brussels that day (22:59:59 UTC in winter) and inactive one second later,
/// through the real router.
@Suite(.timeLimit(.minutes(5)))
struct TodayInBrusselsTests {
    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func todayIsTheDateInBrusselsOnBothSidesOfMidnightAndOfSummerTime() {
        #expect(RegistryClock.fixed(Self.instant("2026-12-07T22:59:59Z")).today.description == "2026-12-07")
        #expect(RegistryClock.fixed(Self.instant("2026-12-07T23:00:00Z")).today.description == "2026-12-08")
        #expect(RegistryClock.fixed(Self.instant("2026-06-30T21:59:59Z")).today.description == "2026-06-30")
        #expect(RegistryClock.fixed(Self.instant("2026-06-30T22:00:00Z")).today.description == "2026-07-01")
    }

    @Test func aPracticeEndingTodayIsActiveUntilMidnightInBrussels() async throws {
        let person = ProviderFixture.people[0]
        var practice = ProviderFixture.Practice(
            id: "MID", nihii: person.nihii, postcode: "1000", latitude: 50.85, longitude: 4.35)
        practice.validTo = "2026-12-07"
        let folder = try ProviderFixture.folder(["fps.xml": ProviderFixture.fpsHealth([person])])
        let register = try ProviderFixture.folder(["practices.csv": ProviderFixture.practicesCSV([practice])])
        try await TestDatabase.with { postgres, _ in
            _ = try await CoBRHAImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: folder)
            _ = try await PracticeImportPipeline(client: postgres, logger: TestDatabase.logger).run(path: register)
            for (instant, active) in [("2026-12-07T22:59:59Z", true), ("2026-12-07T23:00:00Z", false)] {
                var settings = ServerSettings(logLevel: .warning, cacheBytes: 0)
                settings.clock = .fixed(Self.instant(instant))
                let app = try RegistryApplication.make(
                    client: postgres, settings: settings, logger: TestDatabase.logger, runsClient: false,
                    practiceSearch: RegistryApplication.practiceSearchService(
                        client: postgres, enabled: false, logger: TestDatabase.logger))
                try await app.test(.router) { client in
                    let api = APIClient(client: client)
                    let location = try await api.get("/fhir/Location/MID")
                    #expect(location.status == .ok, "\(instant)")
                    #expect(location.json["status"].string == (active ? "active" : "inactive"), "\(instant)")
                    let role = try await api.get("/fhir/PractitionerRole/MID")
                    #expect(role.json["active"].bool == active, "\(instant)")
                }
            }
        }
    }
}
