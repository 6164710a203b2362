import AnnealCompute

extension GPT {
    /// `generate(prompt:options:rng:)` one token at a time: `each(token, logits)` sees every
    /// token as it is drawn and the logits [V] it was drawn from, and returns false to stop
    /// early. Same KV-cached passes and the same draws from `rng` as `generate`, so the same
    /// seed gives the same tokens (chat prints them as they come; `generate --logits` keeps
    /// the logits to compare with other implementations).
    @discardableResult
    public func generate(prompt: [Int32], options: SamplingOptions, rng: inout RNG,
                         each: (Int32, [Float]) -> Bool) -> [Int32] {
        precondition(!prompt.isEmpty, "the prompt is empty; generate needs at least one token")
        precondition(prompt.count <= config.contextLength,
                     "a prompt of \(prompt.count) tokens exceeds the context length \(config.contextLength)")
        let tape = Tape(recordsGradients: false)
        var caches = [KVCache(layers: config.layers, capacity: config.contextLength, width: config.width)]
        var logits = decode(prompt, cache: &caches[0], tape: tape)
        var output: [Int32] = []
        while true {
            let next = GPT.sample(logits, options: options, rng: &rng)
            output.append(next)
            let wantsMore = each(next, logits)
            if !wantsMore || options.stopTokens.contains(next) || output.count >= options.maxTokens
                || caches[0].length >= config.contextLength { break }
            tape.reset()
            logits = decodeBatch([next], caches: &caches, tape: tape)[0]
        }
        return output
    }
}
