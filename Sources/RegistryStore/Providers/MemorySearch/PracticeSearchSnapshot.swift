import Foundation
import RegistryCore

/// One `practice_search` row with its practice document, as the in-memory search loads it.
package struct PracticeSearchRow: Sendable {
    package var key: String
    package var professionalId: String?
    package var profession: String?
    package var qualifications: [String]
    package var languages: [String]
    package var postcode: String
    package var latitude: Double?
    package var longitude: Double?
    /// `earth` as PostgreSQL stored it (`ll_to_earth`), so distances agree to the last bit.
    package var earth: (x: Double, y: Double, z: Double)?
    /// Day numbers (days since 1970-01-01), `validTo` inclusive.
    package var validFrom: Int
    package var validTo: Int?
    package var familyName: String?
    package var givenName: String?
    package var familyExact: String
    package var fullExact: String
    package var familyKey: String
    package var fullKey: String
    /// The hit as the API shows it, minus what depends on the search (distance, score): rendered
    /// once when the snapshot loads, so a page is assembled from bytes.
    package var rendered: [UInt8]
    /// The practice as a resource (FHIR Location), rendered once when the snapshot loads; empty
    /// when no resource renderer was given.
    package var resource: [UInt8] = []

    package init(
        key: String, professionalId: String?, profession: String?, qualifications: [String], languages: [String],
        postcode: String, latitude: Double?, longitude: Double?, earth: (x: Double, y: Double, z: Double)?,
        validFrom: Int, validTo: Int?, familyName: String?, givenName: String?, familyExact: String,
        fullExact: String, familyKey: String, fullKey: String, rendered: [UInt8]
    ) {
        self.key = key
        self.professionalId = professionalId
        self.profession = profession
        self.qualifications = qualifications
        self.languages = languages
        self.postcode = postcode
        self.latitude = latitude
        self.longitude = longitude
        self.earth = earth
        self.validFrom = validFrom
        self.validTo = validTo
        self.familyName = familyName
        self.givenName = givenName
        self.familyExact = familyExact
        self.fullExact = fullExact
        self.familyKey = familyKey
        self.fullKey = fullKey
        self.rendered = rendered
    }
}

