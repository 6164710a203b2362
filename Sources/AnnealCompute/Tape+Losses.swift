extension Tape {
    /// Mean softmax cross-entropy of `logits` [N, V] against `targets` [N].
    ///
    /// loss = Σ_i w_i·nll_i / Σ_i w_i over rows whose target is not `ignoreIndex`
    /// (w_i = 1 without `weights`, which matches torch's `cross_entropy(ignore_index:)`).
    /// A batch with no kept row gives loss 0 and zero gradients.
    public func crossEntropy(_ logits: Var, targets: [Int32], weights: [Float]? = nil,
                             ignoreIndex: Int32 = -100) -> Var {
        let L = value(logits)
        let V = L.lastDim, N = L.rows
        precondition(targets.count == N, "crossEntropy: \(targets.count) targets for \(N) rows")
        if let weights { precondition(weights.count == N, "crossEntropy: \(weights.count) weights for \(N) rows") }
        let nll = alloc([N]), lse = alloc([N])
        let (total, wsum) = targets.withUnsafeBufferPointer { t in
            weights.withOptionalBufferPointer { w in
                crossEntropyForward(nll.pointer, lse.pointer, L.pointer, t.baseAddress!, w,
                                    ignoreIndex: ignoreIndex, N: N, V: V)
            }
        }
        let out = alloc([])
        out[0] = wsum > 0 ? Float(total / wsum) : 0
        return record(out, inputs: [logits]) { tape, dout in
            guard let dL = tape.gradPointer(logits), wsum > 0 else { return }
            let scale = dout[0] / Float(wsum)
            var coef = [Float](repeating: 0, count: N)
            for r in 0..<N where targets[r] != ignoreIndex { coef[r] = scale * (weights?[r] ?? 1) }
            targets.withUnsafeBufferPointer { t in
                coef.withUnsafeBufferPointer { c in
                    softmaxMinusOneHotBackward(dL, L.pointer, lse.pointer, t.baseAddress!,
                                               c.baseAddress!, N: N, V: V)
                }
            }
        }
    }

    /// log softmax(logits_i)[tokens_i] for each row → [N]; 0 where tokens_i == ignoreIndex.
    /// The per-token log-probabilities PPO and DPO build their losses from.
    public func logProbs(_ logits: Var, tokens: [Int32], ignoreIndex: Int32 = -100) -> Var {
        let L = value(logits)
        let V = L.lastDim, N = L.rows
        precondition(tokens.count == N, "logProbs: \(tokens.count) tokens for \(N) rows")
        let out = alloc([N]), lse = alloc([N])
        tokens.withUnsafeBufferPointer { t in
            logProbGatherForward(out.pointer, lse.pointer, L.pointer, t.baseAddress!,
                                 ignoreIndex: ignoreIndex, N: N, V: V)
        }
        return record(out, inputs: [logits]) { tape, dout in
            guard let dL = tape.gradPointer(logits) else { return }
            // d logp / dx_j = [j == t] − p_j, i.e. the cross-entropy form with coef = −dout.
            var coef = [Float](repeating: 0, count: N)
            for r in 0..<N where tokens[r] != ignoreIndex { coef[r] = -dout[r] }
            tokens.withUnsafeBufferPointer { t in
                coef.withUnsafeBufferPointer { c in
                    softmaxMinusOneHotBackward(dL, L.pointer, lse.pointer, t.baseAddress!,
                                               c.baseAddress!, N: N, V: V)
                }
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalBufferPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}
