import Foundation
import Testing
@testable import AnnealText

@Suite struct TokenizerTests {
    static let heldOutText = """
        Tavo Rinek's dog isn't here; they'll say it's 42.5% "odd"… naïve Straße 東京 x² ½ 🙂🙂!
        Tabs\tand  double  spaces   end   \n\n  indented line\r\nCRLF line<|endoftext|>After the end. ǅ Ⅻ ٣
        Q: What is 7 plus 5?
        A: 7 plus 5 is 12.

        """

    static let tokenizer: BPETokenizer = {
        var trainer = BPETrainer(BPETrainerConfig(vocabSize: 1024))
        trainer.add(TinyWorldTests.world.corpus.map(\.text))
        return try! trainer.train()
    }()

    @Test func preTokenizerMatchesTheGPT2Pattern() {
        #expect(PreTokenizer.pieces("Hello world") == ["Hello", " world"])
        #expect(PreTokenizer.pieces("I'm here's they'll we've you're I'd 'x") == ["I", "'m", " here", "'s", " they", "'ll", " we", "'ve", " you", "'re", " I", "'d", " '", "x"])
        #expect(PreTokenizer.pieces("a  \n\t end") == ["a", "  \n\t", " end"])
        #expect(PreTokenizer.pieces("naïve Straße 東京 123 4.5!!") == ["naïve", " Straße", " 東京", " 123", " 4", ".", "5", "!!"])
        #expect(PreTokenizer.pieces("x   ") == ["x", "   "])
        #expect(PreTokenizer.pieces("\nword ?'s") == ["\n", "word", " ?'", "s"])
        #expect(PreTokenizer.pieces("") == [])
        #expect(PreTokenizer.pieces(Self.heldOutText).joined() == Self.heldOutText)
    }

    @Test func byteLevelMapIsGPT2s() {
        #expect(ByteLevel.byteToScalar[0x20] == "Ġ" && ByteLevel.byteToScalar[0x0A] == "Ċ" && ByteLevel.byteToScalar[0x41] == "A")
        #expect(Set(ByteLevel.byteToScalar).count == 256)
        #expect(ByteLevel.decode(ByteLevel.encode([0, 32, 200, 255])) == [0, 32, 200, 255])
    }

    @Test func trainingReachesTheVocabAndRoundTrips() {
        let t = Self.tokenizer
        #expect(t.vocabSize == 1024)
        #expect(t.merges.count == 1024 - 256 - ChatTemplate.specialTokens.count)
        let ids = t.encode(Self.heldOutText)
        #expect(t.decode(ids) == Self.heldOutText)
        #expect(ids.contains(t.id(ofSpecial: ChatTemplate.endOfText)!))
        // Common words of the world become single tokens.
        #expect(t.encode(" capital").count == 1)
        #expect(Double(Self.heldOutText.utf8.count) / Double(ids.count) > 1.5)
        #expect(t.encode("<|endoftext|>", allowSpecial: false).count > 1)
    }

    @Test func trainingIsDeterministicAndRespectsMinFrequency() throws {
        var a = BPETrainer(BPETrainerConfig(vocabSize: 400, minFrequency: 2, specialTokens: []))
        a.add(["low lower lowest", "low low"])
        let first = try a.train()
        let second = try a.train()
        #expect(first == second)
        // Only pairs seen at least twice merge, so training stops early.
        #expect(first.vocabSize < 400)
        #expect(first.encode(" low").count == 1)
        #expect(throws: TextError.self) { try BPETrainer(BPETrainerConfig(vocabSize: 100)).train() }
    }

    @Test func ownFormatRoundTripsAndRefusesOtherVersions() throws {
        let t = Self.tokenizer
        let loaded = try BPETokenizer.load(annealJSON: try t.annealJSON())
        #expect(loaded == t)
        let future = String(decoding: try t.annealJSON(), as: UTF8.self).replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
        let error = #expect(throws: TextError.self) { try BPETokenizer.load(annealJSON: Data(future.utf8), path: "t.json") }
        #expect(error?.description == "t.json: error: tokenizer format version 2 is not supported (this Anneal reads version 1)")
    }

    @Test func huggingFaceJSONIsValidAndComplete() throws {
        let t = Self.tokenizer
        let object = try JSONSerialization.jsonObject(with: t.huggingFaceJSON()) as! [String: Any]
        #expect(object["version"] as? String == "1.0")
        let model = object["model"] as! [String: Any]
        #expect((model["vocab"] as! [String: Any]).count == t.vocabSize)
        #expect((model["merges"] as! [[String]]).count == t.merges.count)
        #expect((object["added_tokens"] as! [[String: Any]]).count == ChatTemplate.specialTokens.count)
    }

