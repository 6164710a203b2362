import AnnealCompute

/// GPT-2: token + position embeddings, pre-LayerNorm blocks of causal multi-head attention
/// and a GELU MLP (4× width), a final LayerNorm, and the output head tied to the token
/// embedding. Weights use Hugging Face GPT-2 names and layouts (`Conv1D` weights are
/// [in, out]); every matrix product runs in sgemm on that layout through transposes.
///
/// Optional parts: a scalar head (`score.weight`, [1, C]) read at each sequence's last
/// non-padding token for reward and value models, and LoRA adapters (`LoRA.swift`).
/// Dropout (config.dropout) applies, as in GPT-2, to the embedding sum, the attention
/// probabilities and both residual branches.
public struct GPT {
    public let config: GPTConfig
    public let params: ParameterSet
    public let hasScalarHead: Bool
    public var lora: LoRA?

    public init(config: GPTConfig, scalarHead: Bool = false) throws(ModelError) {
        try config.validate()
        self.config = config
        self.hasScalarHead = scalarHead
        self.params = ParameterSet(GPT.parameterSpecs(config, scalarHead: scalarHead))
    }

    /// Storage order and shapes of every tensor; `decays` marks the matrices.
    public static func parameterSpecs(_ cfg: GPTConfig, scalarHead: Bool)
        -> [(name: String, shape: [Int], decays: Bool)] {
        let C = cfg.width
        var specs: [(name: String, shape: [Int], decays: Bool)] = [
            ("wte.weight", [cfg.vocabSize, C], true), ("wpe.weight", [cfg.contextLength, C], true),
        ]
        for l in 0..<cfg.layers {
            let p = "h.\(l)."
            specs += [
                (p + "ln_1.weight", [C], false), (p + "ln_1.bias", [C], false),
                (p + "attn.c_attn.weight", [C, 3 * C], true), (p + "attn.c_attn.bias", [3 * C], false),
                (p + "attn.c_proj.weight", [C, C], true), (p + "attn.c_proj.bias", [C], false),
                (p + "ln_2.weight", [C], false), (p + "ln_2.bias", [C], false),
                (p + "mlp.c_fc.weight", [C, 4 * C], true), (p + "mlp.c_fc.bias", [4 * C], false),
                (p + "mlp.c_proj.weight", [4 * C, C], true), (p + "mlp.c_proj.bias", [C], false),
            ]
        }
        specs += [("ln_f.weight", [C], false), ("ln_f.bias", [C], false)]
        if scalarHead { specs.append(("score.weight", [1, C], true)) }
        return specs
    }

    /// GPT-2 initialisation: N(0, 0.02) matrices, residual projections scaled by
    /// 1/√(2·layers), zero biases, unit LayerNorm weights. Deterministic in `rng`.
    public func initializeWeights(rng: inout RNG) {
        let residualStd = 0.02 / Float(2 * config.layers).squareRoot()
        for (i, e) in params.entries.enumerated() {
            let t = params.value(i)
            if e.name.hasSuffix("ln_1.weight") || e.name.hasSuffix("ln_2.weight") || e.name == "ln_f.weight" {
                t.fill(1)
            } else if e.decays {
                let std = e.name.hasSuffix("c_proj.weight") ? residualStd : 0.02
                rng.fillNormal(t.pointer, count: t.count, std: std)
            } else {
                t.zero()
            }
        }
    }

    // MARK: forward

    /// Final hidden states [B·T, C] (after ln_f) for `tokens` [B·T] in B rows of T.
    /// `rng` drives dropout when `training` and config.dropout > 0.
    public func hidden(_ tape: Tape, tokens: [Int32], batch B: Int, training: Bool = false,
                       rng: inout RNG) -> Var {
        precondition(B > 0 && tokens.count % B == 0, "\(tokens.count) tokens do not split into \(B) rows")
        let T = tokens.count / B
        let positions = (0..<B).flatMap { _ in (Int32(0)..<Int32(T)) }
        let p = training ? config.dropout : 0
        return body(tape, tokens: tokens, positions: positions, training: training, rng: &rng) { qkv, _, rng in
            tape.causalSelfAttention(qkv, batch: B, heads: config.heads, dropout: p, rng: &rng)
        }
    }

