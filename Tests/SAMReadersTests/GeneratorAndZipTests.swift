import XMLStreaming
import Crypto
import Foundation
import TestDataGenerators
import RegistryCore
import Testing

@testable import SAMReaders

@Suite struct GeneratorAndZipTests {
    func sha256(_ path: String) throws -> String {
        hexString(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func sameSeedSameBytesAndPrefixesDifferPerFile() throws {
        let a = try temporaryDirectory()
        let b = try temporaryDirectory()
        let config = SAMGeneratorConfig(seed: 42, scale: 0.002)
        try SAMExportGenerator(config: config).write(to: a)
        try SAMExportGenerator(config: config).write(to: b)
        let files = try FileManager.default.contentsOfDirectory(atPath: a).filter { $0.hasSuffix(".xml") }.sorted()
        #expect(files.count == 9)
        for f in files { #expect(try sha256("\(a)/\(f)") == sha256("\(b)/\(f)"), "\(f)") }
        // The export namespace is bound to different prefixes in different files.
        var exportPrefixes = Set<String>()
        for f in files {
            let head = String(
                decoding: try Data(contentsOf: URL(fileURLWithPath: "\(a)/\(f)")).prefix(2000), as: UTF8.self)
            let match = try #require(head.firstMatch(of: /xmlns:(ns\d)="urn:be:fgov:ehealth:samws:v2:export"/))
            exportPrefixes.insert(String(match.1))
        }
        #expect(exportPrefixes.count > 1)
    }

    @Test func generatedExportReadsCleanAndHasTheRealShape() throws {
        let dir = try temporaryDirectory()
        try SAMExportGenerator(config: SAMGeneratorConfig(seed: 7, scale: 0.005)).write(to: dir)
        let input = try SAMInput.resolve(paths: [dir])
        #expect(input.kind == .folder && input.items.count == 9)
        var byType: [String: [VersionedEntity]] = [:]
        var findings: [QualityFinding] = []
        for item in input.items {
            let reader = try SAMDocumentReader(item: item)
            while let batch = reader.next() { for e in batch { byType[e.type, default: []].append(e) } }
            #expect(!reader.isRefused, "\(item.name)")
            findings += reader.drainFindings().findings
        }
        #expect(findings.allSatisfy { $0.severity < .error }, "\(findings.prefix(5))")
        // Reference tables live in the refdata namespace of the REF file and are read as entities.
        #expect((byType["atc_classification"]?.count ?? 0) > 100)
        #expect(byType["atc_classification"]?.first?.slices.first?.fields["Description"] != nil)
        let amps = try #require(byType["amp"])
        let ampps = try #require(byType["ampp"])
        let dmpps = try #require(byType["dmpp"])
        let ampSlices = Double(amps.map(\.slices.count).reduce(0, +)) / Double(amps.count)
        #expect(ampSlices > 1.5 && ampSlices < 3, "AMP slices per AMP: \(ampSlices)")
        #expect(Double(ampps.count) / Double(amps.count) > 3)
        // A and H DMPPs come in pairs that share a CNK.
        let hospitalCodes = Set(
            dmpps.filter { $0.keyValue("deliveryEnvironment") == "H" }.compactMap { $0.keyValue("code") })
        let ambulatoryCodes = Set(
            dmpps.filter { $0.keyValue("deliveryEnvironment") == "A" }.compactMap { $0.keyValue("code") })
        #expect(!hospitalCodes.isEmpty && hospitalCodes == ambulatoryCodes)
        // Slices unsorted somewhere, and some future-dated.
        #expect(ampps.contains { e in e.slices.map { $0.from! } != e.slices.map { $0.from! }.sorted() })
        let today = LocalDate(iso: "2026-11-27")!
        #expect(dmpps.contains { e in e.slices.contains { $0.from! > today } })
        #expect(
            amps.allSatisfy { e in
                e.slices.allSatisfy { $0.fields["Name"]?["Fr"] != nil && $0.fields["Name"]?["Nl"] != nil }
            })
    }

    @Test func zipIsStreamedEntryByEntryAndTruncationIsDetected() throws {
        let dir = try temporaryDirectory()
        try SAMExportGenerator(config: SAMGeneratorConfig(seed: 3, scale: 0.002)).write(to: dir, zip: true)
        let zip = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".zip") })
        let path = "\(dir)/\(zip)"
        let input = try SAMInput.resolve(paths: [path])
        #expect(input.kind == .zip && input.items.count == 9)
        let amp = try #require(input.items.first { $0.name.hasPrefix("AMP-") })
        var source = try amp.open()
        var total = 0
        while true {
            let chunk = try source.read(maxLength: 65_536)
            if chunk.isEmpty { break }
            total += chunk.count
        }
        #expect(UInt64(total) == amp.size)

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = try temporaryFile("cut.zip", contents: [UInt8](bytes.prefix(bytes.count * 2 / 3)))
        #expect {
            _ = try SAMInput.resolve(paths: [cut])
        } throws: { error in
            guard case InputError.truncatedZip = error else { return false }
            return true
        }
    }
}
