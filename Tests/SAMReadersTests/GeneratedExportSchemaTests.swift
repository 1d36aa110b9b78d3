import Foundation
import SharedSamples
import TestDataGenerators
import Testing

/// `registry generate sam` writes what the official SAM v2 6.0.2 XSD accepts, except the
/// deviations real exports have (``KnownSchemaDeviation``): checked by an independent validator,
/// libxml2's `xmllint --schema`.
@Suite(.enabled(if: SharedSamples.xsdAvailable, "needs ../shared/reference/samv2-xsd"))
struct GeneratedExportSchemaTests {
    @Test(arguments: [(UInt64(5), 0.003), (UInt64(6), 0.002)])
    func everyFileOfAGeneratedExportValidatesExceptTheKnownDeviations(seed: UInt64, scale: Double) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xsd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SAMExportGenerator(config: SAMGeneratorConfig(seed: seed, scale: scale)).write(to: folder.path)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".xml") }
        #expect(files.count == 9)
        let known = Set(KnownSchemaDeviation.all.map(\.element))
        for file in files.sorted() {
            let (status, output) = try Self.xmllint(folder.appendingPathComponent(file).path)
            let errors = output.split(separator: "\n").filter { $0.contains("Schemas validity error") }
            let unexpected = errors.filter { line in
                guard let element = Self.element(of: line) else { return true }
                return !known.contains(element)
            }
            #expect(unexpected.isEmpty, "\(file): \(unexpected.count) errors, first: \(unexpected.prefix(5))")
            // xmllint's verdict agrees: a file with no error at all validates.
            if errors.isEmpty { #expect(status == 0, "\(file): \(output.suffix(500))") }
        }
    }

    /// The check itself: a misplaced element in a generated file is reported (so an empty list
    /// above means valid, not "xmllint did not run").
    @Test func aMisplacedElementIsReported() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xsd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SAMExportGenerator(config: SAMGeneratorConfig(seed: 7, scale: 0.002)).write(to: folder.path)
        let cpn = try #require(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).first { $0.hasPrefix("CPN-") })
        let path = folder.appendingPathComponent(cpn).path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let denomination = try #require(text.range(of: "Denomination>"))
        text.insert(contentsOf: "Bogus/><", at: text.index(before: denomination.lowerBound))
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try Self.xmllint(path)
        #expect(status != 0)
        #expect(output.contains("Bogus"), "\(output.prefix(500))")
    }

    static func element(of line: Substring) -> String? {
        guard let start = line.range(of: "}")?.upperBound ?? line.range(of: "Element '")?.upperBound,
            let end = line[start...].firstIndex(of: "'")
        else { return nil }
        return String(line[start..<end])
    }

    static func xmllint(_ path: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--schema", SharedSamples.exportXSD.path, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
