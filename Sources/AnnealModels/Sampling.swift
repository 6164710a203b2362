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
        precondition(!prompt.isEmpty, "generate needs at least one prompt token")
        precondition(prompt.count <= config.contextLength,
                     "prompt of \(prompt.count) tokens exceeds the context length \(config.contextLength)")
        var cache = KVCache(layers: config.layers, capacity: config.contextLength, width: config.width)
        let tape = Tape(recordsGradients: false)
        var logits = decode(prompt, cache: &cache, tape: tape)
        var out: [Int32] = []
        while out.count < options.maxTokens {
            let next = GPT.sample(logits, options: options, rng: &rng)
            out.append(next)
            if options.stopTokens.contains(next) || cache.length >= config.contextLength { break }
            tape.reset()
            logits = decode([next], cache: &cache, tape: tape)
        }
        return out
    }

    /// Feeds `tokens` at the next positions of `cache` and returns the logits [V] that
    /// follow the last of them.
    public func decode(_ tokens: [Int32], cache: inout KVCache, tape: Tape) -> [Float] {
        let c = cache
        var unused = RNG(seed: 0)  // no dropout at inference
        let h = body(tape, tokens: tokens, batch: 1, start: cache.length, training: false, rng: &unused) { qkv, layer in
            tape.cachedSelfAttention(qkv, cache: c, layer: layer, heads: config.heads)
        }
        cache.length += tokens.count
        let last = tape.gatherRows(h, indices: [tokens.count - 1])
        return tape.value(logits(tape, hidden: last)).array
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
