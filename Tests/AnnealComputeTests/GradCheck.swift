import AnnealCompute

/// Central finite-difference check of a tape op's backward.
///
/// The op's output is reduced to a scalar with fixed random weights (L = Σ r_i·y_i), so every
/// output element's gradient path is exercised, not just their sum. Inputs are perturbed one
/// element at a time by ±eps and the whole graph is rebuilt on a fresh tape.
/// Returns the worst error relative to the largest gradient magnitude of that input.
func gradCheck(_ inputs: [Tensor], eps: Float = 1e-3, seed: UInt64 = 7,
               _ build: (Tape, [Var]) -> Var) -> [Float] {
    func loss(_ tape: Tape, _ vars: [Var]) -> (Var, Float) {
        let y = build(tape, vars)
        let Y = tape.value(y)
        var rng = RNG(seed: seed, stream: 99)
        let r = Tensor(zeros: Y.shape)
        rng.fillNormal(r.pointer, count: r.count)
        let l = tape.sum(tape.mul(y, tape.constant(r)))
        return (l, tape.value(l)[0])
    }
    let tape = Tape()
    let vars = inputs.map { tape.variable($0) }
    let (l, _) = loss(tape, vars)
    tape.backward(l)
    var errors: [Float] = []
    for (k, x) in inputs.enumerated() {
        let analytic = tape.grad(vars[k])?.array ?? [Float](repeating: 0, count: x.count)
        var worst: Float = 0, scale: Float = 1e-3
        for i in 0..<x.count {
            let orig = x[i]
            x[i] = orig + eps
            let t1 = Tape(); let (_, lp) = loss(t1, inputs.map { t1.variable($0) })
            x[i] = orig - eps
            let t2 = Tape(); let (_, lm) = loss(t2, inputs.map { t2.variable($0) })
            x[i] = orig
            let numeric = (lp - lm) / (2 * eps)
            worst = max(worst, abs(numeric - analytic[i]))
            scale = max(scale, abs(numeric))
        }
        errors.append(worst / scale)
    }
    return errors
}

/// A tensor of N(0, std²) numbers from a fixed stream.
func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1, mean: Float = 0) -> Tensor {
    let t = Tensor(zeros: shape)
    var rng = RNG(seed: seed)
    rng.fillNormal(t.pointer, count: t.count, mean: mean, std: std)
    return t
}
