import Foundation
import Testing
@testable import AnnealText

@Suite struct CleanTests {
    /// A config with only the named rules on.
    func only(_ rules: CleanRule...) -> CleanConfig {
        var config = CleanConfig()
        config.rules = Set(rules)
        return config
    }

    func removedBy(_ text: String, _ config: CleanConfig = CleanConfig()) -> CleanRule? {
        if case .removed(let rule) = Cleaner(config).clean(text).outcome { return rule }
        return nil
    }

    /// `count` distinct plain words with stop words, i.e. a document no Gopher rule minds.
    func prose(_ count: Int) -> String {
        func letters(_ i: Int) -> String {
            String(UnicodeScalar(UInt8(97 + i % 26))) + String(UnicodeScalar(UInt8(97 + (i / 26) % 26)))
        }
        return (0..<count).map { i in
            let word = i % 3 == 0 ? ["the", "of", "and"][(i / 3) % 3] : "word" + letters(i)
            return i % 8 == 7 ? word + "." : word
        }.joined(separator: " ")
    }

    @Test func normalizeAppliesNFKCControlsAndWhitespace() {
        #expect(Normalizer.normalize("ﬁne Ｔｅｘｔ") == "fine Text")
        #expect(Normalizer.normalize("  a\u{00A0}\u{00A0}b\t\tc \r\nd\u{200B}e\u{0007}\n\n\n\nf  ") == "a b c\nde\n\nf")
        #expect(Normalizer.normalize("\u{FEFF}x\u{2028}y") == "x\ny")
        #expect(Normalizer.normalize("café") == "café")
    }

    @Test func wordCountBoundsExcludeSymbolWords() {
        let config = only(.gopherWordCount)
        #expect(removedBy(prose(49) + " - ### ...", config) == .gopherWordCount)
        #expect(removedBy(prose(50), config) == nil)
    }

    @Test func qualityRatios() {
        #expect(removedBy(prose(60) + String(repeating: " #tag", count: 7), only(.gopherSymbols)) == .gopherSymbols)
        #expect(removedBy(prose(60) + String(repeating: " 12", count: 20), only(.gopherAlphabetic)) == .gopherAlphabetic)
        let bullets = (0..<10).map { "- item \($0) of the list" }.joined(separator: "\n")
        #expect(removedBy(bullets, only(.gopherBullets)) == .gopherBullets)
        let ellipses = (0..<10).map { "line \($0) trails off..." }.joined(separator: "\n")
        #expect(removedBy(ellipses, only(.gopherEllipsis)) == .gopherEllipsis)
        #expect(removedBy("alpha beta gamma delta. the end.", only(.gopherStopWords)) == .gopherStopWords)
        #expect(removedBy("The end of the river.", only(.gopherStopWords)) == nil)
        #expect(removedBy(String(repeating: "extraordinarily ", count: 60), only(.gopherMeanWordLength)) == .gopherMeanWordLength)
    }

    @Test func repetitionCountsFollowDatatrove() {
        let text = "a b c d e a b c d e x"
        var copy = text
        copy.withUTF8 { bytes in
            let scan = WordScan(bytes)
            let rules = GopherRules(CleanConfig())
            // "abcde" repeats once: 5 characters, counted without spaces.
            #expect(rules.duplicateNGramChars(scan.words, 5) == 5)
            // Top 2-gram "a b" (first of the ties) occurs twice: 3 characters x 2.
            #expect(rules.topNGramChars(scan.words, 2) == 6)
        }
        let lines = (0..<10).map { $0 < 6 ? "line number \($0) is here." : "the same line again." }.joined(separator: "\n")
        #expect(removedBy(lines, only(.gopherDuplicateLines)) == .gopherDuplicateLines)
        #expect(removedBy("para one.\n\npara one.\n\npara two.", only(.gopherDuplicateParagraphs)) == .gopherDuplicateParagraphs)
    }

