import Foundation
import CLibXML2

/// The elements of one top-level entity (an `Amp` with everything inside it), stored flat.
///
/// Only one top-level entity is built at a time, so memory stays bounded by the largest entity,
/// not the file. Elements, attributes and text live in a few arrays per entity instead of one
/// object (and three arrays) per element: building, walking and freeing millions of small
/// objects was most of the SAM reader's time.
package final class XMLElementTree {
    /// One element: its names (ids into ``names``), where it starts, and links to its children.
    package struct Element {
        package var namespace: Int32
        package var name: Int32
        package var line: Int32
        package var firstChild: Int32 = -1
        package var nextSibling: Int32 = -1
        var lastChild: Int32 = -1
        package var attributeStart: Int32
        package var attributeCount: Int32
        package var textStart: Int32 = 0
        package var textCount: Int32 = 0
        /// Set when the text was longer than the reader's limit and was cut.
        package var textTruncatedAt: Int32 = -1
    }

    /// Element 0 is the entity itself; the others follow in document order.
    package let elements: [Element]
    package let attributeNames: [Int32]
    package let attributeValues: [String]
    /// The text of every element (an element's text is contiguous).
    package let text: [UInt8]
    /// Element and attribute names and namespace URIs by id (the parser's table, shared by all
    /// the trees of one document: an id means the same name in each of them).
    package let names: [String]
    /// Identifies the parser (and so the name table) the ids come from: one object per parser,
    /// compared by identity (kept alive by whoever compares, so its address is never reused).
    package let nameTable: AnyObject

    /// Identity of one parser's name table.
    final class NameTable {}

    /// Immutable once built (`let` storage: reading it needs no exclusivity checks).
    init(_ builder: consuming Builder, names: [String], nameTable: AnyObject) {
        self.elements = builder.elements
        self.attributeNames = builder.attributeNames
        self.attributeValues = builder.attributeValues
        self.text = builder.text
        self.names = names
        self.nameTable = nameTable
    }

    /// Collects one entity's elements while the parser streams through it.
    struct Builder {
        var elements: [Element] = []
        var attributeNames: [Int32] = []
        var attributeValues: [String] = []
        var text: [UInt8] = []
        /// The open elements, innermost last.
        var open: [Int32] = []

        init(capacity: (elements: Int, attributes: Int, text: Int)) {
            elements.reserveCapacity(capacity.elements)
            attributeNames.reserveCapacity(capacity.attributes)
            attributeValues.reserveCapacity(capacity.attributes)
            text.reserveCapacity(capacity.text)
        }

        var size: (elements: Int, attributes: Int, text: Int) { (elements.count, attributeNames.count, text.count) }

        /// Opens an element whose attributes were appended since `attributeStart`.
        mutating func start(namespace: Int32, name: Int32, line: Int32, attributeStart: Int32) {
            let index = Int32(elements.count)
            elements.append(
                Element(
                    namespace: namespace, name: name, line: line, attributeStart: attributeStart,
                    attributeCount: Int32(attributeNames.count) - attributeStart))
            if let parent = open.last {
                let previous = elements[Int(parent)].lastChild
                if previous >= 0 {
                    elements[Int(previous)].nextSibling = index
                } else {
                    elements[Int(parent)].firstChild = index
                }
                elements[Int(parent)].lastChild = index
            }
            open.append(index)
        }

        /// Closes the innermost element; true when it was the entity itself.
        mutating func end() -> Bool {
            open.removeLast()
            return open.isEmpty
        }

        /// Appends text to the innermost element, keeping at most `limit` bytes of it. Returns the
        /// element's name id when this text went over the limit (the first time only).
        mutating func characters(_ chars: UnsafePointer<UInt8>, _ length: Int, limit: Int) -> Int32? {
            guard let index = open.last else { return nil }
            var element = elements[Int(index)]
            if element.textTruncatedAt >= 0 { return nil }
            // Indentation between elements: leading whitespace is trimmed anyway, so never store it.
            if element.textCount == 0 {
                var allSpace = true
                for i in 0..<length
                where !(chars[i] == 0x20 || chars[i] == 0x0A || chars[i] == 0x0D || chars[i] == 0x09) {
                    allSpace = false
                    break
                }
                if allSpace { return nil }
                element.textStart = Int32(text.count)
            } else if Int(element.textStart + element.textCount) != text.count {
                // Mixed content (text, a child with text, text again): the element's text moves to
                // the end so that it stays contiguous.
                let earlier = Array(text[Int(element.textStart)..<Int(element.textStart + element.textCount)])
                element.textStart = Int32(text.count)
                text.append(contentsOf: earlier)
            }
            let room = limit - Int(element.textCount)
            let kept = min(length, max(0, room))
            text.append(contentsOf: UnsafeBufferPointer(start: chars, count: kept))
            element.textCount += Int32(kept)
            if length > room { element.textTruncatedAt = Int32(clamping: limit) }
            elements[Int(index)] = element
            return length > room ? element.name : nil
        }
    }

    /// The entity's element.
    package var root: XMLElementNode { XMLElementNode(tree: self, index: 0) }

    /// Calls `body` with the index of each child of element `index`, in document order.
    @inline(__always)
    package func forEachChild(of index: Int32, _ body: (Int32) throws -> Void) rethrows {
        var child = elements[Int(index)].firstChild
        while child >= 0 {
            try body(child)
            child = elements[Int(child)].nextSibling
        }
    }

    /// The value of the attribute named `name` (an id) of element `index`.
    package func attribute(_ name: Int32, of index: Int32) -> String? {
        let element = elements[Int(index)]
        for a in Int(element.attributeStart)..<Int(element.attributeStart + element.attributeCount)
        where attributeNames[a] == name {
            return attributeValues[a]
        }
        return nil
    }

    /// The value of the attribute named `name` of element `index`.
    package func attribute(named name: String, of index: Int32) -> String? {
        let element = elements[Int(index)]
        for a in Int(element.attributeStart)..<Int(element.attributeStart + element.attributeCount)
        where names[Int(attributeNames[a])] == name {
            return attributeValues[a]
        }
        return nil
    }

    /// Calls `body` with the text bytes of element `index` (no slice of the array is made: the
    /// mapper reads every element's text).
    package func withTextBytes<Result>(of index: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let element = elements[Int(index)]
        return text.withUnsafeBufferPointer { all in
            body(
                UnsafeBufferPointer(rebasing: all[Int(element.textStart)..<Int(element.textStart + element.textCount)]))
        }
    }

    /// The text bytes of element `index`.
    package func textBytes(of index: Int32) -> ArraySlice<UInt8> {
        let element = elements[Int(index)]
        return text[Int(element.textStart)..<Int(element.textStart + element.textCount)]
    }
}