/// The practice search answered from memory: every row of `practice_search` as of one import,
/// with the indexes a search needs (names and their trigrams, a grid of places per profession,
/// postcodes, professions).
///
/// It answers exactly what `ProviderQueries.search` answers from PostgreSQL (same matches, order,
/// scores, totals and cursors; the tests compare both on generated data), for a fraction of the
/// CPU: a search reads a few thousand array slots instead of planning and running 2-4 statements.
/// Immutable: a new import builds a new snapshot.
package final class PracticeSearchSnapshot: Sendable {
    /// What the filters and the ordering read, without references (a search reads thousands
    /// of these: copying one costs no reference counting).
    struct Entry: Sendable {
        var profession: Int32
        /// Bit `n` for the language of id `n` (ids below 64; others are read from `Detail`).
        var languages: UInt64
        var postcode: Int32
        var x: Double
        var y: Double
        var z: Double
        var hasPlace: Bool
        var validFrom: Int32
        var validTo: Int32
        /// Ids of the folded spellings (`exacts`) and of the name keys (`names`).
        var familyExact: Int32
        var fullExact: Int32
        var familyKey: Int32
        var fullKey: Int32
        /// Position in (family key, full key, practice key) order.
        var nameRank: Int32
    }

    /// What a hit shows, read only for the hits of a page (and the rare qualification filter).
    struct Detail: Sendable {
        var key: String
        var professionalId: String?
        var qualifications: [Int32]
        var languages: [Int32]
        var familyName: String?
        var givenName: String?
        var rendered: [UInt8]
        var resource: [UInt8]
    }

    /// The import run this snapshot reflects (the newest applied CoBRHA or practice import).
    package let marker: Int64
    package let folding: NameFolding
    /// In `practice_key` order as PostgreSQL sorts it: an entry's index is its key's rank.
    let entries: [Entry]
    let details: [Detail]
    let exacts: [String: Int32]
    /// Entries whose family or full spelling is the exact spelling, in rank order.
    let exactPostings: [[Int32]]
    let postcodes: [String: Int32]
    let rankOfKey: [String: Int32]
    let codes: [String: Int32]
    let codeNames: [String]
    /// Distinct name keys, sorted (so name ids compare like the names), with their trigram counts.
    let names: [String]
    let nameIds: [String: Int32]
    let nameTrigramCounts: [Int32]
    let trigramNames: [UInt32: [Int32]]
    /// Entries whose family or full key is the name, in rank order.
    let namePostings: [[Int32]]
    /// Entry indexes in name order (the inverse of `nameRank`).
    let byNameRank: [Int32]
    let byPostcode: [Int32: [Int32]]
    let byProfession: [Int32: [Int32]]
    /// Grid cells of `cellDegrees` (latitude) by `cellDegrees * 1.5` (longitude), per profession
    /// (`-1`: every profession), entries in rank order.
    let grid: [GridCell: [Int32]]
    /// Every entry index, for searches no index narrows.
    let all: [Int32]
    static let cellDegrees = 0.04

    struct GridCell: Hashable, Sendable {
        var profession: Int32
        var row: Int32
        var column: Int32
    }

    /// Builds the snapshot; `rows` must come in `practice_key` order as the database sorts it.
    package init(rows: [PracticeSearchRow], marker: Int64, folding: NameFolding) {
        self.marker = marker
        self.folding = folding
        var codes: [String: Int32] = [:]
        var codeNames: [String] = []
        func code(_ text: String) -> Int32 {
            if let id = codes[text] { return id }
            let id = Int32(codeNames.count)
            codes[text] = id
            codeNames.append(text)
            return id
        }
        let names = Array(Set(rows.flatMap { [$0.familyKey, $0.fullKey] })).sorted()
        var nameIds: [String: Int32] = [:]
        for (id, name) in names.enumerated() { nameIds[name] = Int32(id) }
        var exacts: [String: Int32] = [:]
        var postcodes: [String: Int32] = [:]
        func intern(_ text: String, in table: inout [String: Int32]) -> Int32 {
            if let id = table[text] { return id }
            let id = Int32(table.count)
            table[text] = id
            return id
        }
        var entries: [Entry] = []
        var details: [Detail] = []
        entries.reserveCapacity(rows.count)
        details.reserveCapacity(rows.count)
        var rankOfKey: [String: Int32] = [:]
        // Languages first, so their ids are small enough for the bit set.
        for row in rows { for language in row.languages { _ = code(language) } }
        for (rank, row) in rows.enumerated() {
            rankOfKey[row.key] = Int32(rank)
            let languages = row.languages.map(code)
            entries.append(
                Entry(
                    profession: row.profession.map(code) ?? -1,
                    languages: languages.reduce(0) { $1 < 64 ? $0 | (1 << UInt64($1)) : $0 },
                    postcode: intern(row.postcode, in: &postcodes), x: row.earth?.x ?? 0, y: row.earth?.y ?? 0,
                    z: row.earth?.z ?? 0,
                    hasPlace: row.earth != nil && row.latitude != nil && row.longitude != nil,
                    validFrom: Int32(clamping: row.validFrom), validTo: Int32(clamping: row.validTo ?? Int(Int32.max)),
                    familyExact: intern(row.familyExact, in: &exacts), fullExact: intern(row.fullExact, in: &exacts),
                    familyKey: nameIds[row.familyKey]!, fullKey: nameIds[row.fullKey]!, nameRank: 0))
            details.append(
                Detail(
                    key: row.key, professionalId: row.professionalId, qualifications: row.qualifications.map(code),
                    languages: languages, familyName: row.familyName, givenName: row.givenName,
                    rendered: row.rendered, resource: row.resource))
        }
        // Name order: family key, full key, then practice key (the entry's rank).
        let byNameRank = (0..<Int32(entries.count)).sorted {
            let a = entries[Int($0)]
            let b = entries[Int($1)]
            return (a.familyKey, a.fullKey, $0) < (b.familyKey, b.fullKey, $1)
        }
        for (position, index) in byNameRank.enumerated() { entries[Int(index)].nameRank = Int32(position) }

        var namePostings = [[Int32]](repeating: [], count: names.count)
        var exactPostings = [[Int32]](repeating: [], count: exacts.count)
        var byPostcode: [Int32: [Int32]] = [:]
        var byProfession: [Int32: [Int32]] = [:]
        var grid: [GridCell: [Int32]] = [:]
        for (index, entry) in entries.enumerated() {
            let i = Int32(index)
            namePostings[Int(entry.familyKey)].append(i)
            if entry.fullKey != entry.familyKey { namePostings[Int(entry.fullKey)].append(i) }
            exactPostings[Int(entry.familyExact)].append(i)
            if entry.fullExact != entry.familyExact { exactPostings[Int(entry.fullExact)].append(i) }
            byPostcode[entry.postcode, default: []].append(i)
            byProfession[entry.profession, default: []].append(i)
            if entry.hasPlace, let latitude = rows[index].latitude, let longitude = rows[index].longitude {
                let (row, column) = Self.cell(latitude: latitude, longitude: longitude)
                grid[GridCell(profession: -1, row: row, column: column), default: []].append(i)
                grid[GridCell(profession: entry.profession, row: row, column: column), default: []].append(i)
            }
        }
        var trigramNames: [UInt32: [Int32]] = [:]
        var nameTrigramCounts: [Int32] = []
        nameTrigramCounts.reserveCapacity(names.count)
        for (id, name) in names.enumerated() {
            let trigrams = Trigrams.of(name)
            nameTrigramCounts.append(Int32(trigrams.count))
            for trigram in trigrams { trigramNames[trigram, default: []].append(Int32(id)) }
        }
        self.entries = entries
        self.details = details
        self.exacts = exacts
        self.exactPostings = exactPostings
        self.postcodes = postcodes
        self.rankOfKey = rankOfKey
        self.codes = codes
        self.codeNames = codeNames
        self.names = names
        self.nameIds = nameIds
        self.nameTrigramCounts = nameTrigramCounts
        self.trigramNames = trigramNames
        self.namePostings = namePostings
        self.byNameRank = byNameRank
        self.byPostcode = byPostcode
        self.byProfession = byProfession
        self.grid = grid
        self.all = Array(0..<Int32(entries.count))
    }

    package var count: Int { entries.count }

    static func cell(latitude: Double, longitude: Double) -> (Int32, Int32) {
        (
            Int32((latitude / cellDegrees).rounded(.down)),
            Int32((longitude / (cellDegrees * 1.5)).rounded(.down))
        )
    }

    // MARK: Geometry (the earthdistance extension's definitions)

    /// `earth()`: the radius the earthdistance extension assumes, in metres.
    static let earthRadius = 6_378_168.0

    /// `ll_to_earth(lat, lon)`.
    static func earth(latitude: Double, longitude: Double) -> (x: Double, y: Double, z: Double) {
        let lat = latitude * (Double.pi / 180)
        let lon = longitude * (Double.pi / 180)
        return (
            earthRadius * cos(lat) * cos(lon), earthRadius * cos(lat) * sin(lon), earthRadius * sin(lat)
        )
    }

    /// `cube_distance` (`<->`) between two points: the chord.
    static func chord(_ a: (x: Double, y: Double, z: Double), _ e: Entry) -> Double {
        let dx = a.x - e.x
        let dy = a.y - e.y
        let dz = a.z - e.z
        return (dx * dx + dy * dy + dz * dz).squareRoot()
    }

    /// `sec_to_gc`: the great-circle distance of a chord, as `earth_distance` returns it.
    static func greatCircle(chord: Double) -> Double {
        if chord < 0 { return 0 }
        if chord / (2 * earthRadius) > 1 { return Double.pi * earthRadius }
        return 2 * earthRadius * asin(chord / (2 * earthRadius))
    }
}