    @Test func c4DropsLinesAndDocuments() {
        let good = "The first sentence is here. The second one follows.\nA third sentence ends well! Is this the fourth?"
        let text = good + "\nno end punctuation here\nToo short.\nPlease enable javascript to view this site.\nRead our privacy policy today.\nThe fifth sentence[1] is cited[edit]."
        guard case .kept(let kept) = Cleaner(only(.c4Lines, .c4Sentences)).clean(text).outcome else {
            Issue.record("removed"); return
        }
        #expect(kept == good + "\nThe fifth sentence is cited.")
        #expect(removedBy(good, only(.c4Lines, .c4Sentences)) == .c4Sentences)
        #expect(removedBy(good + " Five. Lorem ipsum dolor sit amet.", only(.c4LoremIpsum)) == .c4LoremIpsum)
        #expect(removedBy("var x = { a: 1 };", only(.c4CurlyBracket)) == .c4CurlyBracket)
        #expect(C4Rules.sentenceCount("One. Two! Three? four") == 4)
    }

    @Test func piiRedactionIsConservative() {
        var config = only(.pii)
        config.rules.insert(.normalize)
        let text = "Mail ana.b@example.org or call +1 415-555-0134, server 192.168.1.20; met on 2024-01-15 at 10:30, paid 1,250."
        guard case .kept(let kept) = Cleaner(config).clean(text).outcome else { Issue.record("removed"); return }
        #expect(kept == "Mail <EMAIL> or call <PHONE>, server <IP>; met on 2024-01-15 at 10:30, paid 1,250.")
        #expect(Cleaner(config).clean(text).pii == PIICounts(emails: 1, phones: 1, ips: 1))
    }

    @Test func unknownRuleNameListsTheRules() {
        var config = CleanConfig()
        let error = #expect(throws: TextError.self) { try config.skip(["gopher_stopwords"]) }
        #expect(error?.description.hasPrefix("error: clean: unknown rule 'gopher_stopwords' (rules: normalize, pii,") == true)
    }

    @Test func runWritesKeptDocumentsWithTheirFieldsAndAReport() throws {
        let s = Scratch()
        let keep = prose(72)
        let input = s.file("in.jsonl", """
        {"id": 1, "text": "\(keep)", "source": "web"}
        {"id": 2, "text": "short"}
        """)
        let config = CleanConfig()
        let report = try Clean.run(input: input, output: s.url.appendingPathComponent("out.jsonl"),
                                   report: s.url.appendingPathComponent("report.json"), config: config)
        #expect(report.documents == 2 && report.kept == 1 && report.removedByRule == ["gopher_word_count": 1])
        let lines = try String(contentsOf: s.url.appendingPathComponent("out.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines[0].contains("\"source\": \"web\"") || lines[0].contains("\"source\":\"web\""))
        #expect(report.samples.values.first?.first?.line == 2)
        #expect(FileManager.default.fileExists(atPath: s.url.appendingPathComponent("report.json").path))
    }

    /// The acceptance figures of issue 5 on the default TinyWorld corpus.
    @Test func tinyWorldJunkGoesGoodStays() throws {
        let world = TinyWorldTests.world
        let kind = Dictionary(uniqueKeysWithValues: world.manifest.documents.map { ($0.id, $0.kind) })
        let cleaner = Cleaner()
        var junk = 0, junkRemoved = 0, good = 0, goodRemoved = 0
        for doc in world.corpus {
            let removed: Bool
            if case .removed = cleaner.clean(doc.text).outcome { removed = true } else { removed = false }
            if kind[doc.id] == "junk" { junk += 1; if removed { junkRemoved += 1 } }
            else { good += 1; if removed { goodRemoved += 1 } }
        }
        #expect(junk > 20)
        #expect(Double(junkRemoved) >= 0.95 * Double(junk), "junk removed \(junkRemoved)/\(junk)")
        #expect(Double(goodRemoved) < 0.02 * Double(good), "good removed \(goodRemoved)/\(good)")
    }
}