    /// The transformer from embeddings to ln_f for `tokens` at `positions` (one each);
    /// `attention(qkv, layer)` is the full causal attention in training, the KV-cached one
    /// when decoding.
    func body(_ tape: Tape, tokens: [Int32], positions: [Int32], training: Bool,
              rng: inout RNG, attention: (Var, Int, inout RNG) -> Var) -> Var {
        precondition(positions.count == tokens.count, "\(positions.count) positions for \(tokens.count) tokens")
        if let last = positions.max() {
            precondition(Int(last) < config.contextLength,
                         "position \(last) is outside the context length \(config.contextLength)")
        }
        let p = config.dropout > 0 && training ? config.dropout : 0
        let tok = tape.embedding(param(tape, "wte.weight"), indices: tokens)
        let pos = tape.embedding(param(tape, "wpe.weight"), indices: positions)
        var x = tape.dropout(tape.add(tok, pos), p: p, rng: &rng)
        for l in 0..<config.layers {
            let pre = "h.\(l)."
            // x = x + proj(attn(c_attn(ln_1(x))))
            let h1 = tape.layerNorm(x, weight: param(tape, pre + "ln_1.weight"), bias: param(tape, pre + "ln_1.bias"))
            let qkv = projection(tape, pre + "attn.c_attn", h1, training: training, rng: &rng)
            let att = attention(qkv, l, &rng)
            let a = projection(tape, pre + "attn.c_proj", att, training: training, rng: &rng)
            x = tape.add(x, tape.dropout(a, p: p, rng: &rng))
            // x = x + c_proj(gelu(c_fc(ln_2(x))))
            let h2 = tape.layerNorm(x, weight: param(tape, pre + "ln_2.weight"), bias: param(tape, pre + "ln_2.bias"))
            let fc = tape.gelu(projection(tape, pre + "mlp.c_fc", h2, training: training, rng: &rng))
            let m = projection(tape, pre + "mlp.c_proj", fc, training: training, rng: &rng)
            x = tape.add(x, tape.dropout(m, p: p, rng: &rng))
        }
        return tape.layerNorm(x, weight: param(tape, "ln_f.weight"), bias: param(tape, "ln_f.bias"))
    }

    /// Next-token logits [B·T, V] through the tied head (hidden · wteᵀ).
    public func logits(_ tape: Tape, hidden: Var) -> Var {
        tape.linear(hidden, param(tape, "wte.weight"), layout: .outIn)
    }

    /// One scalar per sequence [B], read at row `lastIndices[b]` (0-based position within
    /// sequence b) of hidden [B·T, C]. Requires `scalarHead: true`.
    public func scalar(_ tape: Tape, hidden: Var, lastIndices: [Int]) -> Var {
        precondition(hasScalarHead, "this GPT was built without a scalar head")
        let T = tape.value(hidden).rows / lastIndices.count
        let rows = lastIndices.enumerated().map { b, t in
            precondition(t >= 0 && t < T, "last index \(t) outside sequence of \(T)")
            return b * T + t
        }
        let picked = tape.gatherRows(hidden, indices: rows)
        return tape.reshape(tape.linear(picked, param(tape, "score.weight"), layout: .outIn), [lastIndices.count])
    }

    /// The scalar head at every position: [B·T] (per-token values for a PPO critic).
    public func scalarPerToken(_ tape: Tape, hidden: Var) -> Var {
        precondition(hasScalarHead, "this GPT was built without a scalar head")
        let rows = tape.value(hidden).rows
        return tape.reshape(tape.linear(hidden, param(tape, "score.weight"), layout: .outIn), [rows])
    }

    /// Position of the last token that is not `padToken` in each of B rows (0 for an
    /// all-padding row), the way Hugging Face's sequence-classification heads pick it.
    public static func lastNonPadding(_ tokens: [Int32], batch B: Int, padToken: Int32) -> [Int] {
        let T = tokens.count / B
        return (0..<B).map { b in
            var t = T - 1
            while t > 0 && tokens[b * T + t] == padToken { t -= 1 }
            return t
        }
    }

    /// Mean next-token cross-entropy; `targets` uses -100 for positions to ignore.
    public func languageModelLoss(_ tape: Tape, tokens: [Int32], targets: [Int32], batch B: Int,
                                  weights: [Float]? = nil, training: Bool = false,
                                  rng: inout RNG) -> Var {
        let h = hidden(tape, tokens: tokens, batch: B, training: training, rng: &rng)
        return tape.crossEntropy(logits(tape, hidden: h), targets: targets, weights: weights)
    }

    /// log p(targets[i] | tokens[...i]) at every position [B·T], 0 where the target is
    /// `ignoreIndex` (prompt, padding). The building block of DPO and PPO losses.
    public func tokenLogProbs(_ tape: Tape, tokens: [Int32], targets: [Int32], batch B: Int,
                              ignoreIndex: Int32 = -100, training: Bool = false, rng: inout RNG) -> Var {
        let h = hidden(tape, tokens: tokens, batch: B, training: training, rng: &rng)
        return tape.logProbs(logits(tape, hidden: h), tokens: targets, ignoreIndex: ignoreIndex)
    }

    /// Σ of `tokenLogProbs` over each sequence: [B] (log-likelihood of each response).
    public func sequenceLogProbs(_ tape: Tape, tokens: [Int32], targets: [Int32], batch B: Int,
                                 ignoreIndex: Int32 = -100, training: Bool = false, rng: inout RNG) -> Var {
        let perToken = tokenLogProbs(tape, tokens: tokens, targets: targets, batch: B,
                                     ignoreIndex: ignoreIndex, training: training, rng: &rng)
        return tape.rowSum(tape.reshape(perToken, [B, tokens.count / B]))
    }

    // MARK: helpers

    func param(_ tape: Tape, _ name: String) -> Var { tape.parameter(params, name) }

    /// A Conv1D layer `name` ([in, out] weight + bias) plus its LoRA adapter if it has one.
    func projection(_ tape: Tape, _ name: String, _ x: Var, training: Bool, rng: inout RNG) -> Var {
        let y = tape.linear(x, param(tape, name + ".weight"), param(tape, name + ".bias"))
        guard let lora, !lora.isMerged, lora.adapts(name) else { return y }
        return lora.apply(tape, name, input: x, base: y, training: training, rng: &rng)
    }
}
