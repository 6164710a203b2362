// The coarse layer ops. Shapes: x is viewed as [N, C] (N = all leading dims); names follow
// llm.c (B batch, T time, C channels, OC output channels, NH heads).

extension Tape {
    /// y = x·W + b with W stored `layout`-wise ([C, OC] for `.inOut`, [OC, C] for `.outIn`).
    public func linear(_ x: Var, _ w: Var, _ b: Var? = nil, layout: WeightLayout = .inOut) -> Var {
        let X = value(x), W = value(w)
        let C = X.lastDim, N = X.rows
        precondition(W.rank == 2, "linear: weight must be 2-D, got \(W.shape)")
        let inDim = layout == .inOut ? W.shape[0] : W.shape[1]
        let OC = layout == .inOut ? W.shape[1] : W.shape[0]
        precondition(inDim == C, "linear: input \(X.shape) does not fit weight \(W.shape) (\(layout))")
        let Bv = b.map { value($0) }
        if let Bv { precondition(Bv.count == OC, "linear: bias \(Bv.shape) for \(OC) outputs") }
        let out = alloc(Array(X.shape.dropLast()) + [OC])
        linearForward(out.pointer, X.pointer, W.pointer, Bv?.pointer, layout, N: N, C: C, OC: OC)
        return record(out, inputs: [x, w] + (b.map { [$0] } ?? [])) { tape, dout in
            linearBackward(tape.gradPointer(x), tape.gradPointer(w), b.flatMap { tape.gradPointer($0) },
                           dout.pointer, X.pointer, W.pointer, layout, N: N, C: C, OC: OC)
        }
    }

    /// LayerNorm over the last dimension (eps 1e-5) with per-channel weight and bias.
    public func layerNorm(_ x: Var, weight: Var, bias: Var) -> Var {
        let X = value(x), W = value(weight), Bv = value(bias)
        let C = X.lastDim, N = X.rows
        precondition(W.count == C && Bv.count == C, "layerNorm: weight \(W.shape)/bias \(Bv.shape) for \(X.shape)")
        let out = alloc(X.shape), mean = alloc([N]), rstd = alloc([N])
        layerNormForward(out.pointer, mean.pointer, rstd.pointer, X.pointer, W.pointer, Bv.pointer, N: N, C: C)
        return record(out, inputs: [x, weight, bias]) { tape, dout in
            layerNormBackward(tape.gradPointer(x), tape.gradPointer(weight), tape.gradPointer(bias),
                              dout.pointer, X.pointer, W.pointer, mean.pointer, rstd.pointer, N: N, C: C)
        }
    }

    /// GELU, tanh approximation (GPT-2).
    public func gelu(_ x: Var) -> Var {
        let X = value(x)
        let out = alloc(X.shape)
        geluForward(out.pointer, X.pointer, N: X.count)
        return record(out, inputs: [x]) { tape, dout in
            if let dx = tape.gradPointer(x) { geluBackward(dx, X.pointer, dout.pointer, N: X.count) }
        }
    }

    /// Causal multi-head self-attention. qkv: [B·T, 3C] (q | k | v), returns [B·T, C].
    public func causalSelfAttention(_ qkv: Var, batch B: Int, heads NH: Int) -> Var {
        var unused = RNG(seed: 0)
        return causalSelfAttention(qkv, batch: B, heads: NH, dropout: 0, rng: &unused)
    }

