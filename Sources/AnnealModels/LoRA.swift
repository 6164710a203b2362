import AnnealCompute

/// Which linear layers get low-rank adapters and how big they are. Saved as
/// `adapter_config.json` (peft-style keys) beside `adapter_model.safetensors`.
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    /// Layer-name suffixes: "c_attn" matches every "h.N.attn.c_attn"; "mlp.c_proj" only the
    /// MLP projections. Valid layers: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj.
    public var targets: [String]

    public init(rank: Int, alpha: Float, dropout: Float = 0, targets: [String] = ["c_attn"]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    public var scale: Float { alpha / Float(rank) }

    enum CodingKeys: String, CodingKey {
        case rank = "r", alpha = "lora_alpha", dropout = "lora_dropout", targets = "target_modules"
    }
}

/// LoRA adapters (Hu et al. 2021): for a layer y = x·W + b with W [in, out],
/// y' = y + (α/r) · dropout(x)·Aᵀ·Bᵀ with A [r, in] and B [out, r] (peft's layout).
/// A starts uniform in ±1/√in and B at zero, so a fresh adapter changes nothing.
/// Adapter weights live in their own `ParameterSet` and save to their own file.
public struct LoRA {
    public let config: LoRAConfig
    public let params: ParameterSet
    /// Adapted layer name → (index of A, index of B) in `params`.
    let slots: [String: (a: Int, b: Int)]
    public private(set) var isMerged = false

    /// Adapters for every layer of `model` that matches a target; throws if a target
    /// matches nothing (a typo would otherwise train nothing silently).
    public init(config: LoRAConfig, model: GPTConfig) throws(ModelError) {
        guard config.rank > 0 else { throw ModelError(.invalidConfig, "LoRA rank must be positive, got \(config.rank)") }
        guard config.dropout >= 0 && config.dropout < 1 else {
            throw ModelError(.invalidConfig, "LoRA dropout \(config.dropout) is outside [0, 1)")
        }
        let C = model.width
        let layerShapes: [(String, Int, Int)] = [
            ("attn.c_attn", C, 3 * C), ("attn.c_proj", C, C), ("mlp.c_fc", C, 4 * C), ("mlp.c_proj", 4 * C, C),
        ]
        var specs: [(name: String, shape: [Int], decays: Bool)] = []
        var names: [String] = []
        for t in config.targets where !layerShapes.contains(where: { $0.0.hasSuffix(t) }) {
            throw ModelError(.invalidConfig,
                             "LoRA target '\(t)' matches no layer; use one of attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (or a suffix such as c_attn)")
        }
        for l in 0..<model.layers {
            for (layer, inDim, outDim) in layerShapes where config.targets.contains(where: { layer.hasSuffix($0) }) {
                let name = "h.\(l).\(layer)"
                names.append(name)
                specs.append((name + ".lora_A.weight", [config.rank, inDim], true))
                specs.append((name + ".lora_B.weight", [outDim, config.rank], true))
            }
        }
        let params = ParameterSet(specs)
        var slots: [String: (a: Int, b: Int)] = [:]
        for n in names { slots[n] = (params.index(n + ".lora_A.weight"), params.index(n + ".lora_B.weight")) }
        self.config = config
        self.params = params
        self.slots = slots
    }

    /// A ~ U(±1/√in) (kaiming-uniform with a = √5, as peft), B = 0.
    public func initializeWeights(rng: inout RNG) {
        for (_, s) in slots.sorted(by: { $0.key < $1.key }) {
            let a = params.value(s.a)
            let bound = 1 / Float(a.shape[1]).squareRoot()
            rng.fillUniform(a.pointer, count: a.count)
            for i in 0..<a.count { a[i] = (2 * a[i] - 1) * bound }
            params.value(s.b).zero()
        }
    }

    public var adaptedLayers: [String] { slots.keys.sorted() }

    func adapts(_ layer: String) -> Bool { slots[layer] != nil }

    /// base + (α/r) · dropout(x)·Aᵀ·Bᵀ on the tape.
    func apply(_ tape: Tape, _ layer: String, input x: Var, base: Var, training: Bool,
               rng: inout RNG) -> Var {
        let s = slots[layer]!
        let xin = training && config.dropout > 0 ? tape.dropout(x, p: config.dropout, rng: &rng) : x
        let down = tape.linear(xin, tape.parameter(params, s.a), layout: .outIn)
        let up = tape.linear(down, tape.parameter(params, s.b), layout: .outIn)
        return tape.add(base, tape.scale(up, config.scale))
    }

    /// Folds every adapter into the base weights (W += (α/r)·Aᵀ·Bᵀ), for fast inference
    /// or export. The adapter path is then skipped until `unmerge`.
    public mutating func merge(into model: GPT) {
        precondition(!isMerged, "LoRA adapters are already merged")
        fold(into: model, sign: 1)
        isMerged = true
    }

    /// Undoes `merge` (up to float rounding).
    public mutating func unmerge(from model: GPT) {
        precondition(isMerged, "LoRA adapters are not merged")
        fold(into: model, sign: -1)
        isMerged = false
    }

    private func fold(into model: GPT, sign: Float) {
        for (layer, s) in slots {
            let W = model.params[layer + ".weight"]  // [in, out]
            let A = params.value(s.a), B = params.value(s.b)  // [r, in], [out, r]
            let r = A.shape[0], inDim = A.shape[1], outDim = B.shape[0]
            // W[in, out] += sign·scale · Aᵀ[in, r] · Bᵀ[r, out]
            BLAS.sgemm(transA: true, transB: true, M: inDim, N: outDim, K: r, alpha: sign * config.scale,
                       A: A.pointer, lda: inDim, B: B.pointer, ldb: r, beta: 1, C: W.pointer, ldc: outDim)
        }
    }
}

extension GPT {
    /// Adds LoRA adapters (initialised from `rng`) and freezes every base weight except the
    /// scalar head, which a reward or value model trains alongside its adapters.
    public mutating func attachLoRA(_ config: LoRAConfig, rng: inout RNG) throws(ModelError) {
        let lora = try LoRA(config: config, model: self.config)
        lora.initializeWeights(rng: &rng)
        params.setFrozen(true) { $0 != "score.weight" }
        self.lora = lora
    }
}