// MARK: - Search

extension PracticeSearchSnapshot {
    /// The order of a match: compared as a tuple, the entry's rank last (keys are unique).
    struct Order: Comparable {
        var a: Double
        var b: Double = 0
        var c: Double = 0
        var rank: Double

        static func < (l: Order, r: Order) -> Bool { (l.a, l.b, l.c, l.rank) < (r.a, r.b, r.c, r.rank) }
    }

    struct Match {
        var order: Order
        var index: Int32
        var tier: Int
        var similarity: Float
        var chord: Double
    }

    /// Answers `query` with its name already folded (`folding.fold`, or PostgreSQL's own).
    package func search(_ query: PracticeSearchQuery, folded: (exact: String, key: String)?) -> PracticeSearchResult {
        let filter = Filter(snapshot: self, query: query)
        let after = query.after.map { cursorOrder($0, sort: query.sort, nearby: query.near != nil) }
        if query.sort == .distance, query.name == nil, query.postcode == nil, let near = query.near,
            let radius = query.radiusMetres
        {
            var page = Page(after: after, count: query.limit + 1)
            nearestPage(filter, near: near, radius: radius, into: &page)
            return result(page.kept, total: page.total, query: query, centre: filter.centre)
        }
        if query.sort == .relevance, query.near == nil {
            var page = Page(after: after, count: query.limit + 1)
            relevancePage(filter, folded: folded ?? ("", ""), into: &page)
            return result(page.kept, total: page.total, query: query, centre: filter.centre)
        }
        var matches: [Match]
        switch query.sort {
        case .relevance:
            matches = nearbyRelevanceMatches(filter, folded: folded ?? ("", ""))
        case .distance:
            matches = distanceMatches(filter, folded: query.name == nil ? nil : folded ?? ("", ""))
        case .name:
            matches = nameOrderMatches(filter)
        }
        var page = Page(after: after, count: query.limit + 1)
        for match in matches { page.consider(match) }
        return result(page.kept, total: page.total, query: query, centre: filter.centre)
    }

