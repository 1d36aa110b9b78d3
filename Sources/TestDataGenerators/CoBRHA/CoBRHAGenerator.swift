import Foundation
import RegistryCore

/// What ``CoBRHAGenerator/write(to:)`` wrote.
package struct CoBRHAGeneratorSummary: Sendable, Hashable {
    /// Professionals in the FPS Health snapshot (the RIZIV-INAMI one lists ~95% of them).
    package var professionals: Int
    /// Institutions (`HealthCareOrganization`) in the RIZIV-INAMI snapshot.
    package var institutions: Int
    /// Rows of the practice register.
    package var practices: Int
    /// The file names written into the folder.
    package var files: [String]

    package init(professionals: Int, institutions: Int, practices: Int, files: [String]) {
        self.professionals = professionals
        self.institutions = institutions
        self.practices = practices
        self.files = files
    }
}

/// Writes a deterministic, Belgium-sized CoBRHA snapshot pair (FPS Health: identities, professions
/// and visas; RIZIV-INAMI: NIHIIs, qualifications, recognitions and institutions) and a practice
/// register, in the formats of docs/PROVIDER-FORMATS.md.
///
/// Scale 1.0: 500,000 professionals, 30,000 institutions, 600,000 practice rows. Every person is
/// produced from the seed and its index, written to both snapshots at once, and only what the
/// practice register needs (NIHIIs, name indices, home postcode, period) stays in memory.
package struct CoBRHAGenerator: Sendable {
    package let scale: Double
    package let seed: UInt64

    package init(scale: Double, seed: UInt64) {
        self.scale = scale
        self.seed = seed
    }

    package static let fpsFileName = "cobrha-fps-health.xml"
    package static let rizivFileName = "cobrha-riziv-inami.xml"
    package static let practicesFileName = "practices.csv"

    /// A generation that cannot be done (bad scale, unwritable folder, number space exhausted).
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }

    var professionalCount: Int { max(60, Int((500_000 * scale).rounded())) }
    var institutionCount: Int { max(20, Int((30_000 * scale).rounded())) }
    var practiceCount: Int { max(60, Int((600_000 * scale).rounded())) }

    /// The snapshots' reference day: nothing is dated after it.
    static let referenceDay = Day.from(2026, 11, 27)
    static let created = "2026-11-27T06:00:00Z"

    package func write(to directory: URL) throws -> CoBRHAGeneratorSummary {
        guard scale.isFinite, scale > 0, scale <= 4 else { throw Failure("scale must be in (0, 4], got \(scale)") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let model = try Model()
        let institutions = try makeInstitutions(model)

        let fps = try Output(directory.appendingPathComponent(Self.fpsFileName))
        let riziv = try Output(directory.appendingPathComponent(Self.rizivFileName))
        defer {
            fps.close()
            riziv.close()
        }
        for (output, source) in [(fps, "FPS-HEALTH"), (riziv, "RIZIV-INAMI")] {
            output.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            output.raw("<CoBRHASnapshot xmlns=\"urn:be:registry:cobrha:snapshot:1\" source=\"\(source)\"")
            output.raw(" snapshotId=\"\(source.lowercased())-20261127-seed\(seed)\" created=\"\(Self.created)\">\n")
        }
        let subjects = try writeProfessionals(model, fps: fps, riziv: riziv)
        for institution in institutions {
            writeInstitution(institution, model, to: riziv)
            try riziv.flushIfFull()
        }
        for output in [fps, riziv] {
            output.raw("</CoBRHASnapshot>\n")
            try output.flush()
        }

        let csv = try Output(directory.appendingPathComponent(Self.practicesFileName))
        defer { csv.close() }
        let rows = try writePractices(model, subjects: subjects, institutions: institutions, to: csv)
        try csv.flush()
        return CoBRHAGeneratorSummary(
            professionals: professionalCount, institutions: institutions.count, practices: rows,
            files: [Self.fpsFileName, Self.rizivFileName, Self.practicesFileName])
    }
}

// MARK: - Randomness, days, output

extension CoBRHAGenerator {
    /// Seeded draws, on ``SplitMix64`` (the same on every platform).
    struct Random {
        var mix: SplitMix64

        init(_ seed: UInt64, stream: UInt64, index: Int) {
            mix = SplitMix64(
                state: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (stream &* 0xD6E8_FEB8_6659_FD93)
                    ^ (UInt64(truncatingIfNeeded: index) &* 0xA076_1D64_78BD_642F))
            _ = next()
            _ = next()
        }

        mutating func next() -> UInt64 { mix.next() }

        /// 0..<n (0 when n <= 1).
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
        mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
        mutating func chance(_ p: Double) -> Bool { unit() < p }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    /// Picks an index with probability proportional to its weight.
    struct Weighted: Sendable {
        let cumulative: [Double]

        init(_ weights: [Double]) {
            var sum = 0.0
            cumulative = weights.map {
                sum += max(0, $0)
                return sum
            }
        }

        var isEmpty: Bool { (cumulative.last ?? 0) <= 0 }

        func pick(_ random: inout Random) -> Int {
            let x = random.unit() * (cumulative.last ?? 0)
            var (low, high) = (0, cumulative.count - 1)
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] > x { high = mid } else { low = mid + 1 }
            }
            return low
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    enum Day {
        static func from(_ year: Int, _ month: Int, _ day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yoe = y - era * 400
            let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146_097 + doe - 719_468
        }

        static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let day = doy - (153 * mp + 2) / 5 + 1
            let month = mp < 10 ? mp + 3 : mp - 9
            return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
        }

        static let year = 365
    }

    /// Text written through a 1 MiB buffer.
    final class Output {
        private let handle: FileHandle
        private var buffer: [UInt8] = []

        init(_ url: URL) throws {
            guard FileManager.default.createFile(atPath: url.path, contents: nil),
                let handle = FileHandle(forWritingAtPath: url.path)
            else { throw Failure("cannot create \(url.path)") }
            self.handle = handle
            buffer.reserveCapacity((1 << 20) + (256 << 10))
        }

        func flushIfFull() throws { if buffer.count >= 1 << 20 { try flush() } }

        func flush() throws {
            guard !buffer.isEmpty else { return }
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }

        func close() { try? handle.close() }

        func raw(_ text: StaticString) { text.withUTF8Buffer { buffer.append(contentsOf: $0) } }
        func raw(_ text: String) { buffer.append(contentsOf: text.utf8) }
        func byte(_ value: UInt8) { buffer.append(value) }

        /// XML character data or attribute value.
        func text(_ value: String) {
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "&"): raw("&amp;")
                case UInt8(ascii: "<"): raw("&lt;")
                case UInt8(ascii: ">"): raw("&gt;")
                case UInt8(ascii: "\""): raw("&quot;")
                default: buffer.append(byte)
                }
            }
        }

        /// One CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
        func field(_ value: String) {
            let needsQuotes = value.utf8.contains {
                $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D
            }
            guard needsQuotes else { return raw(value) }
            buffer.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") { buffer.append(byte) }
                buffer.append(byte)
            }
            buffer.append(UInt8(ascii: "\""))
        }

        /// A non-negative number, zero-padded to `width` digits.
        func number(_ value: Int, width: Int = 1) {
            var count = 1
            var rest = value / 10
            while rest > 0 {
                count += 1
                rest /= 10
            }
            let digits = max(count, width)
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
            var (n, i) = (value, start + digits - 1)
            while n > 0 {
                buffer[i] = UInt8(48 + n % 10)
                n /= 10
                i -= 1
            }
        }

        func date(_ day: Int) {
            let (y, m, d) = Day.civil(day)
            number(y, width: 4)
            byte(UInt8(ascii: "-"))
            number(m, width: 2)
            byte(UInt8(ascii: "-"))
            number(d, width: 2)
        }

        /// Micro-degrees as a decimal with six places.
        func coordinate(_ micro: Int) {
            if micro < 0 { byte(UInt8(ascii: "-")) }
            number(abs(micro) / 1_000_000)
            byte(UInt8(ascii: "."))
            number(abs(micro) % 1_000_000, width: 6)
        }

        /// ` name="YYYY-MM-DD"`
        func dateAttribute(_ name: StaticString, _ day: Int) {
            byte(UInt8(ascii: " "))
            raw(name)
            raw("=\"")
            date(day)
            byte(UInt8(ascii: "\""))
        }
    }
}

extension CoBRHAGenerator {
    struct Place {
        var code: String
        var number: Int
        var region: Region
        var fr: String?
        var nl: String?
        var latitude: Double
        var longitude: Double
    }

    struct Model {
        let places: [Place]
        let placeSampler: Weighted
        let regionPlaces: [[Int]]
        let regionPlaceSamplers: [Weighted]
        let professions: [ProfessionSpec]
        let professionSampler: Weighted
        let professionIndex: [String: Int]
        /// Per profession: the specialities the catalog knows, and their sampler.
        let specialities: [[String]]
        let specialitySamplers: [Weighted]
        let nihiiDigit: [Int]
        let organisations: [OrganisationSpec]
        let organisationSampler: Weighted
        let organisationIndex: [String: Int]
        let subSpecialities: [String: [String]]
        let surnames: [String]
        let surnameOrigin: [Origin]
        let surnamesByOrigin: [[Int]]
        let surnameSamplers: [Weighted]
        let showcase: [Int]
        let firstNames: [String]
        /// [origin * 2 + (female ? 1 : 0)]
        let firstNamesBy: [[Int]]
        let firstNameSamplers: [Weighted]
        let originSamplers: [Weighted]
        let birthYears: Weighted

