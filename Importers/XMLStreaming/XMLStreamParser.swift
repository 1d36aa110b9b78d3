import Foundation
import CLibXML2

/// An element of one top-level entity, built while streaming.
///
/// Only one top-level entity (an `Amp` with everything inside it) is held at a time, so memory
/// stays bounded by the largest entity, not the file.
public final class XMLElementNode {
    public let namespace: String
    public let name: String
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElementNode] = []
    public var textBytes: [UInt8] = []
    /// Set when the text was longer than the reader's limit and was cut.
    public var textTruncatedAt: Int?
    public let line: Int

    init(namespace: String, name: String, attributes: [(name: String, value: String)], line: Int) {
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.line = line
    }

    public var text: String { String(decoding: textBytes, as: UTF8.self) }

    public func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }
}

/// A problem the XML layer found; `fatal` problems mean the file is not usable as a whole.
public struct XMLProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case notWellFormed, doctypeRefused, textTooLong }
    public var kind: Kind
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A streaming, namespace-aware XML reader on libxml2's SAX2 push parser.
///
/// Feed it chunks with ``feed(_:)``; it calls `onRoot` once with the document element and
/// `onEntity` for every complete child of the document element. Elements are identified by
/// namespace URI and local name; prefixes are ignored because SAM generates them per file.
///
/// Hostile input: any DOCTYPE is refused before its internal subset is read, so entity
/// expansion bombs and external entities (XXE) are never expanded or fetched; the network is
/// off (`XML_PARSE_NONET`) and entities are not substituted.
public final class XMLStreamParser {
    public struct Root {
        public let namespace: String
        public let name: String
        public let attributes: [(name: String, value: String)]
        public let line: Int
    }

    public var onRoot: (Root) -> Void = { _ in }
    public var onEntity: (XMLElementNode) -> Void = { _ in }
    public private(set) var problems: [XMLProblem] = []
    public private(set) var sawRoot = false
    public private(set) var rootClosed = false
    /// Longest text kept per element; longer text is cut and reported.
    public let maxTextBytes: Int

    private var context: xmlParserCtxtPtr?
    private var stack: [XMLElementNode] = []
    private var depth = 0
    private var names: [UInt: String] = [:]
    private var handler = xmlSAXHandler()
    private var stopped = false

    public init(fileName: String, maxTextBytes: Int = 1 << 20) {
        self.maxTextBytes = maxTextBytes
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

    public var isStopped: Bool { stopped }
    public var fatalProblem: XMLProblem? { problems.first { $0.kind != .textTooLong } }

    var currentLine: Int { Int(xmlSAX2GetLineNumber(context)) }

    /// Parses the next chunk. Returns false once parsing stopped on a fatal problem.
    @discardableResult
    public func feed(_ bytes: [UInt8]) -> Bool {
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
    public func finish() {
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

    /// Interns names: libxml2 hands out names from its dictionary, so one pointer is one name.
    func intern(_ pointer: UnsafePointer<xmlChar>?) -> String {
        guard let pointer else { return "" }
        let key = UInt(bitPattern: pointer)
        if let name = names[key] { return name }
        let name = String(cString: pointer)
        names[key] = name
        return name
    }

    func startElement(
        _ localname: UnsafePointer<xmlChar>?, _ uri: UnsafePointer<xmlChar>?, _ attributeCount: Int,
        _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        depth += 1
        var attrs: [(name: String, value: String)] = []
        if attributeCount > 0, let attributes {
            attrs.reserveCapacity(attributeCount)
            for i in 0..<attributeCount {
                let base = attributes + i * 5
                let name = intern(base[0])
                guard let start = base[3], let end = base[4] else { continue }
                let value = String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self)
                attrs.append((name, XMLStreamParser.decodeAttributeEntities(value)))
            }
        }
        let namespace = intern(uri)
        let name = intern(localname)
        if depth == 1 {
            sawRoot = true
            onRoot(Root(namespace: namespace, name: name, attributes: attrs, line: currentLine))
            return
        }
        let node = XMLElementNode(namespace: namespace, name: name, attributes: attrs, line: currentLine)
        stack.last?.children.append(node)
        stack.append(node)
    }

    func endElement() {
        defer { depth -= 1 }
        if depth == 1 {
            rootClosed = true
            return
        }
        let node = stack.removeLast()
        if stack.isEmpty { onEntity(node) }
    }

    func characters(_ chars: UnsafePointer<xmlChar>?, _ length: Int) {
        guard let node = stack.last, let chars, length > 0 else { return }
        if node.textTruncatedAt != nil { return }
        // Indentation between elements: leading whitespace is trimmed anyway, so never store it.
        if node.textBytes.isEmpty {
            var allSpace = true
            for i in 0..<length where !(chars[i] == 0x20 || chars[i] == 0x0A || chars[i] == 0x0D || chars[i] == 0x09) {
                allSpace = false
                break
            }
            if allSpace { return }
        }
        let room = maxTextBytes - node.textBytes.count
        if length > room {
            node.textBytes.append(contentsOf: UnsafeBufferPointer(start: chars, count: max(0, room)))
            node.textTruncatedAt = maxTextBytes
            problems.append(
                XMLProblem(
                    kind: .textTooLong, line: currentLine,
                    message: "text of <\(node.name)> exceeds \(maxTextBytes) bytes and was cut"))
            return
        }
        node.textBytes.append(contentsOf: UnsafeBufferPointer(start: chars, count: length))
    }

    /// Without entity substitution libxml2 hands `&amp;` in attribute values over as `&#38;`.
    static func decodeAttributeEntities(_ value: String) -> String {
        guard value.utf8.contains(UInt8(ascii: "&")) else { return value }
        return value.replacingOccurrences(of: "&#38;", with: "&")
    }
}