/// An element of a streamed entity, as a view into its ``XMLElementTree``.
package struct XMLElementNode {
    package let tree: XMLElementTree
    package let index: Int32

    package init(tree: XMLElementTree, index: Int32) {
        self.tree = tree
        self.index = index
    }

    var element: XMLElementTree.Element { tree.elements[Int(index)] }
    package var namespace: String { tree.names[Int(element.namespace)] }
    package var name: String { tree.names[Int(element.name)] }
    package var line: Int { Int(element.line) }

    package var attributes: [(name: String, value: String)] {
        let e = element
        return (Int(e.attributeStart)..<Int(e.attributeStart + e.attributeCount)).map {
            (tree.names[Int(tree.attributeNames[$0])], tree.attributeValues[$0])
        }
    }

    package func attribute(_ name: String) -> String? { tree.attribute(named: name, of: index) }

    package var children: [XMLElementNode] {
        var out: [XMLElementNode] = []
        tree.forEachChild(of: index) { out.append(XMLElementNode(tree: tree, index: $0)) }
        return out
    }

    package var textBytes: ArraySlice<UInt8> { tree.textBytes(of: index) }
    package var text: String { String(decoding: textBytes, as: UTF8.self) }
    /// Set when the text was longer than the reader's limit and was cut.
    package var textTruncatedAt: Int? { element.textTruncatedAt >= 0 ? Int(element.textTruncatedAt) : nil }
}