        init() throws {
            let catalog = ProfessionCatalog.bundled
            let directory = PostcodeDirectory.bundled
            let known = { (code: String, organisation: Bool) -> Bool in
                catalog.entries.isEmpty
                    || (organisation ? catalog.isOrganisationType(code) : catalog.isProfession(code))
            }

            // Postcodes with a centroid that are places (not a parliament, a broadcaster or a sorting centre).
            var flags: [String: String] = [:]
            if let text = PostcodeDirectory.bundledCSV {
                for line in text.split(whereSeparator: \.isNewline).dropFirst() {
                    let fields = CSVLine.fields(line)
                    if fields.count >= 6 { flags[fields[0]] = fields[5] }
                }
            }
            var places: [Place] = []
            for (code, entry) in directory.entries {
                guard let centre = entry.centroid, let number = Int(code), code.utf8.count == 4,
                    !(flags[code] ?? "").hasPrefix("only-adriaanvermeire"), !entry.names.isEmpty
                else { continue }
                let region = Region(postcode: number)
                var (fr, nl): (String?, String?) = (nil, nil)
                if entry.names.count >= 2 {
                    (fr, nl) = (entry.names.first, entry.names.last)
                } else if region == .flanders {
                    nl = entry.names[0]
                } else {
                    fr = entry.names[0]
                }
                places.append(
                    Place(
                        code: code, number: number, region: region, fr: fr, nl: nl, latitude: centre.latitude,
                        longitude: centre.longitude))
            }
            places.sort { $0.number < $1.number }
            guard !places.isEmpty else { throw Failure("the bundled postcode table is empty") }
            var weights = places.map { place in
                (1 + 0.25 * Double(min(PostcodeDirectory.bundled.entries[place.code]?.names.count ?? 1, 8)))
                    * (Tables.cities[place.number] ?? 1)
            }
            var regionPlaces = Array(repeating: [Int](), count: Region.allCases.count)
            var regionTotals = Array(repeating: 0.0, count: Region.allCases.count)
            for (i, place) in places.enumerated() {
                regionPlaces[place.region.rawValue].append(i)
                regionTotals[place.region.rawValue] += weights[i]
            }
            for (i, place) in places.enumerated() {
                weights[i] *= place.region.share / regionTotals[place.region.rawValue]
            }
            self.places = places
            placeSampler = Weighted(weights)
            self.regionPlaces = regionPlaces
            regionPlaceSamplers = regionPlaces.map { Weighted($0.map { weights[$0] }) }

            professions = Tables.professions.filter { known($0.code, false) }
            guard !professions.isEmpty else { throw Failure("no profession of the generator is in the catalog") }
            professionSampler = Weighted(professions.map(\.weight))
            professionIndex = Dictionary(uniqueKeysWithValues: professions.enumerated().map { ($1.code, $0) })
            specialities = professions.map { $0.specialities.map(\.0).filter { known($0, false) } }
            specialitySamplers = professions.map { spec in
                Weighted(spec.specialities.filter { known($0.0, false) }.map(\.1))
            }
            nihiiDigit = professions.map { spec in
                catalog.nihiiDigits[spec.code].flatMap { $0.sorted().first?.wholeNumberValue } ?? 7
            }
            subSpecialities = Tables.subSpecialities.mapValues { $0.filter { known($0, false) } }
            organisations = Tables.organisations.filter { known($0.code, true) }
            guard !organisations.isEmpty else {
                throw Failure("no organisation type of the generator is in the catalog")
            }
            organisationSampler = Weighted(organisations.map(\.weight))
            organisationIndex = Dictionary(uniqueKeysWithValues: organisations.enumerated().map { ($1.code, $0) })

            var surnames: [String] = []
            var surnameOrigin: [Origin] = []
            var byOrigin: [[Int]] = []
            var samplers: [Weighted] = []
            for origin in Origin.allCases {
                var indices: [Int] = []
                var weights: [Double] = []
                for (rank, group) in Tables.surnames[origin.rawValue].enumerated() {
                    let variants = group.split(separator: "/").map(String.init)
                    let groupWeight = 1 / Double(rank + (origin == .other ? 15 : 6))
                    for (v, variant) in variants.enumerated() {
                        let share = variants.count == 1 ? 1 : v == 0 ? 0.7 : 0.3 / Double(variants.count - 1)
                        indices.append(surnames.count)
                        weights.append(groupWeight * share)
                        surnames.append(variant)
                        surnameOrigin.append(origin)
                    }
                }
                byOrigin.append(indices)
                samplers.append(Weighted(weights))
            }
            self.surnames = surnames
            self.surnameOrigin = surnameOrigin
            surnamesByOrigin = byOrigin
            surnameSamplers = samplers
            showcase = Tables.showcase.compactMap { name in surnames.firstIndex(of: name) }

            var firstNames: [String] = []
            var firstBy: [[Int]] = []
            var firstSamplers: [Weighted] = []
            for origin in Origin.allCases {
                for names in Tables.firstNames[origin.rawValue] {
                    firstBy.append(names.indices.map { firstNames.count + $0 })
                    firstSamplers.append(Weighted(names.indices.map { 1 / Double($0 + 5) }))
                    firstNames += names
                }
            }
            self.firstNames = firstNames
            firstNamesBy = firstBy
            firstNameSamplers = firstSamplers

            originSamplers = Region.allCases.map { region in
                switch region {
                case .brussels: Weighted([0.15, 0.40, 0.01, 0.44])
                case .flanders: Weighted([0.86, 0.04, 0.005, 0.095])
                case .wallonia: Weighted([0.05, 0.83, 0.01, 0.11])
                case .german: Weighted([0.03, 0.25, 0.67, 0.05])
                }
            }
            birthYears = Weighted((1940...2003).map(Self.birthYearWeight))
        }

        /// Fewer of the oldest (most have retired) and of the youngest (still studying).
        static func birthYearWeight(_ year: Int) -> Double {
            if year < 1955 { return 0.25 + Double(year - 1940) * 0.04 }
            if year <= 1995 { return 1 }
            return max(0.3, 1 - Double(year - 1995) * 0.1)
        }

        func place(in region: Region, _ random: inout Random) -> Int {
            let candidates = regionPlaces[region.rawValue]
            guard !candidates.isEmpty else { return placeSampler.pick(&random) }
            return candidates[regionPlaceSamplers[region.rawValue].pick(&random)]
        }

        func surname(for region: Region, _ random: inout Random) -> String {
            let origin = originSamplers[region.rawValue].pick(&random)
            return surnames[surnamesByOrigin[origin][surnameSamplers[origin].pick(&random)]]
        }
    }
}

// MARK: - Addresses and institutions

extension CoBRHAGenerator {
    struct Address {
        var streetFR: String?
        var streetNL: String?
        var streetDE: String?
        var number: String
        var box: String?
        var place: Int
        var latitude: Int?
        var longitude: Int?
    }

    static func makeAddress(place index: Int, _ model: Model, _ random: inout Random) -> Address {
        let place = model.places[index]
        var address = Address(number: "", place: index)
        switch place.region {
        case .brussels:
            let street = random.pick(Tables.brusselsStreets)
            (address.streetFR, address.streetNL) = (street.fr, street.nl)
        case .flanders: address.streetNL = random.pick(Tables.flemishStreets)
        case .wallonia:
            address.streetFR = random.chance(0.002) ? Tables.quotedStreet : random.pick(Tables.walloonStreets)
        case .german:
            let street = random.pick(Tables.germanStreets)
            (address.streetDE, address.streetFR) = (street.de, street.fr)
        }
        var number = String(1 + Int(pow(random.unit(), 1.7) * 240))
        let shape = random.unit()
        if shape < 0.06 {
            number += random.pick(["A", "B", "C", "D"])
        } else if shape < 0.09 {
            number += "-" + String(Int(number)! + 2)
        }
        address.number = number
        if random.chance(0.12) {
            address.box = random.pick([
                "1", "2", "3", "4", "5", "6", "8", "11", "12", "21", "A", "B", "0.1", "0.2", "1.1",
            ])
        }
        if random.chance(0.7) {
            let distance = 2.0 * random.unit().squareRoot()
            let angle = 2 * Double.pi * random.unit()
            let latitude = place.latitude + distance * cos(angle) / 111.32
            let longitude = place.longitude + distance * sin(angle) / (111.32 * cos(place.latitude * .pi / 180))
            address.latitude = Int((latitude * 1_000_000).rounded())
            address.longitude = Int((longitude * 1_000_000).rounded())
        }
        return address
    }

    struct Institution {
        var nihii: String
        var cbe: String?
        var ehp: String?
        var type: Int
        var nameFR: String?
        var nameNL: String?
        var address: Address
        var from: Int
        /// Last active day of a closed institution.
        var closed: Int?
    }