    /// A page being collected: every match is counted (for the total), and kept when it comes
    /// after the cursor and among the `count` smallest so far (`kept` stays sorted; pages are
    /// short, so a binary insertion beats a heap).
    struct Page {
        let after: Order?
        let count: Int
        var kept: [Match] = []
        var total = 0

        init(after: Order?, count: Int) {
            self.after = after
            self.count = count
            kept.reserveCapacity(count + 1)
        }

        /// Whether matches still to come (all ordered after those seen) cannot change the answer.
        var isSettled: Bool { total > ProviderQueries.totalCap && kept.count == count }

        mutating func consider(_ match: Match) {
            total += 1
            if let after, !(after < match.order) { return }
            if kept.count == count, let last = kept.last, !(match.order < last.order) { return }
            let position = PracticeSearchSnapshot.partitionPoint(kept.count) { kept[$0].order < match.order }
            kept.insert(match, at: position)
            if kept.count > count { kept.removeLast() }
        }
    }

    func result(_ page: [Match], total: Int, query: PracticeSearchQuery, centre: (x: Double, y: Double, z: Double)?)
        -> PracticeSearchResult
    {
        PracticeSearchResult(
            hits: page.prefix(query.limit).map { hit($0, query: query, centre: centre) },
            hasMore: page.count > query.limit, total: min(total, ProviderQueries.totalCap),
            totalIsExact: total <= ProviderQueries.totalCap)
    }

    /// Nearest first within a circle, reading grid cells from the nearest out and stopping once
    /// the page is full, no unread cell can hold a nearer practice, and the matches counted
    /// already pass the total's cap (so the total is what a full count would report).
    func nearestPage(
        _ filter: Filter, near: (latitude: Double, longitude: Double), radius: Double, into page: inout Page
    ) {
        var cells: [(bound: Double, list: [Int32])] = []
        forEachCell(near: near, radius: radius, profession: filter.profession ?? -1) { row, column, list in
            // The cell's nearest point (its rectangle clamped to the centre), as a chord with 2%
            // to spare: a lower bound of every chord in the cell.
            let lat0 = Double(row) * Self.cellDegrees
            let lon0 = Double(column) * Self.cellDegrees * 1.5
            let latitude = min(max(near.latitude, lat0), lat0 + Self.cellDegrees)
            let longitude = min(max(near.longitude, lon0), lon0 + Self.cellDegrees * 1.5)
            let point = Self.earth(latitude: latitude, longitude: longitude)
            let centre = filter.centre!
            let dx = centre.x - point.x
            let dy = centre.y - point.y
            let dz = centre.z - point.z
            let bound = (dx * dx + dy * dy + dz * dz).squareRoot() * 0.98
            if bound <= filter.radiusChord * 1.01 { cells.append((bound, list)) }
        }
        cells.sort { $0.bound < $1.bound }
        for cell in cells {
            // Cells come nearest first, but their practices do not: stop between cells only.
            if page.isSettled, let last = page.kept.last, cell.bound > last.order.a { return }
            for i in cell.list {
                let (passes, chord) = filter.passes(i)
                guard passes else { continue }
                page.consider(
                    Match(order: Order(a: chord, rank: Double(i)), index: i, tier: 0, similarity: 0, chord: chord))
            }
        }
    }

