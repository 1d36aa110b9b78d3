import DatabaseTestSupport
import Foundation
import SharedSamples
import Testing

/// CNK lookups on the real Haldol AMP fragment of ../shared, at dates where prices and slices
/// change. Expected values are read off the XML fragment itself (lines cited).
@Suite(
    .enabled(if: SharedSamples.available, "../shared/reference/samv2-samples is not present"), .timeLimit(.minutes(5)))
struct RealHaldolLookupTests {
    static func withHaldol(_ body: @Sendable (APIClient) async throws -> Void) async throws {
        let dir = try TestDatabase.temporaryDirectory()
        let path = "\(dir)/AMP-real.xml"
        try SharedSamples.haldolExport().write(toFile: path, atomically: true, encoding: .utf8)
        try await APITest.with(importing: [path]) { api, _ in try await body(api) }
    }

    @Test func publicPharmacyPriceChangesAcrossDates() async throws {
        try await Self.withHaldol { api in
            // Fragment lines 1005-1040: P|CNK|0046128, 2022-01-01..2022-05-31 at 7.8700, 2020-05-01..2020-06-30 at 7.8800.
            let january = try await api.get("/v1/medicines/cnk/0046128?at=2022-01-01")
            #expect(january.status == .ok)
            let body = january.json
            #expect(body["price"].number == 7.87)
            #expect(String(decoding: january.body, as: UTF8.self).contains("\"price\":7.8700"))
            #expect(body["cheap"].bool == false)
            #expect(body["cheapest"].bool == true)
            #expect(body["reimbursable"].bool == true)
            #expect(body["validity"]["from"].string == "2022-01-01")
            #expect(body["validity"]["to"].string == "2022-05-31")
            #expect(body["ampp"]["key"]["ctiExtended"].string == "000025-02")
            #expect(body["ampp"]["validity"]["from"].string == "2022-01-01")
            #expect(body["amp"]["key"]["code"].string == "SAM000025-00")
            #expect(body["amp"]["fields"]["officialName"].string == "Haldol 5 mg/ml")
            #expect(body["amp"]["fields"]["blackTriangle"].string == "false")
            // Company slice valid on the day: legal form NV until 2022-06-29, S.A.-N.V. from 2022-06-30.
            #expect(body["amp"]["fields"]["company"]["actorNr"].string == "01028")
            #expect(body["amp"]["fields"]["company"]["data"]["legalForm"].string == "NV")
            #expect(body["source"]["samId"].string == "SAM-REAL-FRAGMENT")

            let may = try await api.get("/v1/medicines/cnk/0046128?at=2020-05-31").json
            #expect(may["price"].number == 7.88)
            #expect(may["validity"]["from"].string == "2020-05-01")

            let later = try await api.get("/v1/medicines/cnk/0046128?at=2023-01-01").json
            #expect(later["price"].number == 7.97)
            #expect(later["validity"]["to"].isNull)
            #expect(later["amp"]["fields"]["company"]["data"]["legalForm"].string == "S.A.-N.V.")
        }
    }

    @Test func datesOutsideAndInsideEmptySlices() async throws {
        try await Self.withHaldol { api in
            // Before the first slice (1961-07-02): 404 that names the nearest period.
            let before = try await api.get("/v1/medicines/cnk/0046128?at=1961-07-01")
            #expect(before.status == .notFound)
            #expect(before.headers[.contentType] == "application/problem+json")
            #expect(before.json["type"].string?.hasSuffix("/not-valid-at-date") == true)
            #expect(before.json["nearestValidity"]["from"].string == "1961-07-02")
            #expect(before.json["nearestValidity"]["to"].string == "2016-07-11")
            #expect(before.json["detail"].string?.contains("1961-07-01") == true)
            // 2016-07-12..2017-06-30 is a slice without price (line 1036): valid, price null.
            let gap = try await api.get("/v1/medicines/cnk/0046128?at=2017-01-01")
            #expect(gap.status == .ok)
            #expect(gap.json["price"].isNull)
            #expect(gap.json["validity"]["from"].string == "2016-07-12")
            // Far in the future the open-ended slice from 2022-06-01 applies.
            #expect(try await api.get("/v1/medicines/cnk/0046128?at=2999-12-31").json["price"].number == 7.97)
            // history=true: the eight slices of the DMPP, oldest first.
            let history = try await api.get("/v1/medicines/cnk/0046128?history=true").json
            let slices = history["dmpp"]["slices"].array
            #expect(slices.count == 8)
            #expect(slices.first?["validity"]["from"].string == "1961-07-02")
            #expect(slices.last?["validity"]["from"].string == "2022-06-01")
        }
    }

    @Test func ambulatoryAndHospitalShareOneCNKWithTheirOwnPrices() async throws {
        try await Self.withHaldol { api in
            // Lines 985-1004: A and H DMPPs of CNK 0708289.
            let ambulatory = try await api.get("/v1/medicines/cnk/0708289?env=A&at=2026-01-01")
            let hospital = try await api.get("/v1/medicines/cnk/0708289?env=H&at=2026-01-01")
            #expect(ambulatory.json["price"].number == 0.638)
            #expect(hospital.json["price"].number == 0.524)
            #expect(ambulatory.json["deliveryEnvironment"].string == "A")
            #expect(hospital.json["deliveryEnvironment"].string == "H")
            #expect(try await api.get("/v1/medicines/cnk/0708289?env=A&at=2019-01-01").json["price"].number == 0.54)
            let publicPharmacy = try await api.get("/v1/medicines/cnk/0708289?at=2026-01-01")
            #expect(publicPharmacy.status == .notFound)
            #expect(publicPharmacy.json["environments"].array.compactMap(\.string) == ["A", "H"])
        }
    }

    @Test func ampAndAmppLookupsOnTheRealFragment() async throws {
        try await Self.withHaldol { api in
            let amp = try await api.get("/v1/medicines/amp/SAM000025-00?at=2022-01-01&lang=de")
            #expect(amp.status == .ok)
            #expect(amp.json["amp"]["display"]["name"].string == "Haldol 5 mg/ml")
            #expect(amp.json["amp"]["display"]["language"].string == "de")
            let ampps = amp.json["ampps"].array.compactMap { $0["key"]["ctiExtended"].string }
            #expect(ampps.contains("000025-02"))
            let ampp = try await api.get("/v1/medicines/ampp/000025-02?at=2022-01-01&lang=nl").json
            #expect(ampp["ampp"]["fields"]["packDisplayValue"].string == "5 x 1 ml")
            #expect(ampp["ampp"]["fields"]["atc"]["code"].string == "N05AD01")
            #expect(ampp["ampp"]["display"]["name"].string == "Haldol 5 mg/ml inj. opl. i.m. amp. 5 x 1 ml")
            let dmpps = ampp["dmpps"].array.compactMap { $0["key"]["deliveryEnvironment"].string }.sorted()
            #expect(dmpps == ["A", "H", "P"])
        }
    }
}
