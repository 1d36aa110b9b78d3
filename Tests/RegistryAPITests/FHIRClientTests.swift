import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryAPI
import RegistryCore
import RegistryStore
import SAMReaders
import Testing

/// Every FHIR resource type we serve, read and searched over real HTTP, validated by the
/// independent Python `fhir.resources` R5 models and searched through the `fhirpy` client, which
/// follows our `next` links itself (`ops/fhir/fhir_check.py`; ops/test.sh installs both).
@Suite(.timeLimit(.minutes(5)))
struct FHIRClientTests {
    struct Report: Decodable {
        struct Read: Decodable {
            var path: String
            var status: Int
            var contentType: String?
            var resourceType: String?
            var valid: Bool
            var errors: [String]
        }
        struct Search: Decodable {
            var resource: String
            var ids: [String?]
            var types: [String]
            var total: Int?
            var modes: [String?]
            var valid: Bool
            var errors: [String]
        }
        var reads: [Read]
        var searches: [Search]
    }

    static func check(port: Int, plan: Data) async throws -> Report {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fhir-plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try plan.write(to: file)
        let checked = try await ChildProcess.run(
            "/usr/bin/env",
            [
                "python3", TestDatabase.packageRoot.appendingPathComponent("ops/fhir/fhir_check.py").path,
                "--base", "http://127.0.0.1:\(port)/fhir", "--plan", file.path,
            ])
        #expect(
            checked.status == 0,
            "fhir_check.py failed (are fhir.resources and fhirpy installed?): \(checked.errorText)")
        return try JSONDecoder().decode(Report.self, from: checked.output)
    }

    @Test func everyResourceTypeValidatesAsR5AndFhirpySearchesIt() async throws {
        let export = try generatedExport(seed: 9, scale: 0.004)
        let rms = try IDMPMappingTests.rmsExport()
        let (sms, smsIds) = try IDMPMappingTests.smsList()
        let folder = try ProviderFixture.folder([
            "fps.xml": ProviderFixture.fpsHealth(), "riziv.xml": ProviderFixture.rizivInami(),
        ])
        let register = try ProviderFixture.folder([
            "practices.csv": ProviderFixture.practicesCSV(ProviderAPITests.practices())
        ])
        try await TestDatabase.with { postgres, _ in
            let logger = TestDatabase.logger
            _ = try await SAMImportPipeline(client: postgres, logger: logger).run(
                input: try SAMInput.resolve(paths: [export]))
            _ = try await RMSImportPipeline(client: postgres, logger: logger).run(paths: [rms])
            _ = try await SMSImportPipeline(client: postgres, logger: logger).run(paths: [sms])
            _ = try await CoBRHAImportPipeline(client: postgres, logger: logger).run(path: folder)
            _ = try await PracticeImportPipeline(client: postgres, logger: logger).run(path: register)
            // What the plan reads, picked from the data by plain SQL.
            let amp = try await postgres.strings(
                """
                SELECT a.entity_key FROM sam_entity a WHERE a.entity_type = 'amp'
                  AND EXISTS (SELECT 1 FROM idmp_amp(ARRAY[a.entity_key], current_date) i
                              WHERE jsonb_array_length(i.idmp -> 'components') > 0)
                ORDER BY 1 LIMIT 1
                """)[0]
            let cnk = try await postgres.strings(
                """
                SELECT split_part(d.entity_key, '|', 3) FROM sam_entity d JOIN sam_entity p
                  ON p.entity_type = 'ampp' AND p.entity_key = d.parent_key
                WHERE d.entity_type = 'dmpp' AND d.entity_key LIKE 'P|CNK|%' AND p.parent_key = \(amp) LIMIT 1
                """)[0]
            let practitioner = try await postgres.strings(
                "SELECT replace(id, '_', '-') FROM professional ORDER BY id LIMIT 1")[0]
            let company = try await postgres.strings(
                "SELECT entity_key FROM sam_entity WHERE entity_type = 'company' ORDER BY 1 LIMIT 1")[0]
            let substance = smsIds["Paracetamol"]!
            let plan: [String: Any] = [
                "reads": [
                    "metadata", "MedicinalProductDefinition/\(amp)", "MedicinalProductDefinition?name=a&_count=3",
                    "ManufacturedItemDefinition/\(amp)-1", "Ingredient?for=MedicinalProductDefinition/\(amp)",
                    "PackagedProductDefinition?identifier=\(cnk)", "SubstanceDefinition/\(substance)",
                    "SubstanceDefinition?name=para", "CodeSystem/rms-200000000004",
                    "CodeSystem/$lookup?system=https://spor.ema.europa.eu/v1/lists/200000000004&code=900000000001",
                    "Practitioner/\(practitioner)", "Practitioner?family=desmet",
                    "PractitionerRole?_count=4&_include=PractitionerRole:practitioner&_include=PractitionerRole:location",
                    "Location/P1", "Organization/company-\(company)", "Organization?type=company&_count=2",
                    "Patient/1", "Location?near=91|4", "Practitioner?shoe-size=42",
                ],
                "searches": [
                    [
                        "resource": "Location",
                        "params": [
                            "near": "\(ProviderAPITests.centre.latitude)|\(ProviderAPITests.centre.longitude)|1.5|km",
                            "_count": "4", "_total": "accurate",
                        ], "max": 100,
                    ],
                    ["resource": "Practitioner", "params": ["name:contains": "smet"], "max": 50],
                    ["resource": "PackagedProductDefinition", "params": ["identifier": cnk], "max": 10],
                    [
                        "resource": "PractitionerRole",
                        "params": [
                            "_include": ["PractitionerRole:practitioner", "PractitionerRole:location"], "_count": "5",
                        ],
                        "max": 100,
                    ],
                ],
            ]
            let planJSON = try JSONSerialization.data(withJSONObject: plan)
            let app = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(port: 0, logLevel: .warning), logger: logger,
                runsClient: false)
            try await app.test(.live) { client in
                let report = try await Self.check(port: try #require(client.port), plan: planJSON)
                // Every body, resources and errors alike, is valid R5 and FHIR JSON.
                for read in report.reads {
                    #expect(read.valid, "\(read.path): \(read.errors.prefix(3))")
                    #expect(read.contentType == "application/fhir+json", "\(read.path)")
                }
                let statuses = Dictionary(uniqueKeysWithValues: report.reads.map { ($0.path, $0.status) })
                #expect(statuses["Patient/1"] == 404)
                #expect(statuses["Location?near=91|4"] == 400)
                #expect(statuses["Practitioner?shoe-size=42"] == 400)
                #expect(report.reads.filter { $0.status != 200 }.allSatisfy { $0.resourceType == "OperationOutcome" })
                #expect(report.reads.filter { $0.status == 200 }.count == report.reads.count - 3)
                let types = Set(report.reads.compactMap(\.resourceType))
                for type in [
                    "CapabilityStatement", "MedicinalProductDefinition", "ManufacturedItemDefinition", "Bundle",
                    "SubstanceDefinition", "CodeSystem", "Parameters", "Practitioner", "Location", "Organization",
                ] {
                    #expect(types.contains(type), "\(type) read")
                }

                for search in report.searches {
                    #expect(search.valid, "\(search.resource): \(search.errors.prefix(3))")
                }
                // fhirpy, following our next links 4 at a time, gets every practice within 1.5 km
                // (haversine, computed in ProviderAPITests), nearest first.
                let expected = ProviderAPITests.practices().filter { $0.validTo.isEmpty }.map {
                    ($0.id, ProviderAPITests.haversine(ProviderAPITests.centre, ($0.latitude, $0.longitude)))
                }.filter { $0.1 <= 1.5 }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
                #expect(report.searches[0].ids.compactMap { $0 } == expected)
                #expect(report.searches[0].total == expected.count)
                // "smet" is in De Smet, Desmet (not Desmedt).
                #expect(report.searches[1].ids.count == 2)
                #expect(report.searches[2].ids.count >= 1)
                // The role page carries its includes after the matches.
                let modes = report.searches[3].modes.compactMap { $0 }
                #expect(modes.prefix(5).allSatisfy { $0 == "match" } && modes.dropFirst(5).contains("include"))
                #expect(Set(report.searches[3].types) == ["PractitionerRole"])
            }
        }
    }
}