    /// The filters of every sort: validity on the date, codes, postcode and the circle.
    struct Filter {
        let entries: [Entry]
        let details: [Detail]
        let at: Int32
        let profession: Int32?
        let qualification: Int32?
        let language: Int32?
        let postcode: Int32?
        let centre: (x: Double, y: Double, z: Double)?
        let near: (latitude: Double, longitude: Double)?
        let radius: Double?
        /// The chord of `radius`, to decide most distances without `asin`.
        let radiusChord: Double

        init(snapshot: PracticeSearchSnapshot, query: PracticeSearchQuery) {
            entries = snapshot.entries
            details = snapshot.details
            at = Int32(clamping: query.at.dayNumber)
            // An unknown code matches nothing (-2 is no code's id).
            profession = query.profession.map { snapshot.codes[$0] ?? -2 }
            qualification = query.qualification.map { snapshot.codes[$0] ?? -2 }
            language = query.language.map { snapshot.codes[$0] ?? -2 }
            postcode = query.postcode.map { snapshot.postcodes[$0] ?? -2 }
            near = query.near
            centre = query.near.map { PracticeSearchSnapshot.earth(latitude: $0.latitude, longitude: $0.longitude) }
            radius = query.radiusMetres
            radiusChord =
                query.radiusMetres.map {
                    2 * PracticeSearchSnapshot.earthRadius * sin($0 / (2 * PracticeSearchSnapshot.earthRadius))
                } ?? 0
        }

        /// Whether entry `i` passes; its chord to the centre (0 without one).
        func passes(_ i: Int32) -> (Bool, Double) {
            let e = entries[Int(i)]
            guard e.validFrom <= at, at <= e.validTo else { return (false, 0) }
            if let profession, e.profession != profession { return (false, 0) }
            if let postcode, e.postcode != postcode { return (false, 0) }
            if let language {
                if language >= 0 && language < 64 {
                    guard e.languages & (1 << UInt64(language)) != 0 else { return (false, 0) }
                } else if !details[Int(i)].languages.contains(language) {
                    return (false, 0)
                }
            }
            if let qualification, !details[Int(i)].qualifications.contains(qualification) { return (false, 0) }
            guard let centre else { return (true, 0) }
            guard e.hasPlace else { return (false, 0) }
            let chord = PracticeSearchSnapshot.chord(centre, e)
            if let radius {
                // Clearly inside or outside by the chord; near the edge, exactly as earth_distance.
                if chord > radiusChord * (1 + 1e-9) { return (false, chord) }
                if chord >= radiusChord * (1 - 1e-9), PracticeSearchSnapshot.greatCircle(chord: chord) > radius {
                    return (false, chord)
                }
            }
            return (true, chord)
        }
    }

    /// Similarities to a query key of every name (dense by name id: 0 when no trigram is
    /// shared), and the names that share one.
    struct Similarities {
        var values: [Float]
        var sharing: [Int32]

        subscript(name: Int32) -> Float { values[Int(name)] }
    }

    func similarities(to key: String) -> Similarities {
        let trigrams = Trigrams.of(key)
        var shared = [UInt16](repeating: 0, count: names.count)
        var sharing: [Int32] = []
        for trigram in trigrams {
            for name in trigramNames[trigram] ?? [] {
                if shared[Int(name)] == 0 { sharing.append(name) }
                shared[Int(name)] += 1
            }
        }
        var values = [Float](repeating: 0, count: names.count)
        for name in sharing {
            values[Int(name)] = Trigrams.similarity(
                shared: Int(shared[Int(name)]), trigrams.count, Int(nameTrigramCounts[Int(name)]))
        }
        return Similarities(values: values, sharing: sharing)
    }

    /// The cheapest list of entries that holds every match of the filter: a postcode, a
    /// profession, or the grid cells around the centre (per profession when there is one).
    func candidates(_ filter: Filter) -> [ArraySlice<Int32>] {
        var options: [[ArraySlice<Int32>]] = []
        if let postcode = filter.postcode { options.append([(byPostcode[postcode] ?? [])[...]]) }
        if let profession = filter.profession { options.append([(byProfession[profession] ?? [])[...]]) }
        if let near = filter.near, let radius = filter.radius {
            options.append(gridCells(near: near, radius: radius, profession: filter.profession ?? -1))
        }
        guard !options.isEmpty else { return [all[...]] }
        return options.min { a, b in a.reduce(0) { $0 + $1.count } < b.reduce(0) { $0 + $1.count } }!
    }

