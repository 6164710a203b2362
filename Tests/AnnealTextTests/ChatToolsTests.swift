import Foundation
import Testing
@testable import AnnealText

/// What `anneal chat` and `anneal export` take from AnnealText.
@Suite struct ChatToolsTests {
    @Test func huggingFaceTokenizerJSONReadsBackToTheSameTokenizer() throws {
        let t = TokenizerTests.tokenizer
        let back = try BPETokenizer.load(huggingFaceJSON: t.huggingFaceJSON())
        #expect(back == t)
        let text = "The capital of Avalon is Kelm. <|end|> 12 345 é ✓"
        #expect(back.encode(text) == t.encode(text))
    }

    @Test func foreignTokenizerJSONIsRefusedWithTheReason() {
        let shuffled = #"{"added_tokens": [], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#
        #expect(throws: TextError(.badFormat, "not a tokenizer.json with Anneal's byte-level BPE layout: byte 0 ('Ā') has id none, expected 0; use the tokenizer.anneal.json of the tokenize stage", file: "x/tokenizer.json")) {
            try BPETokenizer.load(huggingFaceJSON: Data(shuffled.utf8), path: "x/tokenizer.json")
        }
        #expect(throws: TextError.self) { try BPETokenizer.load(huggingFaceJSON: Data("[1]".utf8)) }
    }

    @Test func tokenizerConfigCarriesTheChatTemplateAndSpecialTokens() throws {
        let t = TokenizerTests.tokenizer
        let config = try JSONSerialization.jsonObject(with: t.huggingFaceTokenizerConfig(modelMaxLength: 128)) as! [String: Any]
        #expect(config["chat_template"] as? String == ChatTemplate.jinja)
        #expect(config["eos_token"] as? String == "<|endoftext|>" && config["pad_token"] as? String == "<|endoftext|>")
        #expect(config["model_max_length"] as? Int == 128)
        let added = config["added_tokens_decoder"] as! [String: [String: Any]]
        #expect(added.count == t.specialTokens.count && added["4"]?["content"] as? String == "<|end|>")
        // The Jinja template spells out render's layout: tag, content, <|end|>; then the prompt tag.
        #expect(ChatTemplate.jinja.contains("{{ message['content'] }}<|end|>"))
        #expect(ChatTemplate.jinja.hasSuffix("{% if add_generation_prompt %}<|assistant|>{% endif %}"))
        let plain = try BPETrainer(BPETrainerConfig(vocabSize: 260, specialTokens: ["<|endoftext|>"])).train()
        let noChat = try JSONSerialization.jsonObject(with: plain.huggingFaceTokenizerConfig(modelMaxLength: 8)) as! [String: Any]
        #expect(noChat["chat_template"] == nil)
    }

    @Test func chatHistoryKeepsAnswersAsGeneratedAndDropsWholeExchanges() throws {
        let t = TokenizerTests.tokenizer
        var encoder = BPEEncoder(t)
        var history = try #require(ChatHistory(system: "Be brief.", encoder: &encoder))
        let end = t.id(ofSpecial: ChatTemplate.end)!, eot = t.id(ofSpecial: ChatTemplate.endOfText)!
        let q1 = ChatHistory.user("What is 2 plus 2?", encoder: &encoder)
        let first = try #require(history.prompt(for: q1, limit: 1000))
        let expected = ChatTemplate.encode([.init(role: "system", content: "Be brief."), .init(role: "user", content: "What is 2 plus 2?")],
                                           with: &encoder).ids + [t.id(ofSpecial: ChatTemplate.assistant)!]
        #expect(first.ids == expected && first.dropped == 0)
        history.record(user: q1, answer: [100, 101, eot])  // stopped at <|endoftext|>: closed with <|end|>
        #expect(history.messages.last == [t.id(ofSpecial: ChatTemplate.assistant)!, 100, 101, end])
        let q2 = ChatHistory.user("And 3 plus 3?", encoder: &encoder)
        let full = try #require(history.prompt(for: q2, limit: 1000))
        #expect(full.ids == history.system + history.messages.flatMap { $0 } + q2 + [t.id(ofSpecial: ChatTemplate.assistant)!])
        // One token short of the whole history: the first exchange goes, system stays.
        let tight = try #require(history.prompt(for: q2, limit: full.ids.count - 1))
        #expect(tight.dropped == 2 && tight.ids == history.system + q2 + [t.id(ofSpecial: ChatTemplate.assistant)!])
        #expect(history.prompt(for: q2, limit: history.system.count + q2.count) == nil)
        history.reset()
        #expect(history.messages.isEmpty)
        let plain = try BPETrainer(BPETrainerConfig(vocabSize: 260, specialTokens: ["<|endoftext|>"])).train()
        var other = BPEEncoder(plain)
        #expect(ChatHistory(system: nil, encoder: &other) == nil)
    }
}
