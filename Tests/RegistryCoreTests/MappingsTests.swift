import Foundation
import Testing

@testable import RegistryCore

@testable import RegistryCore

/// The derived tables in Mappings/ hold what their origin says, and the known errors of the
/// sources did not make it into them.
@Suite struct MappingsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Mappings")

    static func rows(_ path: String) throws -> [[String: String]] {
        let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map { CSVLine.fields($0) }
        let header = lines.removeFirst()
        return lines.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    static func km(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let (lat1, lon1, lat2, lon2) = (a.0 * .pi / 180, a.1 * .pi / 180, b.0 * .pi / 180, b.1 * .pi / 180)
        let h = pow(sin((lat2 - lat1) / 2), 2) + cos(lat1) * cos(lat2) * pow(sin((lon2 - lon1) / 2), 2)
        return 6371.0088 * 2 * asin(sqrt(h))
    }

    @Test func postcodeCentroidsAreInBelgiumAndAvoidTheKnownSourceErrors() throws {
        let rows = try Self.rows("geo/postcodes.csv")
        #expect(rows.count > 1100)
        var centroids: [String: (Double, Double)] = [:]
        for row in rows {
            guard let lat = Double(row["latitude"] ?? ""), let lon = Double(row["longitude"] ?? "") else {
                #expect(row["flags"]?.contains("no-coordinates") == true, "\(row)")
                continue
            }
            #expect((49.49...51.51).contains(lat) && (2.54...6.41).contains(lon), "\(row)")
            centroids[row["postcode"]!] = (lat, lon)
        }
        // Reference points (town halls, from OpenStreetMap) for a few places.
        let references: [(String, (Double, Double), Double)] = [
            ("1000", (50.8467, 4.3525), 3), ("9000", (51.0543, 3.7174), 4), ("4000", (50.6451, 5.5734), 4),
            ("1190", (50.8112, 4.3177), 4),  // adriaanvermeire puts Forest/Vorst at 51.08, 5.02
            ("1081", (50.8625, 4.3258), 3),  // and Koekelberg at longitude 4.02
        ]
        for (postcode, place, tolerance) in references {
            let centroid = try #require(centroids[postcode], "\(postcode)")
            #expect(Self.km(centroid, place) < tolerance, "\(postcode): \(centroid)")
        }
        let forest = try #require(rows.first { $0["postcode"] == "1190" })
        #expect(forest["flags"]?.contains("sources-disagree") == true)
        #expect(forest["names"]?.contains("Vorst") == true && forest["names"]?.contains("Forest") == true)
    }

    @Test func hcpartyHasEveryProfessionInFourLanguages() throws {
        let rows = try Self.rows("providers/cd-hcparty.csv")
        #expect(rows.count == 241)
        let professions = rows.filter { $0["kind"] == "person" }
        #expect(professions.count == 104)
        let pharmacist = try #require(rows.first { $0["code"] == "perspharmacist" })
        #expect(pharmacist["fr"] == "pharmacien" && pharmacist["nl"] == "apotheker")
        #expect(rows.allSatisfy { !($0["fr"] ?? "").isEmpty && !($0["nl"] ?? "").isEmpty })
    }
}

extension MappingsTests {
    @Test func theImporterBundlesExactlyTheDerivedPostcodeTable() throws {
        let derived = try Data(contentsOf: Self.root.appendingPathComponent("geo/postcodes.csv"))
        let bundled = try Data(
            contentsOf: Self.root.deletingLastPathComponent().appendingPathComponent(
                "Sources/RegistryCore/Resources/postcodes.csv"))
        #expect(derived == bundled, "run python3 Mappings/scripts/derive_postcodes.py")
    }

    @Test func theImporterBundlesExactlyTheProviderTables() throws {
        for table in ["cd-hcparty.csv", "nihii-profession-digits.csv"] {
            let mapped = try Data(contentsOf: Self.root.appendingPathComponent("providers/\(table)"))
            let bundled = try Data(
                contentsOf: Self.root.deletingLastPathComponent().appendingPathComponent(
                    "Sources/RegistryCore/Resources/\(table)"))
            #expect(mapped == bundled, "copy Mappings/providers/\(table) to Sources/RegistryCore/Resources/")
        }
    }
}