    func gridCells(near: (latitude: Double, longitude: Double), radius: Double, profession: Int32) -> [ArraySlice<
        Int32
    >] {
        var cells: [ArraySlice<Int32>] = []
        forEachCell(near: near, radius: radius, profession: profession) { _, _, list in cells.append(list[...]) }
        return cells
    }

    /// The non-empty grid cells of the box around the circle (every cell when the box is huge).
    func forEachCell(
        near: (latitude: Double, longitude: Double), radius: Double, profession: Int32,
        _ body: (Int32, Int32, [Int32]) -> Void
    ) {
        // Degrees of latitude per metre on the earthdistance sphere, with 1% to spare.
        let dLat = radius / (Self.earthRadius * Double.pi / 180) * 1.01
        let maxLat = min(89.0, abs(near.latitude) + dLat)
        let dLon = min(180, dLat / cos(maxLat * Double.pi / 180))
        let (r0, c0) = Self.cell(latitude: near.latitude - dLat, longitude: near.longitude - dLon)
        let (r1, c1) = Self.cell(latitude: near.latitude + dLat, longitude: near.longitude + dLon)
        if (Int(r1) - Int(r0) + 1) * (Int(c1) - Int(c0) + 1) < 250_000 {
            for row in r0...r1 {
                for column in c0...c1 {
                    if let list = grid[GridCell(profession: profession, row: row, column: column)] {
                        body(row, column, list)
                    }
                }
            }
        } else {
            for (cell, list) in grid where cell.profession == profession { body(cell.row, cell.column, list) }
        }
    }

    /// Relevance without a place: (0) exact spelling, (1) same letters, (2) similar names among
    /// the 200 most similar, name by name in decreasing similarity. Read in that order, so it
    /// stops as soon as the page is full and the total passes its cap.
    func relevancePage(_ filter: Filter, folded: (exact: String, key: String), into page: inout Page) {
        let keyId = nameIds[folded.key]
        let exact = exacts[folded.exact]
        if let exact {
            for i in exactPostings[Int(exact)] {
                if page.isSettled { return }
                guard filter.passes(i).0 else { continue }
                page.consider(
                    Match(order: Order(a: 0, b: -3, c: -1, rank: Double(i)), index: i, tier: 0, similarity: 0, chord: 0)
                )
            }
        }
        if let keyId {
            for i in namePostings[Int(keyId)] {
                if page.isSettled { return }
                let e = entries[Int(i)]
                guard e.familyExact != exact, e.fullExact != exact, filter.passes(i).0 else { continue }
                page.consider(
                    Match(order: Order(a: 1, b: -2, c: -1, rank: Double(i)), index: i, tier: 1, similarity: 0, chord: 0)
                )
            }
        }
        let similar = similarities(to: folded.key)
        // The 200 most similar names, as the trigram index walk `<->` returns them.
        let closest = similar.sharing.filter { $0 != keyId && Trigrams.isSimilar(similar[$0]) }
            .sorted { (similar[$1], $0) < (similar[$0], $1) }.prefix(200)
        for name in closest {
            let similarity = similar[name]
            for i in namePostings[Int(name)] {
                if page.isSettled { return }
                let e = entries[Int(i)]
                guard e.familyKey != keyId, e.fullKey != keyId else { continue }
                let family = similar[e.familyKey]
                let full = similar[e.fullKey]
                let best = family > full || (family == full && e.familyKey <= e.fullKey) ? e.familyKey : e.fullKey
                guard best == name, filter.passes(i).0 else { continue }
                page.consider(
                    Match(
                        order: Order(a: 2, b: -Double(similarity), c: Double(name), rank: Double(i)), index: i,
                        tier: 2, similarity: similarity, chord: 0))
            }
        }
    }

    /// Relevance within a circle: every similar name in it, by tier, similarity, key.
    func nearbyRelevanceMatches(_ filter: Filter, folded: (exact: String, key: String)) -> [Match] {
        let similar = similarities(to: folded.key)
        let keyId = nameIds[folded.key]
        let exact = exacts[folded.exact] ?? -2
        var matches: [Match] = []
        forEachNameMatch(filter, similar) { i, chord, e, sim in
            let tier =
                e.familyExact == exact || e.fullExact == exact
                ? 0 : (e.familyKey == keyId || e.fullKey == keyId) ? 1 : 2
            matches.append(
                Match(
                    order: Order(a: Double(tier), b: -Double(sim), rank: Double(i)), index: i, tier: tier,
                    similarity: sim, chord: chord))
        }
        return matches
    }

