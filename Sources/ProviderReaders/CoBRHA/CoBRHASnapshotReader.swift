import Foundation
import RegistryCore
import XMLStreaming

/// One actor as one source asserts it: the facts document is canonical JSON, keyed by the SSIN
/// (professionals) or by `scheme:id` (organisations: nihii, else cbe, else ehp).
package struct ActorFact: Sendable {
    package enum Kind: String, Sendable { case professional, institution }
    package var kind: Kind
    package var key: String
    package var document: JSONValue
    package var line: Int
}

/// Streams one CoBRHA snapshot file (docs/PROVIDER-FORMATS.md) into checked actor facts.
///
/// Only one actor's element tree is held at a time; ``nextBatch()`` hands over what a chunk of
/// input produced. Duplicate SSINs and NIHIIs across a file are found by the caller, which sees
/// every key (``CoBRHASnapshotChecks``).
package final class CoBRHASnapshotReader {
    package static let namespace = "urn:be:registry:cobrha:snapshot:1"

    package let file: String
    package private(set) var source: String?
    package private(set) var snapshotId: String?
    package private(set) var findings: [QualityFinding] = []
    package private(set) var bytesRead: UInt64 = 0
    package private(set) var actorsRead = 0
    /// Keys whose record broke an error rule: their stored facts stay as they are.
    package private(set) var rejected: [(kind: ActorFact.Kind, key: String)] = []

    let mapper: CoBRHAActorMapper
    let parser: XMLStreamParser
    var input: FileByteSource
    var pending: [ActorFact] = []
    var finished = false
    var fatal = false

    package init(path: String, mapper: CoBRHAActorMapper = .init(), maxTextBytes: Int = 64 * 1024) throws {
        self.file = URL(fileURLWithPath: path).lastPathComponent
        self.input = try FileByteSource(path: path)
        self.mapper = mapper
        self.parser = XMLStreamParser(fileName: file, maxTextBytes: maxTextBytes)
        parser.onRoot = { [unowned self] root in self.root(root) }
        parser.onEntity = { [unowned self] node in self.entity(node) }
    }

    /// True when the file cannot be used at all (not well-formed, truncated, wrong document).
    package var isRefused: Bool { fatal }

    /// The next facts, or nil at the end of the file (or once it is refused).
    package func nextBatch(minimum: Int = 2_000) -> [ActorFact]? {
        while pending.count < minimum && !finished {
            let chunk: [UInt8]
            do {
                chunk = try input.read(maxLength: 256 * 1024)
            } catch {
                refuse(line: nil, "\(error)")
                break
            }
            bytesRead += UInt64(chunk.count)
            if chunk.isEmpty {
                parser.finish()
                finished = true
            } else {
                parser.feed(chunk)
            }
            if let problem = parser.fatalProblem {
                refuse(line: problem.line, problem.message)
                break
            }
        }
        if fatal { return nil }
        if pending.isEmpty && finished {
            if source == nil { refuse(line: nil, "the file has no CoBRHASnapshot document element") }
            return nil
        }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    func refuse(line: Int?, _ message: String) {
        guard !fatal else { return }
        fatal = true
        finished = true
        findings.append(QualityFinding(rule: CoBRHAQualityRules.unreadable, file: file, line: line, message: message))
    }

    func root(_ root: XMLStreamParser.Root) {
        guard root.namespace == Self.namespace, root.name == "CoBRHASnapshot" else {
            refuse(
                line: root.line,
                "the document element is {\(root.namespace)}\(root.name), expected {\(Self.namespace)}CoBRHASnapshot")
            return
        }
        let attributes = Dictionary(root.attributes.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let source = attributes["source"],
            source.range(of: #"^[A-Z][A-Z0-9\-]{1,31}$"#, options: .regularExpression) != nil
        else {
            refuse(line: root.line, "the CoBRHASnapshot has no valid source attribute (e.g. FPS-HEALTH)")
            return
        }
        self.source = source
        self.snapshotId = attributes["snapshotId"]
    }

    func entity(_ node: XMLElementNode) {
        guard !fatal, let source else { return }
        actorsRead += 1
        var local: [QualityFinding] = []
        let fact: ActorFact?
        let kind: ActorFact.Kind
        let key: String?
        if node.namespace == Self.namespace && node.name == "HealthCareProfessional" {
            kind = .professional
            (fact, key) = mapper.professional(node, source: source, file: file, findings: &local)
        } else if node.namespace == Self.namespace && node.name == "HealthCareOrganization" {
            kind = .institution
            (fact, key) = mapper.organisation(node, source: source, file: file, findings: &local)
        } else {
            findings.append(
                QualityFinding(
                    rule: CoBRHAQualityRules.unknownElement, file: file, line: node.line,
                    message: "unknown element {\(node.namespace)}\(node.name) ignored"))
            return
        }
        findings.append(contentsOf: local)
        if let fact {
            pending.append(fact)
        } else if let key {
            rejected.append((kind, key))
        }
    }

    package func close() { input.close() }
}