    func makeInstitutions(_ model: Model) throws -> [Institution] {
        var counters: [Int: Int] = [:]
        var cbeCounter = 0
        var ehpCounter = 0
        var institutions: [Institution] = []
        institutions.reserveCapacity(institutionCount)
        for index in 0..<institutionCount {
            var random = Random(seed, stream: 2, index: index)
            let type = index < model.organisations.count ? index : model.organisationSampler.pick(&random)
            let spec = model.organisations[type]
            let placeIndex = model.placeSampler.pick(&random)
            let place = model.places[placeIndex]

            let counter = counters[spec.digit, default: 0]
            counters[spec.digit] = counter + 1
            guard counter < 100_000 else {
                throw Failure("more than 100,000 institutions with NIHII digit \(spec.digit)")
            }
            let nihii = NIHII.organisation(
                body: spec.digit * 100_000 + (counter * 7919 + spec.digit * 13_127 + 12_345) % 100_000
            ).digits

            var cbe: String?
            if random.chance(spec.cbe) {
                let body = 2_000_000 + (cbeCounter * 7_777_777 + 1_234_567) % 18_000_000
                cbeCounter += 1
                cbe = Self.padded(body, 8) + Self.twoDigits(97 - body % 97)
            }
            var ehp: String?
            if random.chance(spec.ehp) {
                ehp = "8" + Self.padded((ehpCounter * 123_456_791 + 310_000_000) % 1_000_000_000, 9)
                ehpCounter += 1
            }

            let style = random.pick(spec.names)
            var suffix: (fr: String, nl: String)
            switch style.style {
            case .surname:
                let name = model.surname(for: place.region, &random)
                suffix = (name, name)
            case .pair: suffix = random.pick(Tables.pairs)
            case .saint: suffix = random.pick(Tables.saints)
            case .municipality: suffix = (place.fr ?? place.nl ?? place.code, place.nl ?? place.fr ?? place.code)
            }
            var nameFR: String? = "\(style.fr) \(suffix.fr)"
            var nameNL: String? = "\(style.nl) \(suffix.nl)"
            switch place.region {
            case .brussels: break
            case .flanders: if !random.chance(0.4) { nameFR = nil }
            case .wallonia: if !random.chance(0.4) { nameNL = nil }
            case .german: if !random.chance(0.2) { nameNL = nil }
            }

            let address = Self.makeAddress(place: placeIndex, model, &random)
            let from = Day.from(1970, 1, 1) + random.below(Self.referenceDay - 365 - Day.from(1970, 1, 1))
            var closed: Int?
            if random.chance(0.03) { closed = from + 30 + random.below(Self.referenceDay - from - 60) }
            institutions.append(
                Institution(
                    nihii: nihii, cbe: cbe, ehp: ehp, type: type, nameFR: nameFR, nameNL: nameNL, address: address,
                    from: from, closed: closed))
        }
        return institutions
    }

    func writeInstitution(_ institution: Institution, _ model: Model, to out: Output) {
        out.raw("  <HealthCareOrganization>\n")
        out.raw("    <Identifier scheme=\"nihii\">\(institution.nihii)</Identifier>\n")
        if let cbe = institution.cbe { out.raw("    <Identifier scheme=\"cbe\">\(cbe)</Identifier>\n") }
        if let ehp = institution.ehp { out.raw("    <Identifier scheme=\"ehp\">\(ehp)</Identifier>\n") }
        out.raw("    <Type>\(model.organisations[institution.type].code)</Type>\n")
        let place = model.places[institution.address.place]
        let names: [(String, String?)] =
            place.region == .flanders
            ? [("nl", institution.nameNL), ("fr", institution.nameFR)]
            : [("fr", institution.nameFR), ("nl", institution.nameNL)]
        for case let (language, name?) in names {
            out.raw("    <Name xml:lang=\"\(language)\">")
            out.text(name)
            out.raw("</Name>\n")
        }
        writeAddress(institution.address, model, to: out)
        out.raw("    <Status code=\"ACTIVE\"")
        out.dateAttribute("from", institution.from)
        if let closed = institution.closed {
            out.dateAttribute("to", closed)
            out.raw("/>\n    <Status code=\"CLOSED\"")
            out.dateAttribute("from", closed + 1)
        }
        out.raw("/>\n  </HealthCareOrganization>\n")
    }

    func writeAddress(_ address: Address, _ model: Model, to out: Output) {
        let place = model.places[address.place]
        out.raw("    <Address>\n")
        for (language, street) in [("de", address.streetDE), ("fr", address.streetFR), ("nl", address.streetNL)] {
            guard let street else { continue }
            out.raw("      <Street xml:lang=\"\(language)\">")
            out.text(street)
            out.raw("</Street>\n")
        }
        out.raw("      <HouseNumber>")
        out.text(address.number)
        out.raw("</HouseNumber>\n")
        if let box = address.box {
            out.raw("      <PostBox>")
            out.text(box)
            out.raw("</PostBox>\n")
        }
        out.raw("      <PostalCode>\(place.code)</PostalCode>\n")
        for (language, name) in [("fr", place.fr), ("nl", place.nl)] {
            guard let name else { continue }
            out.raw("      <Municipality xml:lang=\"\(language)\">")
            out.text(name)
            out.raw("</Municipality>\n")
        }
        out.raw("      <Country>BE</Country>\n")
        if let latitude = address.latitude, let longitude = address.longitude {
            out.raw("      <Latitude>")
            out.coordinate(latitude)
            out.raw("</Latitude>\n      <Longitude>")
            out.coordinate(longitude)
            out.raw("</Longitude>\n")
        }
        out.raw("    </Address>\n")
    }
}

// MARK: - Professionals

extension CoBRHAGenerator {
    struct Licence {
        var status: StaticString
        var from: Int
        var to: Int?
    }

    struct Qualification {
        var code: String
        var from: Int
        var to: Int?
    }

    struct Profession {
        var spec: Int
        var from: Int
        var to: Int?
        var visa: [Licence] = []
        var recognition: [Licence] = []
        var qualifications: [Qualification] = []
        /// The last two digits of the NIHII competence code.
        var competence = 0
    }