/// A problem the XML layer found; `fatal` problems mean the file is not usable as a whole.
package struct XMLProblem: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable { case notWellFormed, doctypeRefused, textTooLong, tooDeep, entityTooLarge }
    package var kind: Kind
    package var line: Int
    package var message: String
    package var description: String { "line \(line): \(message)" }
}

/// A streaming, namespace-aware XML reader on libxml2's SAX2 push parser.
///
/// Feed it chunks with ``feed(_:)``; it calls `onRoot` once with the document element and
/// `onEntity` for every complete child of the document element. Elements are identified by
/// namespace URI and local name; prefixes are ignored because SAM generates them per file.
///
/// Hostile input: any DOCTYPE is refused before its internal subset is read, so entity
/// expansion bombs and external entities (XXE) are never expanded or fetched; the network is
/// off (`XML_PARSE_NONET`) and entities are not substituted. Nesting is limited here, for every
/// importer, to ``InputLimits/maxNesting`` levels inside one entity (libxml2's own limit of 256
/// is not applied by its push parser to SAX handlers, and an entity's tree is walked
/// recursively downstream: 10,000 levels overflowed the stack), and one entity's tree to
/// ``InputLimits/maxEntityBytes``; both refuse the file. `XML_PARSE_HUGE` is never set.
package final class XMLStreamParser {
    package struct Root {
        package let namespace: String
        package let name: String
        package let attributes: [(name: String, value: String)]
        package let line: Int
    }

    package var onRoot: (Root) -> Void = { _ in }
    package var onEntity: (XMLElementNode) -> Void = { _ in }
    package private(set) var problems: [XMLProblem] = []
    package private(set) var sawRoot = false
    package private(set) var rootClosed = false
    /// Longest text kept per element; longer text is cut and reported.
    package let maxTextBytes: Int
    /// Deepest nesting inside an entity, and the largest entity tree (see ``InputLimits``).
    package let limits: InputLimits
    /// Bytes held by the entity being built (checked against ``InputLimits/maxEntityBytes``).
    private var entityBytes = 0

    private var context: xmlParserCtxtPtr?
    private var depth = 0
    /// The entity being built (between the start and the end of a child of the document element).
    private var building = XMLElementTree.Builder(capacity: (0, 0, 0))
    private var lastSize = (elements: 64, attributes: 32, text: 1024)
    private var names: [String] = []
    private let nameTable = XMLElementTree.NameTable()
    private var idsByPointer: [UInt: Int32] = [:]
    private var recentPointers = [UInt](repeating: UInt.max, count: XMLStreamParser.recentSlots)
    private var recentIDs = [Int32](repeating: 0, count: XMLStreamParser.recentSlots)
    private var idsByName: [String: Int32] = [:]
    private var handler = xmlSAXHandler()
    private var stopped = false

    package init(fileName: String, maxTextBytes: Int = 1 << 20, limits: InputLimits = .current) {
        self.maxTextBytes = maxTextBytes
        self.limits = limits
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { ctx, localname, _, uri, _, _, attributeCount, _, attributes in
            XMLStreamParser.from(ctx).startElement(localname, uri, Int(attributeCount), attributes)
        }
        handler.endElementNs = { ctx, _, _, _ in
            XMLStreamParser.from(ctx).endElement()
        }
        handler.characters = { ctx, chars, length in
            XMLStreamParser.from(ctx).characters(chars, Int(length))
        }
        handler.cdataBlock = { ctx, chars, length in
            XMLStreamParser.from(ctx).characters(chars, Int(length))
        }
        handler.internalSubset = { ctx, name, _, _ in
            let parser = XMLStreamParser.from(ctx)
            parser.refuse(
                .doctypeRefused,
                "a DOCTYPE declaration (\(name.map { String(cString: $0) } ?? "?")) is not allowed: SAM exports have none, and DTDs enable entity-expansion and external-entity attacks"
            )
        }
        handler.serror = { ctx, error in
            guard let ctx, let error else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue()
            parser.structuredError(error.pointee)
        }
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        context = xmlCreatePushParserCtxt(&handler, unmanaged, nil, 0, fileName)
        let options = Int32(XML_PARSE_NONET.rawValue) | Int32(XML_PARSE_NOCDATA.rawValue)
        xmlCtxtUseOptions(context, options)
    }

    deinit {
        if let context { xmlFreeParserCtxt(context) }
    }

    static func from(_ ctx: UnsafeMutableRawPointer?) -> XMLStreamParser {
        Unmanaged<XMLStreamParser>.fromOpaque(ctx!).takeUnretainedValue()
    }

    package var isStopped: Bool { stopped }
    package var fatalProblem: XMLProblem? { problems.first { $0.kind != .textTooLong } }

    /// Bookkeeping an element costs in an entity's tree besides its text and attribute values.
    static let elementOverheadBytes = 48

    var currentLine: Int { Int(xmlSAX2GetLineNumber(context)) }

    /// Parses the next chunk. Returns false once parsing stopped on a fatal problem.
    @discardableResult
    package func feed(_ bytes: [UInt8]) -> Bool {
        guard !stopped, let context else { return false }
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlParseChunk(context, $0, Int32(buffer.count), 0)
            }
        }
        if status != 0 || context.pointee.wellFormed == 0 { markNotWellFormed() }
        return !stopped
    }

    /// Signals the end of input; reports a truncated document when the root was never closed.
    package func finish() {
        guard !stopped, let context else { return }
        let status = xmlParseChunk(context, nil, 0, 1)
        if !rootClosed {
            // Reported in our words first: a missing end is what a cut download looks like.
            problems.insert(
                XMLProblem(
                    kind: .notWellFormed, line: currentLine,
                    message: sawRoot
                        ? "the document ends before its root element is closed (truncated file?)"
                        : "the file contains no XML document"), at: 0)
            stopped = true
            return
        }
        if status != 0 || context.pointee.wellFormed == 0 { markNotWellFormed() }
    }

    private func markNotWellFormed() {
        if !stopped {
            if fatalProblem == nil {
                problems.append(
                    XMLProblem(kind: .notWellFormed, line: currentLine, message: "the XML is not well-formed"))
            }
            stopped = true
        }
    }

    func refuse(_ kind: XMLProblem.Kind, _ message: String) {
        problems.append(XMLProblem(kind: kind, line: currentLine, message: message))
        stopped = true
        xmlStopParser(context)
    }

    func structuredError(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let message = error.message.map { String(cString: $0).trimmingCharacters(in: [" ", "\n"]) } ?? "XML error"
        if fatalProblem == nil {
            problems.append(XMLProblem(kind: .notWellFormed, line: Int(error.line), message: message))
        }
        if error.level == XML_ERR_FATAL { stopped = true }
    }

    /// Interns names: libxml2 hands out names from its dictionary, so one pointer is one name
    /// (and each distinct name gets one id, whichever pointer it came by).
    func internID(_ pointer: UnsafePointer<xmlChar>?) -> Int32 {
        let key = UInt(bitPattern: pointer)
        // A direct-mapped cache in front of the dictionary: a document has a few hundred names,
        // and hashing each element's names was a visible share of the reading.
        let slot = Int(truncatingIfNeeded: (key >> 3) & UInt(Self.recentSlots - 1))
        if recentPointers[slot] == key { return recentIDs[slot] }
        let id = lookUpID(key, pointer)
        recentPointers[slot] = key
        recentIDs[slot] = id
        return id
    }

    static let recentSlots = 1024

    func lookUpID(_ key: UInt, _ pointer: UnsafePointer<xmlChar>?) -> Int32 {
        if let id = idsByPointer[key] { return id }
        let name = pointer.map { String(cString: $0) } ?? ""
        let id: Int32
        if let known = idsByName[name] {
            id = known
        } else {
            id = Int32(names.count)
            names.append(name)
            idsByName[name] = id
        }
        idsByPointer[key] = id
        return id
    }

    func startElement(
        _ localname: UnsafePointer<xmlChar>?, _ uri: UnsafePointer<xmlChar>?, _ attributeCount: Int,
        _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        depth += 1
        if depth == 1 {
            var attrs: [(name: String, value: String)] = []
            if attributeCount > 0, let attributes {
                for i in 0..<attributeCount {
                    let base = attributes + i * 5
                    guard let start = base[3], let end = base[4] else { continue }
                    attrs.append((names[Int(internID(base[0]))], Self.attributeValue(start, end)))
                }
            }
            sawRoot = true
            onRoot(
                Root(
                    namespace: names[Int(internID(uri))], name: names[Int(internID(localname))], attributes: attrs,
                    line: currentLine))
            return
        }
        if depth == 2 {
            // Sized like the previous entity: entities of one file are alike.
            building = XMLElementTree.Builder(capacity: lastSize)
            entityBytes = 0
        }
        if stopped { return }
        // The entity's own element is level 1.
        if depth - 1 > limits.maxNesting {
            let entity = building.elements.first.map { "<\(names[Int($0.name)])> at line \($0.line)" } ?? "the entity"
            refuse(
                .tooDeep,
                "<\(String(cString: localname!))> is nested \(depth - 1) levels deep inside \(entity); at most \(limits.maxNesting) levels are allowed (REGISTRY_MAX_NESTING), the source's entities nest a few levels"
            )
            return
        }
        let attributeStart = Int32(building.attributeNames.count)
        entityBytes += Self.elementOverheadBytes
        if attributeCount > 0, let attributes {
            for i in 0..<attributeCount {
                let base = attributes + i * 5
                guard let start = base[3], let end = base[4] else { continue }
                let name = internID(base[0])
                building.attributeNames.append(name)
                building.attributeValues.append(Self.attributeValue(start, end))
                entityBytes += Self.elementOverheadBytes / 2 + (end - start)
            }
        }
        if entityBytes > limits.maxEntityBytes {
            refuseLargeEntity()
            return
        }
        let namespace = internID(uri)
        let name = internID(localname)
        building.start(
            namespace: namespace, name: name, line: Int32(clamping: currentLine), attributeStart: attributeStart)
    }

    static func attributeValue(_ start: UnsafePointer<xmlChar>, _ end: UnsafePointer<xmlChar>) -> String {
        decodeAttributeEntities(
            String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self))
    }

    /// Refuses the file: one entity's tree would pass ``InputLimits/maxEntityBytes``.
    func refuseLargeEntity() {
        let entity = building.elements.first.map { "<\(names[Int($0.name)])> at line \($0.line)" } ?? "an entity"
        refuse(
            .entityTooLarge,
            "\(entity) holds more than \(limits.maxEntityBytes) bytes of elements, attributes and text (REGISTRY_MAX_ENTITY_MB); an entity of the source is at most a few hundred KB"
        )
    }

    func endElement() {
        defer { depth -= 1 }
        if stopped { return }
        if depth == 1 {
            rootClosed = true
            return
        }
        if building.end() {
            lastSize = building.size
            let tree = XMLElementTree(building, names: names, nameTable: nameTable)
            building = XMLElementTree.Builder(capacity: (0, 0, 0))
            onEntity(tree.root)
        }
    }

    func characters(_ chars: UnsafePointer<xmlChar>?, _ length: Int) {
        guard depth > 1, !stopped, let chars, length > 0 else { return }
        let before = building.text.count
        defer {
            entityBytes += building.text.count - before
            if entityBytes > limits.maxEntityBytes { refuseLargeEntity() }
        }
        if let name = building.characters(chars, length, limit: maxTextBytes) {
            problems.append(
                XMLProblem(
                    kind: .textTooLong, line: currentLine,
                    message: "text of <\(names[Int(name)])> exceeds \(maxTextBytes) bytes and was cut"))
        }
    }

    /// Without entity substitution libxml2 hands `&amp;` in attribute values over as `&#38;`.
    static func decodeAttributeEntities(_ value: String) -> String {
        guard value.utf8.contains(UInt8(ascii: "&")) else { return value }
        return value.replacingOccurrences(of: "&#38;", with: "&")
    }
}