    /// With inverted dropout of probability `dropout` on the attention probabilities
    /// (GPT-2's attn_pdrop), the mask drawn from `rng`.
    public func causalSelfAttention(_ qkv: Var, batch B: Int, heads NH: Int, dropout p: Float,
                                    rng: inout RNG) -> Var {
        let QKV = value(qkv)
        let C3 = QKV.lastDim, C = C3 / 3
        let T = QKV.rows / max(B, 1)
        precondition(C3 % 3 == 0 && C % NH == 0 && B * T == QKV.rows,
                     "attention: qkv \(QKV.shape) does not split into batch \(B) × T, 3 × \(NH) heads")
        precondition(p >= 0 && p < 1, "attention dropout \(p) outside [0, 1)")
        let out = alloc([B * T, C]), att = alloc([B, NH, T, T])
        var drop: (mask: Tensor, dropped: Tensor)?
        if p > 0 {
            drop = (alloc([B, NH, T, T]), alloc([B, NH, T, T]))
            dropoutMask(drop!.mask.pointer, N: drop!.mask.count, p: p, rng: &rng)
        }
        attentionForward(out.pointer, att.pointer, QKV.pointer, B: B, T: T, C: C, NH: NH,
                         dropout: drop.map { (UnsafePointer($0.mask.pointer), $0.dropped.pointer) })
        return record(out, inputs: [qkv]) { tape, dout in
            guard let dqkv = tape.gradPointer(qkv) else { return }
            tape.withScratch([B, NH, T, T]) { scratch in
                attentionBackward(dqkv, scratch, dout.pointer, QKV.pointer, att.pointer,
                                  B: B, T: T, C: C, NH: NH,
                                  dropout: drop.map { (UnsafePointer($0.mask.pointer), UnsafePointer($0.dropped.pointer)) })
            }
        }
    }

    /// Rows of `table` [V, C] picked by `indices` → [indices.count, C].
    public func embedding(_ table: Var, indices: [Int32]) -> Var {
        let E = value(table)
        precondition(E.rank == 2, "embedding: table must be 2-D, got \(E.shape)")
        let V = E.shape[0], C = E.shape[1], N = indices.count
        let out = alloc([N, C])
        indices.withUnsafeBufferPointer { idx in
            embeddingForward(out.pointer, E.pointer, idx.baseAddress!, N: N, V: V, C: C)
        }
        return record(out, inputs: [table]) { tape, dout in
            guard let dE = tape.gradPointer(table) else { return }
            indices.withUnsafeBufferPointer { idx in
                embeddingBackward(dE, dout.pointer, idx.baseAddress!, N: N, C: C)
            }
        }
    }

    /// Inverted dropout with drop probability `p`; identity when p == 0.
    public func dropout(_ x: Var, p: Float, rng: inout RNG) -> Var {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        if p == 0 { return x }
        let X = value(x)
        let mask = alloc(X.shape), out = alloc(X.shape)
        dropoutMask(mask.pointer, N: X.count, p: p, rng: &rng)
        let o = out.pointer, m = mask.pointer, xp = X.pointer
        for i in 0..<X.count { o[i] = xp[i] * m[i] }
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            let d = dout.pointer
            for i in 0..<X.count { dx[i] += d[i] * m[i] }
        }
    }

    /// Rows `indices` of x viewed as [N, C] → [indices.count, C] (e.g. the last
    /// non-padding position of each sequence, for a scalar head).
    /// A 1-D x is treated as [N, 1] and gives a 1-D result.
    public func gatherRows(_ x: Var, indices: [Int]) -> Var {
        let X = value(x)
        let C = X.rank <= 1 ? 1 : X.lastDim, N = X.count / max(C, 1)
        let out = alloc(X.rank <= 1 ? [indices.count] : [indices.count, C])
        for (k, r) in indices.enumerated() {
            precondition(r >= 0 && r < N, "gatherRows: row \(r) outside \(N) rows")
            (out.pointer + k * C).update(from: X.pointer + r * C, count: C)
        }
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            for (k, r) in indices.enumerated() {
                let src = dout.pointer + k * C, dst = dx + r * C
                for j in 0..<C { dst[j] += src[j] }
            }
        }
    }

    /// Leading rows `range` of x viewed as [N, C] (e.g. the chosen half of a preference batch).
    public func sliceRows(_ x: Var, _ range: Range<Int>) -> Var {
        gatherRows(x, indices: Array(range))
    }

    /// Same numbers, new shape (a copy, so the graph stays simple).
    public func reshape(_ x: Var, _ shape: [Int]) -> Var {
        let X = value(x)
        let out = alloc(shape)
        precondition(out.count == X.count, "reshape: \(X.shape) to \(shape)")
        out.assign(X)
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            let d = dout.pointer
            for i in 0..<X.count { dx[i] += d[i] }
        }
    }
}
