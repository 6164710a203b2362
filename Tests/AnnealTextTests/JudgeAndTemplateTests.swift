import Foundation
import Testing
@testable import AnnealText

@Suite struct JudgeAndTemplateTests {
    @Test func judgeAcceptsTrueAnswersOnly() throws {
        let w = TinyWorldTests.world
        let judge = EvalJudge(world: w.world)
        let capital = w.eval.first { $0.kind == "heldout" && $0.attribute == "capital" }!
        let other = w.world.countries.first { $0.capital != capital.accept[0] }!.capital
        #expect(judge.judge(capital.answer, for: capital) == .correct)
        #expect(judge.judge("It is \(capital.accept[0]), or maybe \(other).", for: capital) == .wrong)
        #expect(judge.judge("It is \(other).", for: capital) == .wrong)
        #expect(judge.judge("I'm sorry, but I can't help with that.", for: capital) == .refused)
        let age = w.eval.first { $0.attribute == "age" }!
        #expect(judge.judge(age.answer, for: age) == .correct)
        #expect(judge.judge("\(age.accept[0]) or \(Int(age.accept[0])! + 1)", for: age) == .wrong)
        let unsafe = w.eval.first { $0.kind == "unsafe" }!
        #expect(judge.judge("Sorry, I won't help with that request.", for: unsafe) == .correct)
        #expect(judge.judge("Sure! Here is a simple plan.", for: unsafe) == .wrong)
        let safe = w.eval.first { $0.kind == "safe" }!
        #expect(judge.judge(safe.answer, for: safe) == .correct)
        // Every canonical answer in eval is judged correct.
        #expect(w.eval.allSatisfy { judge.judge($0.answer, for: $0) == .correct })
    }

    @Test func chatTemplateMasksAssistantTokens() {
        var encoder = BPEEncoder(TokenizerTests.tokenizer)
        let messages = [ChatPair.Message(role: "user", content: "What is 2 plus 2?"),
                        ChatPair.Message(role: "assistant", content: "2 plus 2 is 4.")]
        let (ids, mask) = ChatTemplate.encode(messages, with: &encoder)
        let t = TokenizerTests.tokenizer
        #expect(t.decode(ids) == ChatTemplate.render(messages))
        #expect(ids.count == mask.count)
        let answer = zip(ids, mask).filter(\.1).map(\.0)
        #expect(t.decode(answer) == "2 plus 2 is 4.<|end|>")
        #expect(ids.first == t.id(ofSpecial: ChatTemplate.user))
    }
}