    struct Person {
        var home: Int
        var origin: Origin
        /// M, F or X
        var gender: String
        var firstName: Int
        var lastName: Int
        var birth: Int
        /// 0, or 20/40 for a BIS number.
        var bis: Int
        var serial: Int
        var death: Int?
        var languages: [String]
        var professions: [Profession]
        /// RIZIV spells the name differently.
        var variant: Bool
    }

    /// What the practice register needs of one NIHII.
    struct Subject {
        var nihii: Int
        var firstName: Int32
        var lastName: Int32
        var home: Int32
        var spec: UInt8
        /// 0 fr, 1 nl, 2 de
        var language: UInt8
        var from: Int32
        /// Last day of the profession (Int32.max: open).
        var end: Int32
    }

    func makePerson(_ index: Int, _ model: Model) -> Person {
        var random = Random(seed, stream: 1, index: index)
        let ref = Self.referenceDay
        let first = index < model.professions.count ? index : model.professionSampler.pick(&random)
        let spec = model.professions[first]
        let home = model.placeSampler.pick(&random)
        let region = model.places[home].region
        var origin = Origin(rawValue: model.originSamplers[region.rawValue].pick(&random))!
        let showcaseIndex = index - model.professions.count
        let lastName: Int
        if showcaseIndex >= 0, showcaseIndex < model.showcase.count {
            lastName = model.showcase[showcaseIndex]
            origin = model.surnameOrigin[lastName]
        } else {
            lastName = model.surnamesByOrigin[origin.rawValue][model.surnameSamplers[origin.rawValue].pick(&random)]
        }

        var year = 1940 + model.birthYears.pick(&random)
        let latest = 2025 - spec.age
        if year > latest { year = latest - random.below(8) }
        let birth = Day.from(year, 1, 1) + random.below(Day.from(year + 1, 1, 1) - Day.from(year, 1, 1))
        let female =
            spec.code == "persphysician" ? (year < 1970 ? 0.3 : year < 1986 ? 0.5 : 0.66) : spec.female
        let gender = random.chance(0.0004) ? "X" : random.chance(female) ? "F" : "M"
        let isFemale = gender == "F" || (gender == "X" && random.chance(0.5))
        let group = origin.rawValue * 2 + (isFemale ? 1 : 0)
        let firstName = model.firstNamesBy[group][model.firstNameSamplers[group].pick(&random)]
        let bis = random.chance(0.01) ? (random.chance(0.5) ? 20 : 40) : 0
        var serial = 1 + random.below(499) * 2
        if gender == "F" || (gender == "X" && isFemale) { serial += 1 }

        var primary: String
        switch origin {
        case .flemish: primary = "nl"
        case .walloon: primary = "fr"
        case .german: primary = "de"
        case .other: primary = region == .flanders ? "nl" : region == .german ? "de" : "fr"
        }
        if region == .brussels, origin == .other, random.chance(0.15) { primary = "nl" }
        var languages = [primary]
        if random.chance(0.18) {
            let second: String
            switch primary {
            case "nl": second = random.chance(0.5) ? "fr" : "en"
            case "de": second = random.chance(0.8) ? "fr" : "en"
            default: second = random.chance(0.5) ? "nl" : "en"
            }
            languages.append(second)
        }

        // Professions: one for most, two for ~8%, three rarely.
        var specs = [first]
        if random.chance(0.08) {
            for _ in 0..<(random.chance(0.08) ? 2 : 1) {
                let from = model.professions[specs.last!].secondary.compactMap { entry in
                    model.professionIndex[entry.0].map { ($0, entry.1) }
                }.filter { !specs.contains($0.0) }
                let fallback = ["persnurse", "perspracticalnurse", "persdietician", "persoccupationaltherapist"]
                    .compactMap { model.professionIndex[$0] }.filter { !specs.contains($0) }
                if !from.isEmpty {
                    specs.append(from[Weighted(from.map(\.1)).pick(&random)].0)
                } else if !fallback.isEmpty {
                    specs.append(random.pick(fallback))
                }
            }
        }
        let age = 2026 - year
        let historicChance = age > 72 ? 0.4 : age > 66 ? 0.2 : 0.03
        var professions: [Profession] = []
        var previousFrom = 0
        for (n, s) in specs.enumerated() {
            let ps = model.professions[s]
            var from =
                n == 0
                ? birth + ps.age * Day.year + random.below(4 * Day.year)
                : previousFrom + 200 + random.below(10 * Day.year)
            from = min(from, ref - 30 - random.below(200))
            from = max(from, birth + 18 * Day.year)
            previousFrom = from
            var to: Int?
            if ref - from > 400, random.chance(historicChance) { to = from + 365 + random.below(ref - from - 400) }
            professions.append(Profession(spec: s, from: from, to: to))
        }
        var death: Int?
        if random.chance(age > 72 ? 0.012 : 0.0015) {
            let low = max(professions.map(\.from).max()! + 30, birth + 25 * Day.year)
            let high = ref - 2
            let day = low >= high ? high : low + random.below(high - low)
            death = day
            for i in professions.indices { professions[i].to = min(professions[i].to ?? day, day) }
        }

        for i in professions.indices {
            var p = professions[i]
            let ps = model.professions[p.spec]
            // FPS Health visa.
            if let to = p.to {
                if death == nil, random.chance(0.15) {
                    if to - p.from > 60 {
                        let suspended = p.from + (to - p.from) / 2 + random.below((to - p.from) / 2)
                        p.visa = [
                            Licence(status: "ACTIVE", from: p.from, to: suspended - 1),
                            Licence(status: "SUSPENDED", from: suspended, to: to),
                        ]
                    } else {
                        p.visa = [Licence(status: "SUSPENDED", from: p.from, to: to)]
                    }
                } else {
                    p.visa = [Licence(status: "EXPIRED", from: p.from, to: to)]
                }
            } else if ref - p.from > 1000, random.chance(0.01) {
                let start = p.from + 365 + random.below(ref - p.from - 800)
                let end = start + 30 + random.below(300)
                p.visa = [
                    Licence(status: "ACTIVE", from: p.from, to: start - 1),
                    Licence(status: "SUSPENDED", from: start, to: end),
                    Licence(status: "ACTIVE", from: end + 1),
                ]
            } else {
                p.visa = [Licence(status: "ACTIVE", from: p.from)]
            }
            // RIZIV-INAMI recognition.
            let last = p.to ?? ref
            let recognised = min(p.from + random.below(120), last)
            p.recognition = [
                p.to == nil
                    ? Licence(status: "ACTIVE", from: recognised)
                    : Licence(status: "EXPIRED", from: recognised, to: p.to)
            ]
            // Qualifications.
            let codes = model.specialities[p.spec]
            if !codes.isEmpty, random.chance(ps.specialityChance) {
                let pickIndex = model.specialitySamplers[p.spec].pick(&random)
                let code = codes[pickIndex]
                let general = code == "persgeneralphysician"
                let training = ps.code == "persphysician" ? (general ? 3 : 5) : ps.training
                let start = p.from + training * Day.year + random.below(Day.year)
                if start < last - 1 {
                    if random.chance(0.07), start - p.from > 60, codes.count > 1 {
                        var previous = codes[random.below(codes.count)]
                        if previous == code { previous = codes[(pickIndex + 1) % codes.count] }
                        p.qualifications.append(Qualification(code: previous, from: p.from, to: start - 1))
                    }
                    p.qualifications.append(Qualification(code: code, from: start, to: p.to))
                    if let children = model.subSpecialities[code], !children.isEmpty, random.chance(0.25) {
                        let childStart = start + 365 + random.below(3 * Day.year)
                        if childStart < last - 1 {
                            p.qualifications.append(
                                Qualification(code: random.pick(children), from: childStart, to: p.to))
                        }
                    }
                    if ps.code == "persphysician" {
                        p.competence = general ? random.pick([3, 4, 8, 9]) : 10 + pickIndex % 90
                    }
                } else if ps.code == "persphysician" {
                    p.competence = random.pick([0, 1, 5, 6])
                }
            }
            professions[i] = p
        }
        professions.sort { $0.from < $1.from }
        return Person(
            home: home, origin: origin, gender: gender, firstName: firstName, lastName: lastName, birth: birth,
            bis: bis, serial: serial, death: death, languages: languages, professions: professions,
            variant: random.chance(0.01))
    }

