import CZlib
import DatabaseTestSupport
import Foundation
import PostgresNIO
import RegistryStore
import Testing
import XMLStreaming

/// Hostile input to every importer, through the `registry` binary (issue 17, findings 4 and 5):
/// deep nesting, zip bombs, huge lines and invalid UTF-8 are refused with exit 3 and a specific
/// reason (or, for SMS names, rejected per substance), nothing is applied, and the bombs cost
/// less than 300 MB of peak RSS.
@Suite(.timeLimit(.minutes(10)))
struct HostileInputTests {
    static let peakLimitKiB = 300 * 1024

    /// `registry ARGUMENTS` under `/usr/bin/time`: exit status, output and peak RSS (KiB).
    static func run(_ arguments: [String], _ url: DatabaseURL, environment extra: [String: String] = [:])
        async throws -> (status: Int32, output: String, peakKiB: Int)
    {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("time-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url.urlString
        environment.merge(extra) { _, new in new }
        let finished = try await ChildProcess.run(
            "/usr/bin/time", ["-f", "%M", "-o", report, RegistryBinary.path] + arguments, environment: environment)
        let peak = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").last.flatMap { Int($0) }
        return (finished.status, finished.outputText + finished.errorText, peak ?? -1)
    }

    /// Every data table an importer writes, to prove that a refused run changed nothing.
    static func fingerprint(_ client: PostgresClient) async throws -> String {
        let providers = try await client.strings(
            """
            SELECT concat_ws(E'\\n',
              (SELECT string_agg(actor_type || actor_key || source || content_hash, ',' ORDER BY 1) FROM actor_fact),
              (SELECT string_agg(key || content_hash, ',' ORDER BY 1) FROM institution),
              (SELECT string_agg(key || content_hash, ',' ORDER BY 1) FROM practice),
              (SELECT string_agg(term_id || content_hash, ',' ORDER BY 1) FROM spor_rms_term),
              (SELECT string_agg(substance_id || content_hash, ',' ORDER BY 1) FROM spor_sms_substance),
              (SELECT string_agg(id || content_hash, ',' ORDER BY 1) FROM spor_oms_record))
            """
        ).joined()
        return try await client.dataFingerprint() + "\n--\n" + providers
    }

    /// Imports `arguments`, expects exit 3 with `reason` in the output, nothing changed, and
    /// (for bombs) a bounded peak RSS.
    static func expectRefused(
        _ arguments: [String], reason: String, client: PostgresClient, url: DatabaseURL,
        environment: [String: String] = [:], measure: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let before = try await fingerprint(client)
        let started = ContinuousClock.now
        let result = try await run(arguments, url, environment: environment)
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 3, "\(arguments): \(result.output)", sourceLocation: sourceLocation)
        #expect(
            result.output.contains(reason), "\(arguments) should say '\(reason)': \(result.output)",
            sourceLocation: sourceLocation)
        #expect(try await fingerprint(client) == before, "\(arguments) changed data", sourceLocation: sourceLocation)
        if measure {
            print(
                "peak RSS of registry \(arguments.prefix(2).joined(separator: " ")) (\(reason)): \(result.peakKiB / 1024) MB in \(elapsed)"
            )
            #expect(
                result.peakKiB > 0 && result.peakKiB <= peakLimitKiB, "peak RSS \(result.peakKiB) KiB",
                sourceLocation: sourceLocation)
        }
    }

    static func write(_ text: String, _ name: String) throws -> String {
        let path = try TestDatabase.temporaryDirectory() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func write(bytes: [UInt8], _ name: String) throws -> String {
        let path = try TestDatabase.temporaryDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A file of `size` bytes starting with `prefix`, the rest a hole (zeros that take no disk).
    static func sparse(_ prefix: String, size: UInt64, _ name: String) throws -> String {
        let path = try write(prefix, name)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: size)
        try handle.close()
        return path
    }

    /// `<a><a>…</a></a>` `depth` deep.
    static func nested(_ depth: Int, _ name: String = "Nested") -> String {
        String(repeating: "<\(name)>", count: depth) + String(repeating: "</\(name)>", count: depth)
    }

    static let tenGigabytes: UInt64 = 10 << 30

    // MARK: Nesting

    @Test func tenThousandNestedElementsAreRefusedBySAMAndCoBRHA() async throws {
        let base = try generatedExport(seed: 171, scale: 0.002)
        let amp = try #require(try FileManager.default.contentsOfDirectory(atPath: base).first { $0.hasPrefix("AMP") })
        var text = try String(contentsOfFile: "\(base)/\(amp)", encoding: .utf8)
        // Inside the first AMP, after its opening tag.
        let open = try #require(text.range(of: ":Amp ") ?? text.range(of: "<Amp "))
        let tagEnd = try #require(text.range(of: ">", range: open.upperBound..<text.endIndex))
        text.insert(contentsOf: Self.nested(10_000), at: tagEnd.upperBound)
        let deep = try TestDatabase.temporaryDirectory()
        try text.write(toFile: "\(deep)/\(amp)", atomically: true, encoding: .utf8)
        let cobrha = try Self.write(
            ProviderFixture.fpsHealth(
                extra:
                    "<c:HealthCareProfessional><c:SSIN>80051701197</c:SSIN>\(Self.nested(10_000, "c:Note"))</c:HealthCareProfessional>"
            ), "cobrha-fps-health.xml")
        try await TestDatabase.with { client, url in
            #expect(try await Self.run(["import", "sam", base], url).status == 0)
            try await Self.expectRefused(
                ["import", "sam", "\(deep)/\(amp)"], reason: "nested 65 levels deep inside <Amp>", client: client,
                url: url)
            try await Self.expectRefused(
                ["import", "cobrha", cobrha], reason: "nested 65 levels deep inside <HealthCareProfessional>",
                client: client, url: url)
        }
    }

    @Test func tenThousandNestedJSONArraysAreRefusedByTheJSONImporters() async throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let oms = try Self.write("{\"content\": \(deep)}", "oms.json")
        let pharmacies = try Self.write("[\n\(deep)]", "pharmacies.json")
        let practices = try Self.write("[\n\n\(deep)]", "practices.json")
        try await TestDatabase.with { client, url in
            try await Self.expectRefused(
                ["import", "spor-oms", oms], reason: "oms.json line 1: JSON nested more than 64 levels deep",
                client: client, url: url)
            try await Self.expectRefused(
                ["import", "pharmacies", pharmacies], reason: "line 2: JSON nested more than 64 levels deep",
                client: client, url: url)
            try await Self.expectRefused(
                ["import", "practices", practices],
                reason: "practices.json line 3: JSON nested more than 64 levels deep",
                client: client, url: url)
        }
    }

    // MARK: Zip bombs

    /// A raw deflate stream of `prefix`, then `fillCount` bytes of `fill`, then `suffix`: a block of
    /// 16 MiB of `fill` is compressed once (flushed so that it stands alone) and repeated, so a
    /// 10 GB stream costs ~10 MB and milliseconds.
    static func deflateBomb(prefix: [UInt8], fill: UInt8, fillCount: UInt64, suffix: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(
            &stream, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        func compress(_ input: [UInt8], flush: Int32) -> [UInt8] {
            var input = input
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            input.withUnsafeMutableBufferPointer { inBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                repeat {
                    let produced = buffer.withUnsafeMutableBufferPointer { outBuf -> Int in
                        stream.next_out = outBuf.baseAddress
                        stream.avail_out = UInt32(outBuf.count)
                        deflate(&stream, flush)
                        return outBuf.count - Int(stream.avail_out)
                    }
                    out += buffer[..<produced]
                } while stream.avail_out == 0
            }
            return out
        }
        let block: UInt64 = 16 << 20
        var bytes = compress(prefix, flush: Z_FULL_FLUSH)
        let repeated = compress([UInt8](repeating: fill, count: Int(block)), flush: Z_FULL_FLUSH)
        for _ in 0..<(fillCount / block) { bytes += repeated }
        bytes += compress(suffix, flush: Z_FINISH)
        return bytes
    }

    /// A zip of one deflated entry that declares `declaredSize` (Zip64 when it needs to).
    static func zip(entry name: String, declaredSize: UInt64, deflated: [UInt8], to fileName: String) throws -> String {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: UInt64) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
        func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> (8 * $0) & 0xFF) } }
        let nameBytes = Array(name.utf8)
        let zip64 = declaredSize >= 0xFFFF_FFFF
        let size32 = zip64 ? 0xFFFF_FFFF : declaredSize
        var out: [UInt8] = [0x50, 0x4B, 0x03, 0x04] + le16(20) + le16(0) + le16(8) + le16(0) + le16(0)
        out += le32(0) + le32(UInt64(deflated.count)) + le32(size32) + le16(nameBytes.count) + le16(0) + nameBytes
        out += deflated
        let directoryOffset = UInt64(out.count)
        let extra: [UInt8] = zip64 ? le16(1) + le16(8) + le64(declaredSize) : []
        var directory: [UInt8] = [0x50, 0x4B, 0x01, 0x02] + le16(45) + le16(45) + le16(0) + le16(8) + le16(0) + le16(0)
        directory += le32(0) + le32(UInt64(deflated.count)) + le32(size32) + le16(nameBytes.count) + le16(extra.count)
        directory += le16(0) + le16(0) + le16(0) + le32(0) + le32(0) + nameBytes + extra
        out += directory
        out += [0x50, 0x4B, 0x05, 0x06] + le16(0) + le16(0) + le16(1) + le16(1)
        out += le32(UInt64(directory.count)) + le32(directoryOffset) + le16(0)
        return try write(bytes: out, fileName)
    }

    /// Both kinds of bomb for one entry: one declaring 4 KB that inflates to 10 GB, one declaring
    /// the 10 GB it holds.
    static func bombs(entry: String, prefix: String, fill: UInt8, suffix: String) throws -> (
        lying: String, honest: String
    ) {
        let stream = deflateBomb(
            prefix: Array(prefix.utf8), fill: fill, fillCount: tenGigabytes, suffix: Array(suffix.utf8))
        let total = UInt64(prefix.utf8.count + suffix.utf8.count) + tenGigabytes
        return (
            try zip(entry: entry, declaredSize: 4096, deflated: stream, to: "lying.zip"),
            try zip(entry: entry, declaredSize: total, deflated: stream, to: "honest.zip")
        )
    }

    @Test func zipBombsAreRefusedBySAMAndSPORWithinBoundedMemory() async throws {
        let base = try generatedExport(seed: 172, scale: 0.002)
        let sam = try Self.bombs(
            entry: "AMP-1.xml",
            prefix:
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ns4:ExportActualMedicines xmlns:ns4=\"urn:be:fgov:ehealth:samws:v2:export\"><ns4:Amp code=\"SAM000001-00\">",
            fill: 0x20, suffix: "</ns4:Amp></ns4:ExportActualMedicines>")
        let sms = try Self.bombs(
            entry: "substances.csv", prefix: "substance_code,substance_name\n", fill: 0x0A, suffix: "")
        let rms = try Self.bombs(entry: "100000000004.csv", prefix: "List ID,Term ID\n", fill: 0x0A, suffix: "")
        let oms = try Self.bombs(entry: "oms.json", prefix: "[", fill: 0x20, suffix: "]")
        #expect((try FileManager.default.attributesOfItem(atPath: sam.lying)[.size] as! UInt64) < 20 << 20)
        try await TestDatabase.with { client, url in
            #expect(try await Self.run(["import", "sam", base], url).status == 0)
            for (command, pair) in [("sam", sam), ("spor-sms", sms), ("spor-rms", rms), ("spor-oms", oms)] {
                try await Self.expectRefused(
                    ["import", command, pair.lying], reason: "inflates beyond its declared 4096 bytes", client: client,
                    url: url, measure: true)
                try await Self.expectRefused(
                    ["import", command, pair.honest],
                    reason: "more than the 4294967296 allowed (REGISTRY_MAX_ZIP_ENTRY_MB)",
                    client: client, url: url, measure: true)
            }
            // Under a larger cap the ratio still gives the 10 GB entry away.
            try await Self.expectRefused(
                ["import", "spor-sms", sms.honest], reason: "a ratio above 200:1 (REGISTRY_MAX_ZIP_RATIO",
                client: client, url: url, environment: ["REGISTRY_MAX_ZIP_ENTRY_MB": "20000"], measure: true)
        }
    }

    /// The importers that take no zip read one file: a 10 GB one (a hole on disk) is refused
    /// before it is read into memory, and a CoBRHA record with millions of children is refused
    /// once its tree passes the entity limit.
    @Test func hugeFilesAndEntitiesAreRefusedByTheProviderImportersWithinBoundedMemory() async throws {
        let pharmacies = try Self.sparse("[", size: Self.tenGigabytes, "pharmacies.json")
        let practices = try Self.sparse("[", size: Self.tenGigabytes, "practices.json")
        let children = String(repeating: "<c:Note/>", count: 300_000)
        let cobrha = try Self.write(
            ProviderFixture.fpsHealth(
                extra: "<c:HealthCareProfessional><c:SSIN>80051701197</c:SSIN>\(children)</c:HealthCareProfessional>"),
            "cobrha-fps-health.xml")
        try await TestDatabase.with { client, url in
            try await Self.expectRefused(
                ["import", "pharmacies", pharmacies], reason: "(REGISTRY_MAX_DOCUMENT_MB); refused", client: client,
                url: url, measure: true)
            try await Self.expectRefused(
                ["import", "practices", practices], reason: "(REGISTRY_MAX_DOCUMENT_MB); refused", client: client,
                url: url, measure: true)
            try await Self.expectRefused(
                ["import", "cobrha", cobrha], reason: "holds more than 10485760 bytes", client: client, url: url,
                environment: ["REGISTRY_MAX_ENTITY_MB": "10"], measure: true)
        }
    }

    // MARK: Huge lines

    @Test func aLineLongerThanTheLimitIsRefusedWithoutReadingItAll() async throws {
        let longLine = String(repeating: "x", count: (1 << 20) + 10)
        let rms = try Self.write("List ID,Term ID,Language\n100000000004,\(longLine)\n", "100000000004.csv")
        let sms = try Self.write("substance_code,substance_name\n100000090000,\(longLine)\n", "substance.csv")
        // More than 2 GB on one line, a hole on disk: refused after the first MiB.
        let practices = try Self.sparse(ProviderFixture.header + "\n1,", size: 3 << 30, "practices.csv")
        let omsLine = try Self.sparse("[", size: 3 << 30, "oms.json")
        try await TestDatabase.with { client, url in
            try await Self.expectRefused(
                ["import", "spor-rms", rms],
                reason: "100000000004.csv line 2: longer than 1048576 bytes (REGISTRY_MAX_LINE_KB)",
                client: client, url: url)
            try await Self.expectRefused(
                ["import", "spor-sms", sms], reason: "substance.csv line 2: longer than 1048576 bytes", client: client,
                url: url)
            try await Self.expectRefused(
                ["import", "practices", practices], reason: "practices.csv line 2: longer than 1048576 bytes",
                client: client, url: url, measure: true)
            try await Self.expectRefused(
                ["import", "spor-oms", omsLine], reason: "(REGISTRY_MAX_DOCUMENT_MB); refused", client: client,
                url: url, measure: true)
        }
    }

    // MARK: Invalid UTF-8

    @Test func invalidUTF8IsRefusedWithFileAndLineOrRejectedPerSubstance() async throws {
        let bad: [UInt8] = [0xC3, 0x28, 0xFF]
        func file(_ text: String, invalidAt marker: String, _ name: String) throws -> String {
            let parts = text.components(separatedBy: marker)
            return try Self.write(bytes: Array(parts[0].utf8) + bad + Array(parts[1].utf8), name)
        }
        let practice = ProviderFixture.Practice(
            id: "P-1", nihii: ProviderFixture.people[0].nihii, postcode: "1000", latitude: 50.85, longitude: 4.35)
        let practices = try file(
            ProviderFixture.practicesCSV([practice]).replacingOccurrences(of: "Wetstraat", with: "Wet@@straat"),
            invalidAt: "@@", "practices.csv")
        let rms = try file(
            "List ID,Term ID,Language,Term Name,Term Status,Mapping Source ID,Mapping Source Term ID\n100000000004,100000000005,en,Ta@@blet,CURRENT,,\n",
            invalidAt: "@@", "100000000004.csv")
        let cobrha = try file(
            ProviderFixture.fpsHealth().replacingOccurrences(of: ">Jan<", with: ">J@@an<"), invalidAt: "@@",
            "cobrha-fps-health.xml")
        let oms = try file(
            #"[{"orgId": "ORG-100000001", "orgName": "Pha@@rma", "orgStatus": "ACTIVE"}]"#, invalidAt: "@@", "oms.json")
        let pharmacies = try file(
            #"[{"authorization_id": "913007", "name": "Pha@@rmacie"}]"#, invalidAt: "@@", "pharmacies.json")
        let base = try generatedExport(seed: 173, scale: 0.002)
        let cpn = try #require(try FileManager.default.contentsOfDirectory(atPath: base).first { $0.hasPrefix("CPN") })
        let companies = try String(contentsOfFile: "\(base)/\(cpn)", encoding: .utf8)
        let nameEnd = try #require(companies.range(of: "</"))
        var samText = companies
        samText.insert(contentsOf: "@@", at: nameEnd.lowerBound)
        let sam = try file(samText, invalidAt: "@@", cpn)
        let smsList = try SMSImportTests.list(3)
        let smsBad = try file(
            "substance_code,substance_name,moiety_code,moiety_name\r\n100000090000,\"substance 0, hydro@@chloride\",,\r\n100000090001,\"substance 1, hydrochloride\",,\r\n100000090002,\"substance 2, hydrochloride\",,\r\n",
            invalidAt: "@@", "substance.csv")
        try await TestDatabase.with { client, url in
            #expect(try await Self.run(["import", "sam", base], url).status == 0)
            try await Self.expectRefused(["import", "sam", sam], reason: "\(cpn)", client: client, url: url)
            try await Self.expectRefused(
                ["import", "practices", practices], reason: "practices.csv line 2: not valid UTF-8", client: client,
                url: url)
            try await Self.expectRefused(
                ["import", "spor-rms", rms], reason: "100000000004.csv: line 2 is not valid UTF-8", client: client,
                url: url)
            try await Self.expectRefused(
                ["import", "cobrha", cobrha], reason: "cobrha-fps-health.xml", client: client, url: url)
            try await Self.expectRefused(["import", "spor-oms", oms], reason: "oms.json", client: client, url: url)
            try await Self.expectRefused(
                ["import", "pharmacies", pharmacies], reason: "pharmacies.json", client: client, url: url)
            // SMS: the substance whose name is not UTF-8 is rejected, its stored version stays.
            #expect(try await Self.run(["import", "spor-sms", smsList], url).status == 0)
            let before = try await SMSImportTests.stored(client)
            let result = try await Self.run(["import", "spor-sms", smsBad], url)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("SPOR-SMS-ENCODING"), "\(result.output)")
            #expect(try await SMSImportTests.stored(client) == before)
        }
    }
}
