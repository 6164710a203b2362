import AnnealCompute
import AnnealModels
import AnnealText
import Foundation

public enum Evaluation {
    /// nanoGPT's `estimate_loss`: the mean loss over `batches` without dropout or gradients.
    public static func loss(_ model: GPT, batches: [Batch]) -> Double {
        guard !batches.isEmpty else { return .nan }
        return total(model, batches[...]) / Double(batches.count)
    }

    /// `loss` with the batches shared by the tasks of a data-parallel run: each evaluates its
    /// part and the sums are added over MPI (one task: `loss` itself).
    public static func loss(_ model: GPT, batches: [Batch], tasks dp: DataParallel) throws(DataParallelError) -> Double {
        guard dp.tasks > 1 else { return loss(model, batches: batches) }
        guard !batches.isEmpty else { return .nan }
        return try dp.sum(total(model, batches[dp.part(of: batches.count)])) / Double(batches.count)
    }

    /// The sum of the batches' mean losses, in order.
    static func total(_ model: GPT, _ batches: ArraySlice<Batch>) -> Double {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var total = 0.0
        for b in batches {
            tape.reset()
            let l = model.languageModelLoss(tape, tokens: b.inputs, targets: b.targets, batch: b.rows, training: false, rng: &unused)
            total += Double(tape.value(l)[0])
        }
        return total
    }

    /// Entropy of the token frequencies of `tokens` in nats per token: the loss of the best
    /// model that ignores context, so a val loss well below it means context was learned.
    public static func unigramEntropy(_ tokens: [Int32]) -> Double {
        guard !tokens.isEmpty else { return 0 }
        var counts: [Int32: Int] = [:]
        for t in tokens { counts[t, default: 0] += 1 }
        let n = Double(tokens.count)
        // Summed in token order so the figure is the same on every run.
        return counts.keys.sorted().reduce(0.0) { h, t in
            let p = Double(counts[t]!) / n
            return h - p * Foundation.log(p)
        }
    }
}

/// Held-out facts as cloze completions ("The capital of Varnia is" → "Kelm"): what the
/// pretrained model stored, before any SFT teaches it to answer questions.
public struct ClozeItem: Sendable, Equatable {
    public var prompt: String
    public var item: EvalItem
}

public enum Cloze {
    /// A prompt for `attribute` of `subject`, worded as the corpus states it, or nil for
    /// attributes without a cloze form (neighbours: a list, no single completion).
    public static func prompt(subject: String, attribute: String) -> String? {
        switch attribute {
        case "capital": "The capital of \(subject) is"
        case "language": "The language of \(subject) is"
        case "currency": "The currency of \(subject) is the"
        case "home": "\(subject) lives in"
        case "job": "\(subject) works as"
        case "age": "The age of \(subject) is"
        case "pet": "\(subject) has a pet"
        default: nil
        }
    }

    /// The `heldout` items of TinyWorld's eval set that have a cloze form.
    public static func items(_ eval: [EvalItem]) -> [ClozeItem] {
        eval.filter { $0.kind == "heldout" }.compactMap { item in
            prompt(subject: item.subject, attribute: item.attribute).map { ClozeItem(prompt: $0, item: item) }
        }
    }

    /// The completion up to the end of its sentence or line.
    public static func completion(_ text: String) -> String {
        String(text.prefix { $0 != "." && $0 != "\n" && $0 != "," })
    }

    /// Exact match overall and per attribute (capital, home, job, ...): which kinds of facts
    /// were stored.
    public struct Score: Equatable, Sendable {
        public var exactMatch: Double
        public var byAttribute: [String: Double]
    }

    /// Share of `items` whose greedy completion (at most `maxTokens` tokens) the judge accepts.
    public static func score(_ model: GPT, tokenizer: BPETokenizer, items: [ClozeItem], judge: EvalJudge,
                             maxTokens: Int = 8) -> Score? {
        guard !items.isEmpty else { return nil }
        var rng = RNG(seed: 0)  // greedy: never drawn from
        let options = SamplingOptions(temperature: 0, maxTokens: maxTokens)
        var correct: [String: Int] = [:], total: [String: Int] = [:]
        for c in items {
            let prompt = tokenizer.encode(c.prompt, allowSpecial: false).map { Int32(bitPattern: $0) }
            let out = model.generate(prompt: Array(prompt.suffix(model.config.contextLength - maxTokens)), options: options, rng: &rng)
            let text = completion(tokenizer.decode(out.map { UInt32(bitPattern: $0) }))
            total[c.item.attribute, default: 0] += 1
            if judge.judge(text, for: c.item) == .correct { correct[c.item.attribute, default: 0] += 1 }
        }
        var byAttribute: [String: Double] = [:]
        for (attribute, n) in total { byAttribute[attribute] = Double(correct[attribute] ?? 0) / Double(n) }
        return Score(exactMatch: Double(correct.values.reduce(0, +)) / Double(items.count), byAttribute: byAttribute)
    }
}
