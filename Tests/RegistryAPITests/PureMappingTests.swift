import Foundation
import RegistryCore
import RegistryStore
import Testing

@testable import RegistryAPI

/// The FHIR mappings and the subscription bodies are pure functions of typed records: tested here
/// without a database or a router (the router tests cover them in place).
@Suite
struct PureMappingTests {
    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    @Test func aPractitionerCarriesNIHIIsAndQualificationsNeverTheSSINOrBirthDate() throws {
        let document = try Self.json(
            """
            {"ssin":"80051712345","birthDate":"1980-05-17","firstName":"Jan","lastName":"Peeters","gender":"M",
             "languages":["nl"],"professions":[{"code":"10","from":"2005-01-01","nihii":"10012345678"}]}
            """)
        let resource = FHIRActorMapping.practitioner(
            id: "hcp-0123456789abcdef", document: document, nihii: ["10012345678"], changedAt: "2026-12-01T10:00:00Z")
        let text = resource.canonicalText
        #expect(!text.contains("80051712345") && !text.contains("1980-05-17"))
        #expect(resource["resourceType"]?.stringValue == "Practitioner")
        #expect(resource["gender"]?.stringValue == "male")
        #expect(resource["identifier"]?[0]?["value"]?.stringValue == "10012345678")
        #expect(resource["qualification"]?[0]?["period"]?["start"]?.stringValue == "2005-01-01")
        #expect(resource["meta"]?["lastUpdated"]?.stringValue == "2026-12-01T10:00:00Z")
    }

    @Test func aPracticeIsActiveUpToItsLastDayIncluded() throws {
        let practice = FHIRActorQueries.Practice(
            key: "P1", document: try Self.json(#"{"address":{"postcode":"1000"}}"#), professionalId: nil,
            profession: nil, institutionKey: nil, validFrom: LocalDate(iso: "2020-01-01"),
            validTo: LocalDate(iso: "2026-12-07"),
            changedAt: "2026-12-01T10:00:00Z")
        #expect(
            FHIRActorMapping.location(practice, today: LocalDate(iso: "2026-12-07")!)["status"]?.stringValue == "active"
        )
        #expect(
            FHIRActorMapping.location(practice, today: LocalDate(iso: "2026-12-08")!)["status"]?.stringValue
                == "inactive")
        #expect(
            FHIRActorMapping.practitionerRole(practice, today: LocalDate(iso: "2026-12-08")!)["active"] == .bool(false))
    }

    @Test func aSubstanceListsItsPreferredNameFirstThenItsSynonyms() throws {
        let resource = FHIRMedicineMapping.substance(
            id: "100000090003", document: try Self.json(#"{"name":"paracetamol","synonyms":["acetaminophen"]}"#))
        let names = resource["name"]?.items ?? []
        #expect(names.map { $0["name"]?.stringValue } == ["paracetamol", "acetaminophen"])
        #expect(names.map { $0["preferred"] } == [.bool(true), .bool(false)])
    }

    @Test func anUnknownMemberIsRefusedWithItsPointer() throws {
        let body = try Self.json(#"{"url":"https://example.org/hook","types":["sam.*"],"colour":"red"}"#).members
        #expect {
            _ = try CreateSubscriptionBody(body)
        } throws: { error in
            (error as? Problem)?.extensions["pointer"] == .string("/colour")
        }
    }

    @Test func aCreateBodyDecodesIntoItsTypedFields() throws {
        let body = try Self.json(
            #"{"url":"https://example.org/hook","types":["sam.dmpp.*"],"payload":"full","after":12}"#
        ).members
        let decoded = try CreateSubscriptionBody(body)
        #expect(decoded.url == "https://example.org/hook")
        #expect(decoded.types.map(\.description) == ["sam.dmpp.*"])
        #expect(decoded.payload == .full && decoded.after == 12 && decoded.description == nil)
    }

    @Test func aReplayAboveTheServersMaximumIsRefusedAsSuch() throws {
        let body = try Self.json(#"{"fromSeq":1,"limit":11}"#).members
        #expect(throws: ReplayBody.LimitAboveMaximum.self) { _ = try ReplayBody(body, maximum: 10) }
        #expect(try ReplayBody(body, maximum: 11).limit == 11)
        let backwards = try Self.json(#"{"fromSeq":5,"toSeq":4}"#).members
        #expect {
            _ = try ReplayBody(backwards, maximum: 10)
        } throws: { error in
            (error as? Problem)?.extensions["pointer"] == .string("/toSeq")
        }
    }

    @Test func aProviderLookupBodyDecodesItsDateAndRefusesAnythingElse() throws {
        let decoded = try ProviderLookupBody(try Self.json(#"{"ssin":"80051712345","at":"2026-12-07"}"#).members)
        #expect(decoded.ssin == "80051712345" && decoded.at == LocalDate(iso: "2026-12-07") && !decoded.history)
        for (text, pointer) in [
            (#"{"ssin":"80051712345","at":"7/12/2026"}"#, "/at"), (#"{"ssin":80051712345}"#, "/ssin"),
            (#"{"ssin":"80051712345","history":"yes"}"#, "/history"), (#"{"ssin":"1","name":"x"}"#, "/name"),
        ] {
            #expect(throws: Problem.self, "\(text)") { _ = try ProviderLookupBody(try Self.json(text).members) }
            do {
                _ = try ProviderLookupBody(try Self.json(text).members)
            } catch let problem as Problem {
                #expect(problem.extensions["pointer"] == .string(pointer), "\(text)")
            }
        }
    }
}
