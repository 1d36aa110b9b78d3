import Foundation
import RegistryCore
import SharedSamples
import Testing

@testable import SAMReaders

/// The real SAM fragments of ../shared (skipped, with this reason, where ../shared is absent).
@Suite(.enabled(if: SharedSamples.available, "../shared/reference/samv2-samples is not present"))
struct RealFragmentTests {
    @Test func haldolHasPublicAndHospitalDmppsSharingACnk() throws {
        let result = try readDocument(SharedSamples.haldolExport(), chunkSize: 4096)
        #expect(!result.refused)
        #expect(result.kind == .amp)
        let amp = try #require(result.entities.first { $0.type == "amp" })
        #expect(amp.key == "SAM000025-00")
        #expect(amp.attributes["vmpCode"] == "16469")
        #expect(amp.slices.count == 4)
        #expect(amp.slices.contains { $0.from?.description == "1961-07-01" && $0.to?.description == "1961-07-01" })
        let company = try #require(amp.slices.first?.fields["Company"])
        #expect(company["@actorNr"] == .string("01028"))

        let dmpps = result.entities.filter { $0.type == "dmpp" }
        let a = try #require(dmpps.first { $0.key == "A|CNK|0708289" })
        let h = try #require(dmpps.first { $0.key == "H|CNK|0708289" })
        let p = try #require(dmpps.first { $0.key == "P|CNK|0046128" })
        #expect(a.attributes["ProductId"] == h.attributes["ProductId"])
        func price(_ e: VersionedEntity, on day: String) -> String? {
            let d = LocalDate(iso: day)!
            return e.slices.first { $0.period?.contains(d) ?? false }?.fields["Price"]?.stringValue
        }
        #expect(price(a, on: "2024-01-01") == "0.6380")
        #expect(price(h, on: "2024-01-01") == "0.5240")
        #expect(price(p, on: "2022-03-15") == "7.8700")
        #expect(price(p, on: "2021-06-01") == "7.8200")
        #expect(price(p, on: "2016-01-01") == nil, "the 1961–2016 slice carries no price")
        #expect(p.parentType == "ampp")
        // Every AMPP of the fragment is read with its CTI-extended key.
        let ampps = result.entities.filter { $0.type == "ampp" }.map(\.key)
        #expect(ampps.contains("000025-01") && ampps.contains("000025-02"))
        #expect(result.findings.allSatisfy { $0.severity < .error }, "\(result.findings)")
    }

    @Test func vmpFragmentKeepsEmbeddedGroupAsFields() throws {
        let result = try readDocument(SharedSamples.vmpExport(), name: "VMP-1.xml", chunkSize: 1000)
        #expect(!result.refused)
        let vmp = try #require(result.entities.first { $0.type == "vmp" })
        #expect(vmp.key == "16378")
        let name = try #require(vmp.slices.first?.fields["Name"])
        #expect(name["Fr"] == .string("Groupe Toplexil sirop, solution (or.)"))
        #expect(vmp.slices.first?.fields["VmpGroup"]?["@code"] == .string("15313"))
        #expect(result.entities.contains { $0.type == "vmp_component" && $0.key == "16378/16378" })
    }
}