    /// The SSIN's first nine digits.
    static func ssinBody(_ person: Person, serial: Int) -> Int {
        let (y, m, d) = Day.civil(person.birth)
        return (y % 100) * 10_000_000 + (m + person.bis) * 100_000 + d * 1000 + serial
    }

    static func ssinCheck(body: Int, birthYear: Int) -> Int {
        birthYear >= 2000 ? 97 - (2_000_000_000 + body) % 97 : 97 - body % 97
    }

    /// The RIZIV spelling of a name: without accents, other particle case, or joined particles.
    static func variantName(first: String, last: String) -> (String, String) {
        let (foldedFirst, foldedLast) = (folded(first), folded(last))
        if foldedLast != last { return (first, foldedLast) }
        if foldedFirst != first { return (foldedFirst, last) }
        let words = last.split(separator: " ")
        if words.count > 1 {
            let capitalised = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
            return (first, capitalised != last ? capitalised : words.joined())
        }
        if first.contains("-") { return (first.replacingOccurrences(of: "-", with: " "), last) }
        return (first, last.uppercased())
    }

    func writeProfessionals(_ model: Model, fps: Output, riziv: Output) throws -> [Subject] {
        var ssins = Set<Int>()
        ssins.reserveCapacity(professionalCount)
        var counters = Array(repeating: 0, count: 10)
        var subjects: [Subject] = []
        subjects.reserveCapacity(Int(Double(professionalCount) * 1.1))
        for index in 0..<professionalCount {
            let person = makePerson(index, model)
            let birthYear = Day.civil(person.birth).year
            var serial = person.serial
            var body = Self.ssinBody(person, serial: serial)
            var attempts = 0
            while !ssins.insert(body).inserted {
                serial = serial + 2 > 998 ? 2 - serial % 2 : serial + 2
                body = Self.ssinBody(person, serial: serial)
                attempts += 1
                guard attempts < 500 else { throw Failure("no free SSIN serial for person \(index)") }
            }
            let ssin = Self.padded(body, 9) + Self.twoDigits(Self.ssinCheck(body: body, birthYear: birthYear))
            let firstName = model.firstNames[person.firstName]
            let lastName = model.surnames[person.lastName]

            writePersonHeader(
                ssin: ssin, first: firstName, last: lastName, person: person, languages: person.languages, to: fps)
            for profession in person.professions {
                writeProfessionStart(profession, model, source: "FPS-HEALTH", to: fps)
                for licence in profession.visa { writeLicence(licence, kind: "visa", to: fps) }
                fps.raw("    </Profession>\n")
            }
            fps.raw("  </HealthCareProfessional>\n")

            let known = person.professions.filter { model.professions[$0.spec].riziv }
            if !known.isEmpty {
                let (first, last) =
                    person.variant ? Self.variantName(first: firstName, last: lastName) : (firstName, lastName)
                writePersonHeader(
                    ssin: ssin, first: first, last: last, person: person, languages: [person.languages[0]], to: riziv)
                for profession in known {
                    let digit = model.nihiiDigit[profession.spec]
                    let counter = counters[digit]
                    counters[digit] += 1
                    guard counter < 1_000_000 else { throw Failure("more than 1,000,000 NIHIIs with digit \(digit)") }
                    let number = ((counter % 100_000) * 37_813 + digit * 21_011 + 4099) % 100_000
                    let nihii = NIHII.person(
                        professionDigit: digit, number: number,
                        competence: (counter / 100_000) * 100 + profession.competence)
                    writeProfessionStart(profession, model, source: "RIZIV-INAMI", to: riziv)
                    riziv.raw("      <NIHII>\(nihii.digits)</NIHII>\n")
                    for qualification in profession.qualifications {
                        riziv.raw("      <Speciality code=\"\(qualification.code)\"")
                        riziv.dateAttribute("from", qualification.from)
                        if let to = qualification.to { riziv.dateAttribute("to", to) }
                        riziv.raw("/>\n")
                    }
                    for licence in profession.recognition { writeLicence(licence, kind: "recognition", to: riziv) }
                    riziv.raw("    </Profession>\n")
                    let end = min(profession.to ?? Int(Int32.max), person.death ?? Int(Int32.max))
                    subjects.append(
                        Subject(
                            nihii: Int(nihii.digits)!, firstName: Int32(person.firstName),
                            lastName: Int32(person.lastName), home: Int32(person.home), spec: UInt8(profession.spec),
                            language: person.languages[0] == "nl" ? 1 : person.languages[0] == "de" ? 2 : 0,
                            from: Int32(profession.from), end: Int32(end)))
                }
                riziv.raw("  </HealthCareProfessional>\n")
            }
            try fps.flushIfFull()
            try riziv.flushIfFull()
        }
        return subjects
    }

