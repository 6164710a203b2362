import AnnealCompute
import Foundation

/// How `generate` picks each next token.
public struct SamplingOptions: Codable, Sendable, Equatable {
    /// 0 means greedy (argmax); otherwise logits are divided by it.
    public var temperature: Float
    /// Keep only the k most likely tokens (nil or 0: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches p (nil or 1: all).
    public var topP: Float?
    public var maxTokens: Int
    /// Generation stops after emitting one of these (it is included in the output).
    public var stopTokens: [Int32]

    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, maxTokens: Int,
                stopTokens: [Int32] = []) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.maxTokens = maxTokens
        self.stopTokens = stopTokens
    }
}

extension GPT {
    /// Continues `prompt` with up to `options.maxTokens` tokens (fewer at a stop token or at
    /// the context length) using a KV cache: the prompt is one batched pass, then one
    /// position per token. Every random choice comes from `rng`, so a seed fixes the text.
    public func generate(prompt: [Int32], options: SamplingOptions, rng: inout RNG) -> [Int32] {
        generate(prompts: [prompt], options: options, rng: &rng)[0]
    }

    /// Continues several prompts at once (e.g. PPO rollouts): each prompt is prefilled into
    /// its own KV cache, then every step decodes one token for all unfinished sequences in
    /// one batched pass (their matrix products share one sgemm). Tokens are drawn in prompt
    /// order from `rng`, so the same prompts in the same order with the same seed give the
    /// same outputs.
    public func generate(prompts: [[Int32]], options: SamplingOptions, rng: inout RNG) -> [[Int32]] {
        for (i, prompt) in prompts.enumerated() {
            precondition(!prompt.isEmpty, "prompt \(i) is empty; generate needs at least one token")
            precondition(prompt.count <= config.contextLength,
                         "prompt \(i) of \(prompt.count) tokens exceeds the context length \(config.contextLength)")
        }
        let tape = Tape(recordsGradients: false)
        var caches = prompts.map { _ in
            KVCache(layers: config.layers, capacity: config.contextLength, width: config.width)
        }
        var logits: [[Float]] = prompts.indices.map { b in
            tape.reset()
            return decode(prompts[b], cache: &caches[b], tape: tape)
        }
        var outputs = [[Int32]](repeating: [], count: prompts.count)
        var active = Array(prompts.indices)
        while !active.isEmpty {
            var stillActive: [Int] = []
            for b in active {
                let next = GPT.sample(logits[b], options: options, rng: &rng)
                outputs[b].append(next)
                let done = options.stopTokens.contains(next) || outputs[b].count >= options.maxTokens
                    || caches[b].length >= config.contextLength
                if !done { stillActive.append(b) }
            }
            active = stillActive
            if active.isEmpty { break }
            tape.reset()
            var batch = active.map { caches[$0] }
            let rows = decodeBatch(active.map { outputs[$0].last! }, caches: &batch, tape: tape)
            for (k, b) in active.enumerated() {
                caches[b] = batch[k]
                logits[b] = rows[k]
            }
        }
        return outputs
    }

    /// Feeds `tokens` at the next positions of `cache` and returns the logits [V] that
    /// follow the last of them.
    public func decode(_ tokens: [Int32], cache: inout KVCache, tape: Tape) -> [Float] {
        let c = cache
        var unused = RNG(seed: 0)  // no dropout at inference
        let positions = (0..<tokens.count).map { Int32(cache.length + $0) }
        let h = body(tape, tokens: tokens, positions: positions, training: false, rng: &unused) { qkv, layer, _ in
            tape.cachedSelfAttention(qkv, cache: c, layer: layer, heads: config.heads)
        }
        cache.length += tokens.count
        let last = tape.gatherRows(h, indices: [tokens.count - 1])
        return tape.value(logits(tape, hidden: last)).array
    }

    /// One new token for each of several sequences (token b continues `caches[b]`); returns
    /// the next-token logits of each.
    public func decodeBatch(_ tokens: [Int32], caches: inout [KVCache], tape: Tape) -> [[Float]] {
        precondition(tokens.count == caches.count, "\(tokens.count) tokens for \(caches.count) caches")
        let snapshot = caches
        var unused = RNG(seed: 0)
        let positions = caches.map { Int32($0.length) }
        let h = body(tape, tokens: tokens, positions: positions, training: false, rng: &unused) { qkv, layer, _ in
            tape.cachedSelfAttention(qkv, caches: snapshot, layer: layer, heads: config.heads)
        }
        for i in caches.indices { caches[i].length += 1 }
        let L = tape.value(logits(tape, hidden: h))
        let V = config.vocabSize
        return (0..<tokens.count).map { Array(L.buffer[($0 * V)..<(($0 + 1) * V)]) }
    }

    /// Picks a token from `logits` under temperature, top-k and top-p. Ties are broken by the
    /// lower token id, so the result is a pure function of (logits, options, rng state).
    public static func sample(_ logits: [Float], options: SamplingOptions, rng: inout RNG) -> Int32 {
        precondition(!logits.isEmpty, "sampling from empty logits")
        if options.temperature <= 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        // Candidates sorted by logit (descending, then by id).
        var order = Array(0..<logits.count)
        order.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if let k = options.topK, k > 0, k < order.count { order.removeLast(order.count - k) }
        let top = logits[order[0]]
        var probs = order.map { expf((logits[$0] - top) / options.temperature) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        if let p = options.topP, p < 1 {
            var cumulative: Float = 0, keep = 0
            while keep < probs.count {
                cumulative += probs[keep]
                keep += 1
                if cumulative >= p { break }
            }
            order.removeLast(order.count - keep)
            probs.removeLast(probs.count - keep)
            let kept = probs.reduce(0, +)
            for i in probs.indices { probs[i] /= kept }
        }
        let u = rng.nextUniform()
        var cumulative: Float = 0
        for (i, p) in probs.enumerated() {
            cumulative += p
            if u < cumulative { return Int32(order[i]) }
        }
        return Int32(order[order.count - 1])
    }
}
