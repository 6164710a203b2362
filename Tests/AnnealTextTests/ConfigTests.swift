import Foundation
import Testing
@testable import AnnealText

@Suite struct ConfigTests {
    /// clean's `skip` turns rules off by name; an unknown name is an error listing the rules.
    @Test func cleanSkipsRulesByName() throws {
        var clean = CleanConfig()
        try clean.skip(["c4_sentences"])
        #expect(!clean.isOn(.c4Sentences) && clean.isOn(.gopherStopWords))
        #expect(throws: TextError.self) { try clean.skip(["c4_sentence"]) }
    }
}
