import AnnealCompute
import AnnealModels
import AnnealText
import Foundation

/// A model's answer to one chat prompt: the sampled ids (without the closing `<|end|>`), their
/// text, and whether it ran out of tokens before `<|end|>` (`research/ppo-feasibility.md`,
/// pitfall 2: a cut answer loses what it would have said last).
public struct ChatAnswer: Sendable, Equatable {
    public var ids: [Int32]
    public var text: String
    public var isTruncated: Bool
}

/// The model-facing pieces of eval: answers, perplexities, reward scores and KL. Each takes
/// a model and token ids and returns plain numbers, so the stage only orchestrates.
public enum EvalModels {
    /// Prompt ids of each question in the chat template (as SFT trained them), cut from the
    /// left to leave `maxTokens` of context for the answer.
    public static func prompts(_ questions: [String], tokenizer: BPETokenizer, contextLength: Int, maxTokens: Int) -> [[Int32]] {
        var encoder = BPEEncoder(tokenizer)
        let limit = max(1, contextLength - maxTokens)
        return questions.map { Array(ChatExam.prompt($0, encoder: &encoder).suffix(limit)) }
    }

    /// Answers to `prompts`, `batch` at a time through one KV-cached decode each. Every draw
    /// comes from `rng` in prompt order, so the same seed gives the same answers.
    public static func answers(_ model: GPT, tokenizer: BPETokenizer, prompts: [[Int32]], options: SamplingOptions,
                               batch: Int, rng: inout RNG) -> [ChatAnswer] {
        guard let end = tokenizer.id(ofSpecial: ChatTemplate.end).map({ Int32(bitPattern: $0) }) else {
            preconditionFailure("the tokenizer lacks the chat template's <|end|>")
        }
        var options = options
        options.stopTokens = [end]
        var out: [ChatAnswer] = []
        out.reserveCapacity(prompts.count)
        for start in stride(from: 0, to: prompts.count, by: max(1, batch)) {
            let range = start..<min(start + max(1, batch), prompts.count)
            for ids in model.generate(prompts: Array(prompts[range]), options: options, rng: &rng) {
                let ended = ids.last == end
                let body = ended ? Array(ids.dropLast()) : ids
                out.append(ChatAnswer(ids: body, text: tokenizer.decode(body.map { UInt32(bitPattern: $0) }), isTruncated: !ended))
            }
        }
        return out
    }

    /// exp(mean next-token loss) over `windows` windows of `block` tokens spread evenly over
    /// `tokens`; nil when the text is shorter than one window.
    public static func perplexity(_ model: GPT, tokens: [Int32], block: Int, windows: Int, batch: Int = 8) -> Double? {
        let T = min(block, model.config.contextLength)
        let offsets = Batching.evenlySpaced(tokens, count: windows, block: T)
        guard !offsets.isEmpty else { return nil }
        var total = 0.0
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        for start in stride(from: 0, to: offsets.count, by: batch) {
            let b = Batching.window(tokens, offsets: Array(offsets[start..<min(start + batch, offsets.count)]), block: T)
            tape.reset()
            let l = model.languageModelLoss(tape, tokens: b.inputs, targets: b.targets, batch: b.rows, training: false, rng: &unused)
            total += Double(tape.value(l)[0]) * Double(b.rows)
        }
        return exp(total / Double(offsets.count))
    }

    /// exp(mean loss per answer token) of the reference answers given their questions in the
    /// chat template: how likely the model finds the answers eval expects. Sequences run
    /// `batch` at a time, padded at the end (causal attention: padding never reaches a real
    /// position) with ignored targets. Nil without pairs.
    public static func answerPerplexity(_ model: GPT, tokenizer: BPETokenizer, pairs: [(question: String, answer: String)],
                                        batch: Int = 16) -> Double? {
        var encoder = BPEEncoder(tokenizer)
        let pad = Int32(bitPattern: tokenizer.id(ofSpecial: ChatTemplate.endOfText) ?? 0)
        // (inputs, targets) per pair: targets are the next ids on assistant tokens, -100 elsewhere.
        let rows: [([Int32], [Int32])] = pairs.compactMap { pair in
            let (ids, mask) = ChatTemplate.encode([.init(role: "user", content: pair.question), .init(role: "assistant", content: pair.answer)],
                                                  with: &encoder)
            let n = min(ids.count, model.config.contextLength + 1)
            guard n >= 2 else { return nil }
            let targets = (1..<n).map { mask[$0] ? Int32(bitPattern: ids[$0]) : -100 }
            return targets.contains { $0 != -100 } ? (ids.prefix(n - 1).map { Int32(bitPattern: $0) }, targets) : nil
        }
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var nll = 0.0, count = 0
        for start in stride(from: 0, to: rows.count, by: batch) {
            let group = rows[start..<min(start + batch, rows.count)]
            let T = group.map(\.0.count).max()!
            var tokens: [Int32] = [], targets: [Int32] = []
            for (x, y) in group {
                tokens += x + [Int32](repeating: pad, count: T - x.count)
                targets += y + [Int32](repeating: -100, count: T - y.count)
            }
            tape.reset()
            let lp = tape.value(model.tokenLogProbs(tape, tokens: tokens, targets: targets, batch: group.count, rng: &unused)).array
            nll -= lp.reduce(0.0) { $0 + Double($1) }
            count += targets.filter { $0 != -100 }.count
        }
        return count == 0 ? nil : exp(nll / Double(count))
    }

