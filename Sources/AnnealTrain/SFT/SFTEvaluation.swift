import AnnealCompute
import AnnealModels
import AnnealText

public enum SFTEvaluation {
    /// Validation loss over `batches`: the mean cross-entropy per kept (assistant) target
    /// over all of them, each batch weighted by its target count, without dropout.
    public static func loss(_ model: GPT, batches: [SFTBatch]) -> Double {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var total = 0.0, count = 0
        for b in batches where b.targetCount > 0 {
            tape.reset()
            let l = SFTLoss.loss(tape, model: model, batch: b, training: false, rng: &unused)
            total += Double(tape.value(l)[0]) * Double(b.targetCount)
            count += b.targetCount
        }
        return count > 0 ? total / Double(count) : .nan
    }

    /// The rows of `rows` as batches of at most `batchSize`, in order, the first `limit`.
    public static func batches(_ rows: [SFTRow], batchSize: Int, limit: Int) -> [SFTBatch] {
        stride(from: 0, to: rows.count, by: batchSize).prefix(limit).map {
            SFTBatching.batch(rows, Array($0..<min($0 + batchSize, rows.count)))
        }
    }
}

/// Questions answered in the chat template and judged against the truth: what SFT proves.
/// `heldout` items ask for facts that appear only in the pretraining corpus (extraction of
/// stored knowledge), `sft` items for facts in the SFT data (the skill itself).
public enum ChatExam {
    /// Ids of a user turn then the assistant tag: where the model starts answering, the
    /// same ids SFT trained on (content encoded as plain text).
    public static func prompt(_ question: String, encoder: inout BPEEncoder) -> [Int32] {
        let (ids, _) = ChatTemplate.encode([.init(role: "user", content: question)], with: &encoder)
        let assistant = encoder.tokenizer.id(ofSpecial: ChatTemplate.assistant)!
        return (ids + [assistant]).map { Int32(bitPattern: $0) }
    }

    /// Exact match of greedy answers (up to `maxTokens`, ending at `<|end|>`) on the items of
    /// `kind`, overall and per attribute, or nil when there are none. Prompts run in batches
    /// of `batch` through one KV-cached decode.
    public static func exactMatch(_ model: GPT, tokenizer: BPETokenizer, items: [EvalItem], kind: String,
                                  judge: EvalJudge, maxTokens: Int = 24, batch: Int = 32) -> Cloze.Score? {
        let chosen = items.filter { $0.kind == kind }
        guard !chosen.isEmpty, let end = tokenizer.id(ofSpecial: ChatTemplate.end) else { return nil }
        var encoder = BPEEncoder(tokenizer)
        let limit = model.config.contextLength - maxTokens
        let prompts = chosen.map { Array(prompt($0.question, encoder: &encoder).suffix(max(1, limit))) }
        let options = SamplingOptions(temperature: 0, maxTokens: maxTokens, stopTokens: [Int32(bitPattern: end)])
        var rng = RNG(seed: 0)  // greedy: never drawn from
        var correct: [String: Int] = [:], total: [String: Int] = [:]
        for start in stride(from: 0, to: prompts.count, by: batch) {
            let range = start..<min(start + batch, prompts.count)
            let outs = model.generate(prompts: Array(prompts[range]), options: options, rng: &rng)
            for (item, out) in zip(chosen[range], outs) {
                let answer = tokenizer.decode(out.filter { $0 != Int32(bitPattern: end) }.map { UInt32(bitPattern: $0) })
                total[item.attribute, default: 0] += 1
                if judge.judge(answer, for: item) == .correct { correct[item.attribute, default: 0] += 1 }
            }
        }
        var byAttribute: [String: Double] = [:]
        for (attribute, n) in total { byAttribute[attribute] = Double(correct[attribute] ?? 0) / Double(n) }
        return Cloze.Score(exactMatch: Double(correct.values.reduce(0, +)) / Double(chosen.count), byAttribute: byAttribute)
    }
}