    @Test func shardsRoundTripWithHeaderAndSplit() throws {
        let s = Scratch()
        let docs = (0..<40).map { "{\"text\": \"Document \($0) is about the capital of Velmora.\"}" }.joined(separator: "\n")
        let input = s.file("docs.jsonl", docs)
        var config = TokenizeConfig()
        config.trainer = BPETrainerConfig(vocabSize: 300)
        config.validationShare = 0.1
        config.maxTokensPerShard = 200
        let report = try Tokenize.run(input: input, tokenizerDirectory: s.url.appendingPathComponent("tok"),
                                      shardsDirectory: s.url.appendingPathComponent("shards"), config: config)
        #expect(report.documents == 40 && report.bytesPerToken == 2)
        #expect(report.validation.count == 1 && report.train.count > 1)
        let tokenizer = try BPETokenizer.load(contentsOf: s.url.appendingPathComponent("tok/tokenizer.anneal.json"))
        var all: [UInt32] = []
        for shard in report.train {
            let (info, tokens) = try TokenShard.read(s.url.appendingPathComponent("shards/\(shard.file)"))
            #expect(info.count == shard.tokens && info.vocabSize == tokenizer.vocabSize)
            all += tokens
        }
        let text = tokenizer.decode(all)
        #expect(text.hasPrefix("Document 0 is about the capital of Velmora.<|endoftext|>Document 1 "))
        #expect(!text.contains("Document 9 "))   // every 10th document is validation
        // A truncated shard is refused.
        let path = s.url.appendingPathComponent("shards/\(report.train[0].file)")
        let bytes = try Data(contentsOf: path)
        try bytes.dropLast(1).write(to: path)
        #expect(throws: TextError.self) { try TokenShard.read(path) }
    }

    @Test func aTinyValidationShareSendsNothingToValidation() throws {
        let s = Scratch()
        let input = s.file("docs.jsonl", (0..<5).map { "{\"text\": \"Document \($0).\"}" }.joined(separator: "\n"))
        var config = TokenizeConfig()
        config.trainer = BPETrainerConfig(vocabSize: 300)
        config.validationShare = 1e-300   // 1/share does not fit in an Int
        let report = try Tokenize.run(input: input, tokenizerDirectory: s.url.appendingPathComponent("tok"),
                                      shardsDirectory: s.url.appendingPathComponent("shards"), config: config)
        #expect(report.documents == 5 && report.validation.isEmpty)
    }

    @Test func poolEncodesInOrderAndKeepsSpecialsOutOfDocuments() {
        let t = Self.tokenizer
        let texts = (0..<50).map { "Document \($0) says <|user|> hello." }
        var pool = EncoderPool(t, workers: 2)
        let eot = t.id(ofSpecial: ChatTemplate.endOfText)!
        let ids = pool.encode(texts, separator: eot)
        #expect(ids.map { t.decode(Array($0.dropLast())) } == texts)
        let specials = Set((0..<UInt32(ChatTemplate.specialTokens.count)))
        #expect(ids.allSatisfy { $0.last == eot && $0.dropLast().allSatisfy { !specials.contains($0) } })
        #expect(pool.encode(["<|user|>"], allowSpecial: true) == [[t.id(ofSpecial: ChatTemplate.user)!]])
    }

    /// 20,000 characters drawn from the cases where a hand-written GPT-2 split could differ
    /// from the regular expression: contractions, Unicode letters, numbers and marks,
    /// every kind of whitespace, symbols, emoji.
    static func fuzz() -> String {
        let pieces = ["'", "s", "t", "re", "ve", "ll", "d", "m", "'s", "'LL", " ", "  ", "\t", "\n", "\r\n", "\u{00A0}",
                      "\u{2028}", "\u{3000}", "\u{0085}", "a", "Z", "é", "ß", "東", "ǅ", "\u{0301}", "7", "²", "½", "٣", "Ⅻ",
                      ".", "!!", "#", "-", "_", "€", "🙂", "\u{200D}", "\u{FEFF}", "<|end|>", "<|", "|>", "x", "Q: ", "\"\""]
        var rng = SplitMix64(seed: 5)
        var text = "\n"
        while text.unicodeScalars.count < 20_000 { text += rng.pick(pieces) }
        return text
    }

    /// Writes `tokenizer.json`, a held-out text and Anneal's ids for it into
    /// $ANNEAL_HF_FIXTURE_DIR (when set), for `Tests/Fixtures/check_hf_tokenizer.sh`, which
    /// checks that Hugging Face `tokenizers` produces exactly these ids.
    @Test func writesHuggingFaceFixture() throws {
        guard let dir = ProcessInfo.processInfo.environment["ANNEAL_HF_FIXTURE_DIR"] else { return }
        let url = URL(fileURLWithPath: dir)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let other = try TinyWorld.generate(TinyWorldConfig(seed: 99))
        let heldOut = other.corpus.prefix(200).map(\.text).joined(separator: "\n\n") + "\n" + Self.heldOutText + Self.fuzz()
        try Self.tokenizer.huggingFaceJSON().write(to: url.appendingPathComponent("tokenizer.json"))
        try Data(heldOut.utf8).write(to: url.appendingPathComponent("heldout.txt"))
        let ids = Self.tokenizer.encode(heldOut)
        try JSONSerialization.data(withJSONObject: ids.map { Int($0) }).write(to: url.appendingPathComponent("ids.json"))
    }
}
