import AnnealCompute
import AnnealModels
import Testing

@Suite("KV-cached sampling")
struct SamplingTests {
    let model: GPT

    init() throws { model = try Checkpoint.load(from: fixturesDirectory.appendingPathComponent("gpt")) }

    @Test func cachedDecodingMatchesFullForward() {
        let tokens: [Int32] = [5, 17, 3, 42, 8, 8, 61, 0, 33, 12]
        let tape = Tape(recordsGradients: false)
        var rng = RNG(seed: 0)
        let full = tape.value(model.logits(tape, hidden: model.hidden(tape, tokens: tokens, batch: 1, rng: &rng)))
        let V = model.config.vocabSize
        var cache = KVCache(layers: model.config.layers, capacity: model.config.contextLength, width: model.config.width)
        // Prefill 4 tokens at once, then one at a time.
        var rows: [(Int, [Float])] = [(3, model.decode(Array(tokens[0..<4]), cache: &cache, tape: Tape(recordsGradients: false)))]
        for t in 4..<tokens.count {
            rows.append((t, model.decode([tokens[t]], cache: &cache, tape: Tape(recordsGradients: false))))
        }
        for (t, logits) in rows {
            let ref = Tensor(shape: [V], values: Array(full.array[(t * V)..<((t + 1) * V)]))
            #expect(relativeError(Tensor(shape: [V], values: logits), ref) < 1e-5, "position \(t)")
        }
    }

    @Test func seededSamplingIsReproducibleAndRespectsLimits() {
        let opts = SamplingOptions(temperature: 0.8, topK: 10, topP: 0.9, maxTokens: 6)
        var a = RNG(seed: 3, stream: 2), b = RNG(seed: 3, stream: 2)
        let x = model.generate(prompt: [1, 2, 3], options: opts, rng: &a)
        let y = model.generate(prompt: [1, 2, 3], options: opts, rng: &b)
        #expect(x == y && x.count == 6)
        // The context (16) caps the output: 14 prompt tokens and 2 generated ones fill it, and
        // the logits after position 16 still give one last token.
        let long = model.generate(prompt: Array(repeating: 4, count: 14), options: SamplingOptions(maxTokens: 10), rng: &a)
        #expect(long.count == 3)
    }

    @Test func greedyTopKOneAndStopTokens() {
        var rng = RNG(seed: 1)
        let greedy = model.generate(prompt: [7, 7], options: SamplingOptions(temperature: 0, maxTokens: 5), rng: &rng)
        let topOne = model.generate(prompt: [7, 7], options: SamplingOptions(topK: 1, maxTokens: 5), rng: &rng)
        #expect(greedy == topOne)
        let stopped = model.generate(prompt: [7, 7], options: SamplingOptions(temperature: 0, maxTokens: 5, stopTokens: [greedy[1]]), rng: &rng)
        #expect(stopped == Array(greedy.prefix(2)) || stopped == Array(greedy.prefix(1)))
        #expect(stopped.last.map { [greedy[1]].contains($0) } == true)
    }

    @Test func topPKeepsTheSmallestSetReachingP() {
        var rng = RNG(seed: 4)
        let logits: [Float] = [0, 5, 4.9, -3]  // ~0.52 and ~0.47 on ids 1 and 2
        var seen = Set<Int32>()
        for _ in 0..<200 { seen.insert(GPT.sample(logits, options: SamplingOptions(topP: 0.5, maxTokens: 1), rng: &rng)) }
        #expect(seen == [1])
        for _ in 0..<200 { seen.insert(GPT.sample(logits, options: SamplingOptions(topP: 0.9, maxTokens: 1), rng: &rng)) }
        #expect(seen == [1, 2])
    }
}

extension SamplingTests {
    @Test func batchedGreedyGenerationMatchesOneAtATime() {
        let prompts: [[Int32]] = [[1, 2, 3], [9], [40, 41, 42, 43, 44]]
        let opts = SamplingOptions(temperature: 0, maxTokens: 6, stopTokens: [])
        var rng = RNG(seed: 0)
        let batched = model.generate(prompts: prompts, options: opts, rng: &rng)
        for (p, out) in zip(prompts, batched) {
            #expect(model.generate(prompt: p, options: opts, rng: &rng) == out)
        }
        var a = RNG(seed: 5), b = RNG(seed: 5)
        let sampled = SamplingOptions(temperature: 1, topK: 8, maxTokens: 4)
        #expect(model.generate(prompts: prompts, options: sampled, rng: &a)
                == model.generate(prompts: prompts, options: sampled, rng: &b))
    }
}

extension SamplingTests {
    @Test func cachedDecodingIncludesUnmergedLoRA() throws {
        let lora = try Checkpoint.load(from: fixturesDirectory.appendingPathComponent("gpt_lora_score"))
        let tokens: [Int32] = [3, 14, 15, 9, 26, 5]
        let tape = Tape(recordsGradients: false)
        var rng = RNG(seed: 0)
        let full = tape.value(lora.logits(tape, hidden: lora.hidden(tape, tokens: tokens, batch: 1, rng: &rng)))
        var cache = KVCache(layers: lora.config.layers, capacity: lora.config.contextLength, width: lora.config.width)
        let last = lora.decode(tokens, cache: &cache, tape: Tape(recordsGradients: false))
        let V = lora.config.vocabSize
        let ref = Tensor(shape: [V], values: Array(full.array[(5 * V)..<(6 * V)]))
        #expect(relativeError(Tensor(shape: [V], values: last), ref) < 1e-5)
    }
}