    func writePersonHeader(
        ssin: String, first: String, last: String, person: Person, languages: [String], to out: Output
    ) {
        out.raw("  <HealthCareProfessional>\n    <SSIN>\(ssin)</SSIN>\n    <FirstName>")
        out.text(first)
        out.raw("</FirstName>\n    <LastName>")
        out.text(last)
        out.raw("</LastName>\n    <Gender>")
        out.raw(person.gender)
        out.raw("</Gender>\n    <BirthDate>")
        out.date(person.birth)
        out.raw("</BirthDate>\n")
        if let death = person.death {
            out.raw("    <DeathDate>")
            out.date(death)
            out.raw("</DeathDate>\n")
        }
        for language in languages { out.raw("    <Language>\(language)</Language>\n") }
    }

    func writeProfessionStart(_ profession: Profession, _ model: Model, source: String, to out: Output) {
        out.raw("    <Profession")
        out.dateAttribute("from", profession.from)
        if let to = profession.to { out.dateAttribute("to", to) }
        out.raw(">\n      <ProfessionCode authenticSource=\"\(source)\">\(model.professions[profession.spec].code)")
        out.raw("</ProfessionCode>\n")
    }

    func writeLicence(_ licence: Licence, kind: StaticString, to out: Output) {
        out.raw("      <Licence kind=\"")
        out.raw(kind)
        out.raw("\" status=\"")
        out.raw(licence.status)
        out.byte(UInt8(ascii: "\""))
        out.dateAttribute("from", licence.from)
        if let to = licence.to { out.dateAttribute("to", to) }
        out.raw("/>\n")
    }
}

// MARK: - Practice register

extension CoBRHAGenerator {
    static let practiceHeader =
        "practice_id,nihii,role,institution,street_fr,street_nl,house_number,post_box,postcode,municipality_fr,municipality_nl,nis_code,latitude,longitude,languages,competences,phone,email,website,valid_from,valid_to\n"

