import DatabaseTestSupport
import Foundation
import RegistryImport
import PostgresNIO
import RegistryCore
import RegistryStore
import SharedSamples
import Testing

/// The real EMA RMS exports of `../shared` (BOM, `¦` multi-values, unquoted commas that shift
/// columns, line breaks inside quoted fields), imported into PostgreSQL.
@Suite(
    .enabled(if: SPORSamples.available, "../shared/reference/spor-samples is not present"),
    .timeLimit(.minutes(5)))
struct RMSImportTests {
    static let samples = SPORSamples.directory
    static let exports = SPORSamples.exports

    /// Counted independently with Python's csv module: rows per file whose "Is Main Term Source"
    /// is not one Y/N flag per mapping source (the shifted rows), and distinct term ids.
    static func independentCounts() async throws -> (shifted: Int, terms: Int) {
        let script = """
            import csv, io, re, sys, zipfile, os
            d = sys.argv[1]; shifted = 0; terms = set()
            for f in sorted(os.listdir(d)):
                p = os.path.join(d, f)
                if f.endswith('.zip'):
                    z = zipfile.ZipFile(p); texts = [z.read(n).decode('utf-8-sig') for n in z.namelist() if n.endswith('.csv')]
                else:
                    texts = [open(p, encoding='utf-8-sig', newline='').read()]
                for t in texts:
                    rows = list(csv.reader(io.StringIO(t, newline='')))
                    h = rows[0]; s = h.index('Mapping Source ID'); m = h.index('Is Main Term Source')
                    for r in rows[1:]:
                        terms.add(r[1])
                        n = len(r[s].split('\\u00a6')) if r[s] else 0
                        if n and not (re.fullmatch('[YN](\\u00a6[YN])*', r[m]) and len(r[m].split('\\u00a6')) == n):
                            shifted += 1
            print(shifted, len(terms))
            """
        let output = try await ChildProcess.python(script, [exports]).outputText
        let numbers = output.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return (numbers[0], numbers[1])
    }

    @Test func realExportsAreImportedWithShiftedRowsRepairedAndReported() async throws {
        let expected = try await Self.independentCounts()
        #expect(expected.shifted > 1000)
        try await TestDatabase.with { postgres, _ in
            let summary = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [
                Self.exports
            ])
            #expect(summary.outcome == .applied)
            #expect(summary.files.count == 7, "six CSVs and the zipped dose-form list")
            let repaired = try await postgres.scalar(
                "SELECT count(*) FROM import_finding WHERE run_id = \(summary.runId) AND rule = 'SPOR-RMS-COLUMNS-REPAIRED'",
                as: Int64.self)
            let unrepairable = try await postgres.scalar(
                "SELECT count(*) FROM import_finding WHERE run_id = \(summary.runId) AND severity IN ('error', 'fatal')",
                as: Int64.self)
            #expect(Int(repaired) == expected.shifted)
            #expect(unrepairable == 0)
            #expect(summary.counts["rms-term"]?.created == expected.terms)
            #expect(summary.eventsEmitted == expected.terms)

            // A repaired row: "Powder for suspension" kept whole, the flags where they belong.
            let doseForms = try await postgres.scalar(
                "SELECT count(*) FROM spor_rms_term WHERE list_id = '200000000004'", as: Int64.self)
            #expect(doseForms > 500)
            let statuses = try await postgres.strings("SELECT DISTINCT status FROM spor_rms_term ORDER BY 1")
            #expect(Set(statuses).isSubset(of: ["CURRENT", "NON_CURRENT", "NULLIFIED", "PROVISIONAL"]))
            let mains = try await postgres.scalar(
                """
                SELECT count(*) FROM spor_rms_term t, jsonb_array_elements(t.document -> 'sourceMappings') m
                WHERE m ->> 'code' IS NOT NULL AND jsonb_typeof(m -> 'main') <> 'boolean'
                """, as: Int64.self)
            #expect(mains == 0)

            // The same files again: nothing changes.
            let again = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [
                Self.exports
            ])
            #expect(again.eventsEmitted == 0 && again.totalChanged == 0)
        }
    }

    /// EDQM codes of the dose forms, units of presentation and other lists against the pairs the
    /// UNICOM project derived from the same exports (`derived/rms_en_terms_with_source_codes.csv`).
    @Test func edqmCodesAgreeWithTheIndependentDerivation() async throws {
        let derived = try String(
            contentsOf: Self.samples.appendingPathComponent("derived/rms_en_terms_with_source_codes.csv"),
            encoding: .utf8)
        var pairs: Set<String> = []
        for line in derived.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = CSVLine.fields(line)
            if fields.count > 7, !fields[7].isEmpty { pairs.insert("\(fields[1]) \(fields[7])") }
        }
        #expect(pairs.count > 400)
        let expected = pairs
        try await TestDatabase.with { postgres, _ in
            _ = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [Self.exports])
            let ours = Set(
                try await postgres.strings(
                    "SELECT term_id || ' ' || code FROM spor_rms_source_code WHERE source_id = '100000073361'"))
            let missing = expected.subtracting(ours).sorted()
            #expect(missing.isEmpty, "EDQM pairs of the derivation we lack: \(missing.prefix(10))")
        }
    }

    /// A list export that lost a tenth of its terms is refused; other lists are untouched either way.
    @Test func aListLosingMoreThanTheShareIsRefusedAndNothingChanges() async throws {
        let original = try String(
            contentsOfFile: "\(Self.exports)/200000000014.csv", encoding: .utf8)
        let lines =
            original.components(separatedBy: "\r\n").count > 2
            ? original.components(separatedBy: "\r\n") : original.components(separatedBy: "\n")
        // Term ids are the second field; rows of one term in every language go together.
        let termIds = Array(
            Set(lines.dropFirst().compactMap { $0.split(separator: ",", maxSplits: 2).dropFirst().first })
        )
        .sorted()
        let dropped = Set(termIds.prefix(termIds.count / 10 + 1))
        let shrunk = lines.filter { line in
            guard let id = line.split(separator: ",", maxSplits: 2).dropFirst().first else { return true }
            return !dropped.contains(id)
        }
        let dir = try TestDatabase.temporaryDirectory()
        try shrunk.joined(separator: "\n").write(toFile: "\(dir)/200000000014.csv", atomically: true, encoding: .utf8)
        try await TestDatabase.with { postgres, _ in
            let pipeline = RMSImportPipeline(client: postgres, logger: TestDatabase.logger)
            _ = try await pipeline.run(paths: [Self.exports])
            let before = try await postgres.strings("SELECT term_id || content_hash FROM spor_rms_term ORDER BY 1")
            await #expect(throws: ImportError.self) { try await pipeline.run(paths: ["\(dir)/200000000014.csv"]) }
            #expect(
                try await postgres.strings("SELECT term_id || content_hash FROM spor_rms_term ORDER BY 1") == before)
            let reason = try await postgres.strings(
                "SELECT refusal_reason FROM import_run WHERE domain = 'spor-rms' AND outcome = 'refused'")
            #expect(reason.count == 1)
            #expect(reason.first?.hasPrefix("200000000014 would delete \(dropped.count) of the ") == true, "\(reason)")
        }
    }
}