    /// Calls `body` for each entry passing the filter whose family or full key is similar:
    /// from the practices of the similar names or from the filter's candidates, whichever is
    /// shorter.
    func forEachNameMatch(
        _ filter: Filter, _ similar: Similarities, _ body: (Int32, Double, Entry, Float) -> Void
    ) {
        let similarNames = similar.sharing.filter { Trigrams.isSimilar(similar[$0]) }
        let byName = similarNames.reduce(0) { $0 + namePostings[Int($1)].count }
        let byFilter = candidates(filter)
        func visit(_ i: Int32, from name: Int32?) {
            let e = entries[Int(i)]
            let family = similar[e.familyKey]
            let full = similar[e.fullKey]
            guard Trigrams.isSimilar(family) || Trigrams.isSimilar(full) else { return }
            // Listed under both its names: take it under the first similar one only.
            if let name, name != (Trigrams.isSimilar(family) ? e.familyKey : e.fullKey) { return }
            let (passes, chord) = filter.passes(i)
            if passes { body(i, chord, e, max(family, full)) }
        }
        if byName < byFilter.reduce(0, { $0 + $1.count }) {
            for name in similarNames {
                for i in namePostings[Int(name)] { visit(i, from: name) }
            }
        } else {
            for list in byFilter {
                for i in list { visit(i, from: nil) }
            }
        }
    }

    /// Nearest first within the circle (and similar names when there is a name).
    func distanceMatches(_ filter: Filter, folded: (exact: String, key: String)?) -> [Match] {
        var matches: [Match] = []
        if let folded {
            forEachNameMatch(filter, similarities(to: folded.key)) { i, chord, _, _ in
                matches.append(
                    Match(order: Order(a: chord, rank: Double(i)), index: i, tier: 0, similarity: 0, chord: chord))
            }
            return matches
        }
        for list in candidates(filter) {
            for i in list {
                let (passes, chord) = filter.passes(i)
                if passes {
                    matches.append(
                        Match(order: Order(a: chord, rank: Double(i)), index: i, tier: 0, similarity: 0, chord: chord))
                }
            }
        }
        return matches
    }

    /// No name and no place: family name, full name, key.
    func nameOrderMatches(_ filter: Filter) -> [Match] {
        var matches: [Match] = []
        for list in candidates(filter) {
            for i in list where filter.passes(i).0 {
                matches.append(
                    Match(
                        order: Order(a: Double(entries[Int(i)].nameRank), rank: 0), index: i, tier: 0, similarity: 0,
                        chord: 0))
            }
        }
        return matches
    }

    // MARK: Cursors and hits

    /// The rank a cursor's practice key continues after: its own, or (a practice gone since)
    /// half a step before the first key above it.
    func rank(after key: String) -> Double {
        if let rank = rankOfKey[key] { return Double(rank) }
        return Double(Self.partitionPoint(details.count) { details[$0].key < key }) - 0.5
    }

    /// Position of a name key among the names, half a step before the next one when absent.
    func namePosition(_ name: String) -> Double {
        if let id = nameIds[name] { return Double(id) }
        return Double(Self.partitionPoint(names.count) { names[$0] < name }) - 0.5
    }

    func cursorOrder(_ after: (value: String, key: String), sort: PracticeSearchQuery.Sort, nearby: Bool) -> Order {
        let rank = rank(after: after.key)
        let parts = after.value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        switch sort {
        case .distance:
            return Order(a: Double(after.value) ?? 0, rank: rank)
        case .relevance where nearby:
            return Order(
                a: Double(Int(parts[0]) ?? 0), b: -(Double(parts.count > 1 ? parts[1] : "") ?? 0), rank: rank)
        case .relevance:
            let tier = Int(parts[0]) ?? 0
            if tier <= 1 { return Order(a: Double(tier), b: tier == 0 ? -3 : -2, c: -1, rank: rank) }
            return Order(
                a: 2, b: -(Double(parts.count > 1 ? parts[1] : "") ?? 0),
                c: namePosition(parts.count > 2 ? parts[2] : ""), rank: rank)
        case .name:
            let names = after.value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let family = names.first ?? ""
            let full = names.count > 1 ? names[1] : ""
            // The first entry in name order after (family, full, key).
            let position = Self.partitionPoint(byNameRank.count) { position in
                let e = entries[Int(byNameRank[position])]
                let names = (self.names[Int(e.familyKey)], self.names[Int(e.fullKey)])
                return names < (family, full) || (names == (family, full) && Double(byNameRank[position]) <= rank)
            }
            return Order(a: Double(position) - 0.5, rank: 0)
        }
    }