    func writePractices(_ model: Model, subjects: [Subject], institutions: [Institution], to out: Output) throws -> Int
    {
        // Open institutions by type and region.
        var buckets = Array(
            repeating: Array(repeating: [Int](), count: Region.allCases.count), count: model.organisations.count)
        for (i, institution) in institutions.enumerated() where institution.closed == nil {
            buckets[institution.type][model.places[institution.address.place].region.rawValue].append(i)
        }
        let affinities: [(types: [Int], sampler: Weighted)] = model.professions.map { spec in
            let known = spec.institutions.compactMap { entry in model.organisationIndex[entry.0].map { ($0, entry.1) } }
            return (known.map(\.0), Weighted(known.map(\.1)))
        }
        let ownRoles = Weighted(Tables.ownRoles.map(\.1))
        let institutionRoles = Weighted(Tables.institutionRoles.map(\.1))
        let flemishMail = Weighted(Tables.flemishMail.map(\.1))
        let frenchMail = Weighted(Tables.frenchMail.map(\.1))
        var random = Random(seed, stream: 3, index: 0)

        let target = practiceCount
        let ref = Self.referenceDay
        let inactive = subjects.filter { $0.end != Int32.max }.count
        // Rows per open NIHII so that the register reaches the target (a closed one gets 0.4).
        var activeMean = 1.0
        if subjects.count > inactive {
            let open = Double(subjects.count - inactive)
            activeMean = (Double(target) - 0.4 * Double(inactive)) / open
        }
        let activeCounts: Weighted =
            activeMean >= 1.02
            ? Weighted([0.08, max(0, 0.87 - min(0.87, activeMean - 1.02)), min(0.87, activeMean - 1.02), 0.05])
            : Weighted([max(0, 1 - activeMean), min(1, activeMean), 0, 0])

        out.raw(Self.practiceHeader)
        var rows = 0
        func row(_ subject: Subject) throws {
            rows += 1
            let spec = model.professions[Int(subject.spec)]
            let firstName = model.firstNames[Int(subject.firstName)]
            let lastName = model.surnames[Int(subject.lastName)]
            let homeRegion = model.places[Int(subject.home)].region
            let end = subject.end == Int32.max ? nil : Int(subject.end)
            let historic = end != nil || random.chance(0.04)

            // Where.
            var institution: Institution?
            let affinity = affinities[Int(subject.spec)]
            if !affinity.types.isEmpty, random.chance(spec.institutionChance) {
                let type = affinity.types[affinity.sampler.pick(&random)]
                var candidates = buckets[type][homeRegion.rawValue]
                if candidates.isEmpty { candidates = buckets[type].flatMap { $0 } }
                if !candidates.isEmpty { institution = institutions[random.pick(candidates)] }
            }
            let address: Address
            if let institution {
                address = institution.address
            } else {
                let place = random.chance(0.8) ? Int(subject.home) : model.place(in: homeRegion, &random)
                address = Self.makeAddress(place: place, model, &random)
            }
            let place = model.places[address.place]

            // When.
            let from = max(Int(subject.from), institution?.from ?? 0)
            var validFrom: Int
            var validTo: Int?
            if historic {
                let last = min(end ?? (ref - 1), ref - 1)
                if last - from < 2 {
                    (validFrom, validTo) = (min(from, last), last)
                } else {
                    validFrom = from + random.below(max(1, (last - from) * 2 / 3))
                    validTo = min(last, validFrom + 30 + random.below(max(1, last - validFrom)))
                }
            } else {
                validFrom = from + Int(pow(random.unit(), 0.6) * Double(max(0, ref - from)))
                validFrom = min(validFrom, ref)
            }

            out.raw("PR")
            out.number(rows, width: 7)
            out.byte(UInt8(ascii: ","))
            out.number(subject.nihii, width: 11)
            out.byte(UInt8(ascii: ","))
            let roles = institution == nil ? Tables.ownRoles : Tables.institutionRoles
            out.raw(roles[(institution == nil ? ownRoles : institutionRoles).pick(&random)].0)
            out.byte(UInt8(ascii: ","))
            if let institution { out.raw("nihii:\(institution.nihii)") }
            out.byte(UInt8(ascii: ","))
            out.field(address.streetFR ?? "")
            out.byte(UInt8(ascii: ","))
            out.field(address.streetNL ?? "")
            out.byte(UInt8(ascii: ","))
            out.field(address.number)
            out.byte(UInt8(ascii: ","))
            out.field(address.box ?? "")
            out.byte(UInt8(ascii: ","))
            out.raw(place.code)
            out.byte(UInt8(ascii: ","))
            out.field(place.fr ?? "")
            out.byte(UInt8(ascii: ","))
            out.field(place.nl ?? "")
            out.raw(",,")
            if let latitude = address.latitude, let longitude = address.longitude {
                out.coordinate(latitude)
                out.byte(UInt8(ascii: ","))
                out.coordinate(longitude)
            } else {
                out.byte(UInt8(ascii: ","))
            }
            out.byte(UInt8(ascii: ","))

            // Languages of the place, then competences.
            let languages: String
            let u = random.unit()
            switch place.region {
            case .brussels:
                languages =
                    subject.language == 1
                    ? (u < 0.35 ? "nl" : u < 0.8 ? "fr|nl" : "nl|en") : (u < 0.55 ? "fr" : u < 0.95 ? "fr|nl" : "nl|en")
            case .flanders: languages = u < 0.7 ? "nl" : u < 0.92 ? "nl|en" : "fr|nl"
            case .wallonia: languages = u < 0.9 ? "fr" : "fr|nl"
            case .german: languages = u < 0.85 ? "de|fr" : "fr"
            }
            out.raw(languages)
            out.byte(UInt8(ascii: ","))
            if !spec.competences.isEmpty {
                var chosen: [String] = []
                for _ in 0..<Tables.competenceCounts.pick(&random) {
                    let code = random.pick(spec.competences)
                    if !chosen.contains(code) { chosen.append(code) }
                }
                out.raw(chosen.joined(separator: "|"))
            }
            out.byte(UInt8(ascii: ","))

            // Contact.
            if random.chance(0.85) {
                if random.chance(0.45) {
                    out.raw("+32 \(random.pick(Tables.mobilePrefixes)) ")
                    out.number(random.below(100), width: 2)
                    out.byte(UInt8(ascii: " "))
                    out.number(random.below(100), width: 2)
                    out.byte(UInt8(ascii: " "))
                    out.number(random.below(100), width: 2)
                } else {
                    let zone = Self.phoneZone(place.number)
                    out.raw("+32 \(zone) ")
                    if zone.count == 1 {
                        out.number(200 + random.below(800), width: 3)
                    } else {
                        out.number(20 + random.below(80), width: 2)
                    }
                    out.byte(UInt8(ascii: " "))
                    out.number(random.below(100), width: 2)
                    out.byte(UInt8(ascii: " "))
                    out.number(random.below(100), width: 2)
                }
            }
            out.byte(UInt8(ascii: ","))
            let word = place.region == .flanders ? spec.word.nl : spec.word.fr
            let surnameSlug = Self.slug(lastName)
            if random.chance(0.5) {
                let u = random.unit()
                let firstSlug = Self.slug(firstName)
                let domain: String
                if let institution, let name = institution.nameFR ?? institution.nameNL, random.chance(0.6) {
                    domain = String(Self.slug(name, hyphens: true).prefix(40)) + ".be"
                } else {
                    let mail = place.region == .flanders ? Tables.flemishMail : Tables.frenchMail
                    domain = mail[(place.region == .flanders ? flemishMail : frenchMail).pick(&random)].0
                }
                let local =
                    u < 0.5
                    ? "\(firstSlug).\(surnameSlug)"
                    : u < 0.75 ? "\(firstSlug.prefix(1)).\(surnameSlug)" : "\(surnameSlug).\(word)"
                out.field(local + "@" + domain)
            }
            out.byte(UInt8(ascii: ","))
            if random.chance(0.12) {
                if let institution, let name = institution.nameFR ?? institution.nameNL {
                    out.field("https://www." + String(Self.slug(name, hyphens: true).prefix(40)) + ".be")
                } else {
                    out.field("https://www.\(surnameSlug)-\(word).be")
                }
            }
            out.byte(UInt8(ascii: ","))
            out.date(validFrom)
            out.byte(UInt8(ascii: ","))
            if let validTo { out.date(validTo) }
            out.byte(0x0A)
            try out.flushIfFull()
        }

        for subject in subjects where rows < target {
            let count =
                subject.end == Int32.max ? activeCounts.pick(&random) : (random.chance(0.4) ? 1 : 0)
            for _ in 0..<count where rows < target { try row(subject) }
        }
        let active = subjects.filter { $0.end == Int32.max }
        let pool = active.isEmpty ? subjects : active
        while rows < target, !pool.isEmpty { try row(random.pick(pool)) }
        return rows
    }

    /// The Belgian telephone zone of a postcode's area.
    static func phoneZone(_ postcode: Int) -> String {
        switch postcode {
        case 1000...1299, 1500...1999: "2"
        case 1300...1499: "10"
        case 2800...2899: "15"
        case 2000...2999: "3"
        case 3000...3499: "16"
        case 3500...3999: "11"
        case 4000...4699: "4"
        case 4700...4999: "87"
        case 5000...5999: "81"
        case 6700...6899: "63"
        case 6000...6599: "71"
        case 6600...6999: "61"
        case 7000...7499: "65"
        case 7500...7999: "69"
        case 8000...8499: "50"
        case 8500...8999: "56"
        case 9300...9399: "53"
        case 9500...9699: "54"
        default: "9"
        }
    }
}

extension CoBRHAGenerator {
    static func twoDigits(_ value: Int) -> String { padded(value, 2) }

    static func padded(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
