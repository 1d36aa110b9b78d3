import DatabaseTestSupport
import Foundation
import RegistryImport
import RegistryCore
import RegistryStore
import SharedSamples
import Testing

/// `/v1/spor/...` through the real router. RMS answers are checked against UNICOM's independent
/// derivation of the same exports (`derived/rms_en_terms_with_source_codes.csv`: list, term,
/// status, English name, EDQM code per term).
@Suite(.timeLimit(.minutes(5)))
struct SPORAPITests {
    struct DerivedTerm {
        var listId: String
        var termId: String
        var status: String
        var name: String
        var edqm: String
        var currentTermId: String
    }

    static func derivedTerms() throws -> [DerivedTerm] {
        let text = try String(
            contentsOf: SPORSamples.directory.appendingPathComponent("derived/rms_en_terms_with_source_codes.csv"),
            encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = CSVLine.fields(line)
            guard f.count > 7 else { return nil }
            return DerivedTerm(listId: f[0], termId: f[1], status: f[2], name: f[4], edqm: f[7], currentTermId: f[6])
        }
    }

    static func withRMS(_ body: @Sendable (APIClient) async throws -> Void) async throws {
        try await APITest.with(importing: []) { api, postgres in
            _ = try await RMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [
                SPORSamples.exports
            ])
            try await body(api)
        }
    }

    @Test(.enabled(if: SPORSamples.available, "../shared/reference/spor-samples is not present"))
    func listsAndPagedTermsMatchTheExports() async throws {
        let derived = try Self.derivedTerms()
        try await Self.withRMS { api in
            let lists = try await api.get("/v1/spor/rms/lists").json["items"].array
            let expectedLists = Set(derived.map(\.listId))
            #expect(Set(lists.compactMap { $0["listId"].string }) == expectedLists)
            let units = lists.first { $0["listId"].string == "200000000014" }
            #expect(units?["name"].string == "Unit of presentation")
            #expect(
                units?["terms"].number
                    == Double(Set(derived.filter { $0.listId == "200000000014" }.map(\.termId)).count))

            // Following `next` with small pages visits every term of the list once, in id order.
            var seen: [String] = []
            var uri: String? = "/v1/spor/rms/lists/200000000014/terms?limit=7"
            while let next = uri {
                let page = try await api.get(next).json
                seen += page["items"].array.compactMap { $0["termId"].string }
                uri = page["next"].string
            }
            let expected = Set(derived.filter { $0.listId == "200000000014" }.map(\.termId))
            #expect(seen == expected.sorted())

            // q matches names as a substring, case- and accent-insensitively; total counts every match.
            let tablets = try await api.get("/v1/spor/rms/lists/200000000004/terms?q=TABLET&lang=en&limit=500").json
            let expectedTablets = Set(
                derived.filter { $0.listId == "200000000004" && $0.name.lowercased().contains("tablet") }.map(\.termId))
            #expect(Set(tablets["items"].array.compactMap { $0["termId"].string }) == expectedTablets)
            #expect(tablets["total"].number == Double(expectedTablets.count))
            let nonCurrent = try await api.get("/v1/spor/rms/lists/200000000004/terms?status=NON_CURRENT&limit=500")
                .json
            #expect(
                Set(nonCurrent["items"].array.compactMap { $0["termId"].string })
                    == Set(derived.filter { $0.listId == "200000000004" && $0.status == "NON_CURRENT" }.map(\.termId)))
            // French names: "Comprimé" found from "comprime".
            let french = try await api.get("/v1/spor/rms/lists/200000000004/terms?q=comprime&lang=fr&limit=3").json
            #expect(french["items"].array.count == 3)
            #expect(french["items"].array.allSatisfy { $0["nameLanguage"].string == "fr" })
            #expect(french["items"].array.allSatisfy { $0["name"].string?.lowercased().contains("comprimé") == true })
        }
    }

    @Test(.enabled(if: SPORSamples.available, "../shared/reference/spor-samples is not present"))
    func termsBySourceCodeAndTermDocuments() async throws {
        let derived = try Self.derivedTerms().filter { !$0.edqm.isEmpty }
        try await Self.withRMS { api in
            // Every 25th EDQM code of the derivation finds its term.
            for term in stride(from: 0, to: derived.count, by: 25).map({ derived[$0] }) {
                let answer = try await api.get("/v1/spor/rms/terms?source=EDQM&code=\(term.edqm)").json
                #expect(
                    answer["items"].array.contains { $0["termId"].string == term.termId },
                    "EDQM \(term.edqm) → \(term.termId)")
                #expect(answer["source"]["id"].string == "100000073361")
            }
            let tablet = derived.first { $0.edqm == "10219000" }!
            let document = try await api.get("/v1/spor/rms/terms/\(tablet.termId)")
            #expect(document.status == .ok)
            #expect(document.json["names"]["en"]["name"].string == tablet.name)
            #expect(document.json["listName"].string == "Pharmaceutical dose form")
            #expect(
                document.json["sourceMappings"].array.contains {
                    $0["source"].string == "EDQM" && $0["code"].string == "10219000" && $0["main"].bool == true
                })
            // A replaced term links to its replacement.
            let replaced = try #require(
                try Self.derivedTerms().first { $0.status == "NON_CURRENT" && !$0.currentTermId.isEmpty })
            let old = try await api.get("/v1/spor/rms/terms/\(replaced.termId)").json
            #expect(old["status"].string == "NON_CURRENT")
            #expect(old["currentTermId"].string == replaced.currentTermId)
            #expect(old["replacedBy"]["href"].string == "/v1/spor/rms/terms/\(replaced.currentTermId)")
            // An unknown code is an empty answer, not an error.
            let none = try await api.get("/v1/spor/rms/terms?source=EDQM&code=99999999").json
            #expect(none["items"].array.isEmpty)
        }
    }

    @Test func malformedSPORRequestsAreProblems() async throws {
        try await APITest.with(importing: []) { api, _ in
            for (uri, status, parameter) in [
                ("/v1/spor/rms/terms/12", 400, "termId"),
                ("/v1/spor/rms/terms/123456789012", 404, nil),
                ("/v1/spor/rms/lists/123456789012/terms", 404, nil),
                ("/v1/spor/rms/lists/200000000004/terms?status=OLD", 400, "status"),
                ("/v1/spor/rms/lists/200000000004/terms?lang=french", 400, "lang"),
                ("/v1/spor/rms/lists/200000000004/terms?after=x", 400, "after"),
                ("/v1/spor/rms/lists/200000000004/terms?limit=0", 400, "limit"),
                ("/v1/spor/rms/terms?source=EDQM", 400, "code"),
                ("/v1/spor/rms/terms?source=FOO&code=1", 400, "source"),
                ("/v1/spor/rms/terms?code=1&extra=2", 400, "extra"),
                ("/v1/spor/sms/substances?q=a", 400, "q"),
                ("/v1/spor/sms/substances/abc", 400, "substanceId"),
                ("/v1/spor/sms/substances/100000000001", 404, nil),
            ] as [(String, Int, String?)] {
                let response = try await api.get(uri)
                #expect(response.status.code == status, "\(uri)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
                if let parameter { #expect(response.json["parameter"].string == parameter, "\(uri)") }
            }
        }
    }

    @Test func substancesByNameAndId() async throws {
        let path = try TestDatabase.temporaryDirectory() + "/sms.csv"
        try """
        SMS_ID,Substance_Name,Is_Preferred_Name
        100000085259,paracetamol,Y
        100000085259,acetaminophen,N
        100000090186,haloperidol,Y
        100000090187,haloperidol decanoate,Y
        100000090188,bromperidol,Y
        100000090189,50% glucose_solution,Y
        """.write(toFile: path, atomically: true, encoding: .utf8)
        try await APITest.with(importing: []) { api, postgres in
            _ = try await SMSImportPipeline(client: postgres, logger: TestDatabase.logger).run(paths: [path])
            // Exact name first, then names starting with it; "peridol" also finds bromperidol.
            let haloperidol = try await api.get("/v1/spor/sms/substances?q=Haloperidol").json
            #expect(
                haloperidol["items"].array.compactMap { $0["substanceId"].string } == ["100000090186", "100000090187"])
            #expect(try await api.get("/v1/spor/sms/substances?q=peridol").json["total"].number == 3)
            // A synonym finds the substance under its preferred name and says which name matched.
            let synonym = try await api.get("/v1/spor/sms/substances?q=acetamino").json["items"].array
            #expect(synonym.count == 1)
            #expect(synonym.first?["name"].string == "paracetamol")
            #expect(synonym.first?["matchedName"].string == "acetaminophen")
            // LIKE wildcards in q are literal characters.
            #expect(try await api.get("/v1/spor/sms/substances?q=0%25").json["total"].number == 1)
            #expect(try await api.get("/v1/spor/sms/substances?q=e_s").json["total"].number == 1)
            let one = try await api.get("/v1/spor/sms/substances/100000085259")
            #expect(one.status == .ok)
            #expect(one.json["synonyms"].array.compactMap(\.string) == ["acetaminophen"])
            #expect(one.json["href"].string == "/v1/spor/sms/substances/100000085259")
        }
    }
}