    /// The first position in 0..<count where `isBefore` is false (it must be true, then false).
    static func partitionPoint(_ count: Int, isBefore: (Int) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(mid) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// PostgreSQL's text for a float8 (shortest round trip, no trailing ".0").
    static func postgresText(_ value: Double) -> String {
        let text = "\(value)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    func hit(_ match: Match, query: PracticeSearchQuery, centre: (x: Double, y: Double, z: Double)?)
        -> PracticeSearchHit
    {
        let e = entries[Int(match.index)]
        let detail = details[Int(match.index)]
        var score: Double?
        var sortValue: String
        switch query.sort {
        case .distance:
            sortValue = "\(match.chord)"
        case .relevance where query.near != nil:
            score = match.tier == 0 ? 3 : match.tier == 1 ? 2 : Double(match.similarity)
            sortValue = "\(match.tier)|\(Self.postgresText(Double(match.similarity)))"
        case .relevance:
            score = match.tier == 0 ? 3 : match.tier == 1 ? 2 : Double(match.similarity)
            sortValue =
                match.tier <= 1
                ? "\(match.tier)|\(match.tier == 0 ? 3 : 2)|"
                : "2|\(Self.postgresText(Double(match.similarity)))|\(names[Int(match.order.c)])"
        case .name:
            sortValue = names[Int(e.familyKey)] + "\t" + names[Int(e.fullKey)]
        }
        var distance: Double?
        if let centre { distance = Self.greatCircle(chord: Self.chord(centre, e)) }
        return PracticeSearchHit(
            practiceKey: detail.key, practice: .null, rendered: detail.rendered,
            professionalId: detail.professionalId, familyName: detail.familyName, givenName: detail.givenName,
            profession: e.profession >= 0 ? codeNames[Int(e.profession)] : nil,
            qualifications: detail.qualifications.map { codeNames[Int($0)] }, distanceMetres: distance, score: score,
            sortValue: sortValue)
    }
}

/// A practice found by ``PracticeSearchSnapshot/nearest(to:radius:profession:postcode:at:offset:limit:)``.
package struct PracticeSnapshotHit: Sendable {
    package var key: String
    /// The practice as the resource renderer made it when the snapshot loaded (empty without one).
    package var resource: [UInt8]
}

extension PracticeSearchSnapshot {
    /// The practices valid on `at` within `radius` metres, nearest first and then in key order
    /// (the order of FHIR's `near` search in PostgreSQL), skipping `offset`; `hasMore` when
    /// another follows the `limit` returned.
    package func nearest(
        to near: (latitude: Double, longitude: Double), radius: Double, profession: String?, postcode: String?,
        at: LocalDate, offset: Int, limit: Int
    ) -> (hits: [PracticeSnapshotHit], hasMore: Bool) {
        var query = PracticeSearchQuery(at: at, sort: .distance, limit: offset + limit + 1)
        query.near = near
        query.radiusMetres = radius
        query.profession = profession
        query.postcode = postcode
        let filter = Filter(snapshot: self, query: query)
        var page = Page(after: nil, count: offset + limit + 1)
        if postcode == nil {
            nearestPage(filter, near: near, radius: radius, into: &page)
        } else {
            for match in distanceMatches(filter, folded: nil) { page.consider(match) }
        }
        let kept = page.kept.dropFirst(offset)
        let hits = kept.prefix(limit).map { match in
            let detail = details[Int(match.index)]
            return PracticeSnapshotHit(key: detail.key, resource: detail.resource)
        }
        return (hits, kept.count > limit)
    }

    /// Seconds since 1970-01-01 UTC as `YYYY-MM-DDTHH:MM:SSZ`.
    static func timestamp(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(LocalDate(dayNumber: Int(days)))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }
}
