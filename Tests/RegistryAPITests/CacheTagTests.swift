import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore
import RegistryStore
import Testing

@testable import RegistryAPI

/// The cache's bookkeeping: which tags a change evicts, eviction by tag, and answers stored
/// without their source (pure logic; the database-backed behaviour is in PreciseInvalidationTests).
struct CacheTagTests {
    static func change(
        _ event: String, _ type: String, _ key: String, keyJSON: String? = nil, parent: (String, String)? = nil,
        vmpCodes: [String] = [], groups: [String] = []
    ) -> ChangeTagQueries.SAMChange {
        ChangeTagQueries.SAMChange(
            eventType: event, entityType: type, entityKey: key, keyJSON: keyJSON, parentType: parent?.0,
            parentKey: parent?.1, vmpCodes: vmpCodes, groupCodesJSON: groups)
    }

    @Test func changesEvictTheirEntityNewChildrenTheirParentAndFollowedValues() {
        let tags = CacheInvalidation.tags(forSAM: [
            Self.change("sam.dmpp.updated", "dmpp", "P|CNK|0012345", parent: ("ampp", "000001-01")),
            Self.change("sam.ampp.created", "ampp", "000002-01", parent: ("amp", "SAM000002-00")),
            Self.change(
                "sam.reimbursement_context.created", "reimbursement_context", "rc1",
                keyJSON: #"{"code":"0012345","codeType":"CNK","deliveryEnvironment":"P"}"#),
            Self.change("sam.amp.updated", "amp", "SAM000003-00", vmpCodes: ["111", "222"]),
            Self.change("sam.vmp.deleted", "vmp", "333", groups: [#"["44","45"]"#]),
        ])
        #expect(
            tags == [
                "e|dmpp|P|CNK|0012345", "e|ampp|000002-01", "e|amp|SAM000002-00", "e|reimbursement_context|rc1",
                "rc|P|CNK|0012345", "e|amp|SAM000003-00", "vmp-amps|111", "vmp-amps|222", "e|vmp|333",
                "group-vmps|44", "group-vmps|45",
            ])
        // An updated child does not touch its parent's other answers.
        #expect(!tags.contains("e|ampp|000001-01"))
    }

    @Test func aChangeOfAnUntrackedTypeEvictsEverySAMAnswer() {
        let tags = CacheInvalidation.tags(forSAM: [
            Self.change("sam.atc_classification.updated", "atc_classification", "N05")
        ])
        #expect(tags == [CacheTag.samAny])
        let unreadable = CacheInvalidation.tags(forSAM: [
            Self.change("sam.reimbursement_context.deleted", "reimbursement_context", "rc9", keyJSON: nil)
        ])
        #expect(unreadable.contains(CacheTag.samAny))
    }

    static func answer(_ name: String, run: Int64) -> SAMAnswer {
        SAMAnswer(
            json: .object(["name": .string(name), "source": .string("run \(run)"), "zeta": .number("1")]),
            tags: ["e|amp|\(name)", CacheTag.samAny],
            source: SAMSourceRun(runId: run, samId: "S", version: "1", importedAt: "2026-12-07T00:00:00Z"))
    }

    /// The byte search that finds the source slot agrees with a naive search, including near
    /// misses (the first byte repeated, a prefix cut at the end of the body).
    @Test func markerSearchFindsTheFirstOccurrence() {
        var random = SplitMix64(state: 7)
        let marker: [UInt8] = [1, 2, 1, 3]
        func naive(_ bytes: [UInt8]) -> Range<Int>? {
            guard bytes.count >= marker.count else { return nil }
            for start in 0...(bytes.count - marker.count) where Array(bytes[start..<start + marker.count]) == marker {
                return start..<start + marker.count
            }
            return nil
        }
        var found = 0
        for length in 0..<40 {
            for _ in 0..<100 {
                let bytes = (0..<length).map { _ in UInt8(1 + random.next() % 3) }
                #expect(ResponseCache.firstRange(of: marker, in: bytes) == naive(bytes), "bytes \(bytes)")
                if naive(bytes) != nil { found += 1 }
            }
        }
        #expect(found > 100)
        #expect(ResponseCache.firstRange(of: marker, in: [1, 2, 1]) == nil)
    }

    @Test func answersAreServedWithTheNewestSourceAndTheirETagNamesIt() throws {
        let cache = ResponseCache(budgetBytes: 1 << 20)
        cache.setEnabled(true)
        let stored = ResponseCache.template(Self.answer("a", run: 5))
        cache.store("k", stored, version: try #require(cache.version()))
        let own = try #require(cache.lookup("k"))
        let ownJSON = try JSONValue.parse(String(decoding: own.body, as: UTF8.self))
        #expect(ownJSON["source"]?["importRunId"] == .number("5"))
        #expect(ownJSON["name"] == .string("a") && ownJSON["zeta"] == .number("1"))
        #expect(own.etag.hasSuffix("-r5\""))
        // A newer import that did not touch the answer: same data, the new source, a new ETag.
        let newer = MedicineSource.json(
            SAMSourceRun(runId: 9, samId: "T", version: "2", importedAt: "2026-12-08T00:00:00Z"))
        cache.setSource(runId: 9, json: newer.canonicalBytes)
        let served = try #require(cache.lookup("k"))
        let servedJSON = try JSONValue.parse(String(decoding: served.body, as: UTF8.self))
        #expect(servedJSON["source"] == newer)
        #expect(served.etag.hasSuffix("-r9\"") && served.etag != own.etag)
        // The body is what rendering the answer with that source gives, byte for byte.
        var expected = Self.answer("a", run: 9).json
        if case .object(var members) = expected {
            members["source"] = newer
            expected = .object(members)
        }
        #expect(served.body == expected.canonicalBytes + [UInt8(ascii: "\n")])
    }

    @Test func evictionRemovesExactlyTheTaggedAnswersAndBlocksAnswersComputedBeforeIt() throws {
        let cache = ResponseCache(budgetBytes: 1 << 20)
        cache.setEnabled(true)
        for name in ["a", "b", "c"] {
            cache.store(name, ResponseCache.template(Self.answer(name, run: 1)), version: try #require(cache.version()))
        }
        let before = try #require(cache.version())
        #expect(cache.evict(["e|amp|b"]) == 1)
        #expect(cache.lookup("a") != nil && cache.lookup("b") == nil && cache.lookup("c") != nil)
        // Computed before the eviction, stored after it: not kept (it may be stale).
        cache.store("b", ResponseCache.template(Self.answer("b", run: 1)), version: before)
        #expect(cache.lookup("b") == nil)
        #expect(cache.evict([CacheTag.samAny]) == 2)
        #expect(cache.count == 0)
    }
}
