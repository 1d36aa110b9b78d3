import RegistryCore
import Testing

struct EventTypePatternTests {
    @Test func wildcardsMatchAnyRunOfCharacters() throws {
        let dmpp = try #require(EventTypePattern("sam.dmpp.*"))
        #expect(dmpp.matches("sam.dmpp.updated"))
        #expect(!dmpp.matches("sam.ampp.updated"))
        let deletions = try #require(EventTypePattern("sam.*.deleted"))
        #expect(deletions.matches("sam.amp.deleted"))
        #expect(!deletions.matches("sam.amp.updated"))
        #expect(try #require(EventTypePattern("*")).matches("spor.rms.term.created"))
        let exact = try #require(EventTypePattern("sam.vmp_group.created"))
        #expect(exact.matches("sam.vmp_group.created"))
        #expect(!exact.matches("sam.vmpxgroup.created"))
        #expect(exact.likePattern == "sam.vmp\\_group.created")
    }

    @Test func refusesOtherCharacters() {
        #expect(EventTypePattern("sam.dmpp.%") == nil)
        #expect(EventTypePattern("SAM.DMPP") == nil)
        #expect(EventTypePattern("") == nil)
        #expect(EventTypePattern("sam dmpp") == nil)
    }
}

/// Hostile JSON text (a search cursor is client input) never traps the parser.
struct JSONSurrogateTests {
    @Test func loneHighSurrogateBecomesReplacementCharacter() throws {
        let value = try JSONValue.parse("\"\\ud800\\u0041\"")
        #expect(value == .string("\u{FFFD}"))
        let pair = try JSONValue.parse("\"\\ud83d\\ude00\"")
        #expect(pair == .string("😀"))
    }
}
