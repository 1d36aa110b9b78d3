import Foundation
import RegistryCore

/// Belgian postcodes with their derived centroids (Mappings/geo/postcodes.csv, bundled).
public struct PostcodeDirectory: Sendable {
    public struct Entry: Sendable {
        public var names: [String]
        /// Nil for non-geographic postcodes (parliaments, 0612, ...).
        public var centroid: (latitude: Double, longitude: Double)?
    }

    public let entries: [String: Entry]

    public init(csv text: String) {
        var entries: [String: Entry] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = CSVLine.fields(line)
            guard fields.count >= 4 else { continue }
            let centroid = Double(fields[2]).flatMap { lat in Double(fields[3]).map { (lat, $0) } }
            entries[fields[0]] = Entry(names: fields[1].split(separator: "|").map(String.init), centroid: centroid)
        }
        self.entries = entries
    }

    /// The table shipped with the registry.
    public static let bundled: PostcodeDirectory = {
        guard let url = Bundle.module.url(forResource: "postcodes", withExtension: "csv"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return PostcodeDirectory(csv: "") }
        return PostcodeDirectory(csv: text)
    }()

    /// Great-circle distance in km (haversine, mean Earth radius).
    public static func kilometres(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let (lat1, lon1, lat2, lon2) = (a.0 * .pi / 180, a.1 * .pi / 180, b.0 * .pi / 180, b.1 * .pi / 180)
        let h = pow(sin((lat2 - lat1) / 2), 2) + cos(lat1) * cos(lat2) * pow(sin((lon2 - lon1) / 2), 2)
        return 6371.0088 * 2 * asin(min(1, sqrt(h)))
    }
}