    /// The reward model's score of each (question, answer) as it was trained: the chat template
    /// with the answer's closing `<|end|>`, read at the last token (cut to the model's context).
    public static func rewards(_ model: GPT, tokenizer: BPETokenizer, pairs: [(question: String, answer: String)], batch: Int = 16) -> [Double] {
        var encoder = BPEEncoder(tokenizer)
        let pad = Int32(bitPattern: tokenizer.id(ofSpecial: ChatTemplate.endOfText) ?? 0)
        let sequences = pairs.map { pair in
            ChatTemplate.encode([.init(role: "user", content: pair.question), .init(role: "assistant", content: pair.answer)], with: &encoder)
                .ids.prefix(model.config.contextLength).map { Int32(bitPattern: $0) }
        }
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var out: [Double] = []
        for start in stride(from: 0, to: sequences.count, by: batch) {
            let group = sequences[start..<min(start + batch, sequences.count)]
            let T = group.map(\.count).max() ?? 1
            var tokens: [Int32] = []
            for s in group { tokens += s + [Int32](repeating: pad, count: T - s.count) }
            tape.reset()
            let h = model.hidden(tape, tokens: tokens, batch: group.count, training: false, rng: &unused)
            out += tape.value(model.scalar(tape, hidden: h, lastIndices: group.map { $0.count - 1 })).array.map(Double.init)
        }
        return out
    }

    /// KL(model ‖ reference) of one answer in nats: the exact KL of the two next-token
    /// distributions summed over the positions that produced the answer's tokens (and the
    /// `<|end|>` after it when `ended`). Summing full-distribution KLs along a sampled answer
    /// is never negative and has less variance than the log-ratio of the sampled tokens.
    public static func answerKL(_ model: GPT, reference: GPT, prompt: [Int32], answer: [Int32], ended: Bool) -> Double {
        let sequence = Array((prompt + answer).prefix(model.config.contextLength))
        let first = prompt.count - 1
        let last = min(sequence.count - 1, prompt.count - 1 + answer.count - (ended ? 0 : 1))
        guard first >= 0, last >= first else { return 0 }
        let p = logits(model, sequence), q = logits(reference, sequence)
        let V = model.config.vocabSize
        var total = 0.0
        for t in first...last {
            total += klDivergence(Array(p[(t * V)..<((t + 1) * V)]), Array(q[(t * V)..<((t + 1) * V)]))
        }
        return total
    }

    static func logits(_ model: GPT, _ tokens: [Int32]) -> [Float] {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        let h = model.hidden(tape, tokens: tokens, batch: 1, training: false, rng: &unused)
        return tape.value(model.logits(tape, hidden: h)).array
    }

    /// KL(softmax(p) ‖ softmax(q)) of two logit rows, in Double.
    public static func klDivergence(_ p: [Float], _ q: [Float]) -> Double {
        precondition(p.count == q.count && !p.isEmpty, "KL of rows of \(p.count) and \(q.count) logits")
        func logSoftmax(_ x: [Float]) -> [Double] {
            let m = Double(x.max()!)
            let lse = m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
            return x.map { Double($0) - lse }
        }
        let lp = logSoftmax(p), lq = logSoftmax(q)
        var kl = 0.0
        for i in lp.indices { kl += exp(lp[i]) * (lp[i] - lq[i]) }
        return max(0, kl)
    }
}
