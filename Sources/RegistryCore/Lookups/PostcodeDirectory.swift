import Foundation

/// Belgian postcodes with their derived centroids (Mappings/geo/postcodes.csv, bundled).
package struct PostcodeDirectory: Sendable {
    package struct Entry: Sendable {
        package var names: [String]
        /// Nil for non-geographic postcodes (parliaments, 0612, ...).
        package var centroid: (latitude: Double, longitude: Double)?
    }

    package let entries: [String: Entry]

    package init(csv text: String) {
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
    package static let bundled = PostcodeDirectory(csv: bundledCSV ?? "")

    /// The bundled CSV itself (postcode, names, latitude, longitude, points, flags).
    package static var bundledCSV: String? {
        guard let url = Bundle.module.url(forResource: "postcodes", withExtension: "csv") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }

    /// Great-circle distance in km (haversine, mean Earth radius).
    package static func kilometres(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let (lat1, lon1, lat2, lon2) = (a.0 * .pi / 180, a.1 * .pi / 180, b.0 * .pi / 180, b.1 * .pi / 180)
        let h = pow(sin((lat2 - lat1) / 2), 2) + cos(lat1) * cos(lat2) * pow(sin((lon2 - lon1) / 2), 2)
        return 6371.0088 * 2 * asin(min(1, sqrt(h)))
    }
}
