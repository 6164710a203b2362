import Foundation

// Elementwise arithmetic and reductions, mostly for the RL losses (PPO ratios and clipping,
// DPO log-sigmoid margins, value losses). These run on [B] or [B·T] tensors, so clarity
// wins over speed here; the closures are not in any hot path.

extension Tape {
    /// y_i = f(x_i), dx_i += dy_i · df(x_i, y_i).
    func unary(_ x: Var, _ f: (Float) -> Float,
               _ df: @escaping (_ x: Float, _ y: Float) -> Float) -> Var {
        let X = value(x)
        let out = alloc(X.shape)
        for i in 0..<X.count { out.pointer[i] = f(X.pointer[i]) }
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            for i in 0..<X.count { dx[i] += dout.pointer[i] * df(X.pointer[i], out.pointer[i]) }
        }
    }

    /// y_i = f(a_i, b_i); da_i += dy_i·∂f/∂a, db_i += dy_i·∂f/∂b.
    func binary(_ a: Var, _ b: Var, _ f: (Float, Float) -> Float,
                _ df: @escaping (_ a: Float, _ b: Float) -> (Float, Float)) -> Var {
        let A = value(a), B = value(b)
        precondition(A.count == B.count, "elementwise op on \(A.shape) and \(B.shape)")
        let out = alloc(A.shape)
        for i in 0..<A.count { out.pointer[i] = f(A.pointer[i], B.pointer[i]) }
        return record(out, inputs: [a, b]) { tape, dout in
            let da = tape.gradPointer(a), db = tape.gradPointer(b)
            for i in 0..<A.count {
                let (ga, gb) = df(A.pointer[i], B.pointer[i])
                da?[i] += dout.pointer[i] * ga
                db?[i] += dout.pointer[i] * gb
            }
        }
    }

    /// a + b (the residual connections: a plain loop, no per-element closure).
    public func add(_ a: Var, _ b: Var) -> Var {
        let A = value(a), B = value(b)
        precondition(A.count == B.count, "add: \(A.shape) and \(B.shape)")
        let out = alloc(A.shape)
        let o = out.pointer, x = A.pointer, y = B.pointer, n = A.count
        for i in 0..<n { o[i] = x[i] + y[i] }
        return record(out, inputs: [a, b]) { tape, dout in
            let d = dout.pointer
            if let da = tape.gradPointer(a) { for i in 0..<n { da[i] += d[i] } }
            if let db = tape.gradPointer(b) { for i in 0..<n { db[i] += d[i] } }
        }
    }
    public func sub(_ a: Var, _ b: Var) -> Var { binary(a, b, -) { _, _ in (1, -1) } }
    public func mul(_ a: Var, _ b: Var) -> Var { binary(a, b, *) { a, b in (b, a) } }
    public func div(_ a: Var, _ b: Var) -> Var { binary(a, b, /) { a, b in (1 / b, -a / (b * b)) } }
    /// Elementwise min; the gradient goes to the smaller input (to `a` on ties, like torch).
    public func minimum(_ a: Var, _ b: Var) -> Var {
        binary(a, b, { Swift.min($0, $1) }) { a, b in a <= b ? (1, 0) : (0, 1) }
    }
    public func maximum(_ a: Var, _ b: Var) -> Var {
        binary(a, b, { Swift.max($0, $1) }) { a, b in a >= b ? (1, 0) : (0, 1) }
    }

    public func scale(_ x: Var, _ s: Float) -> Var { unary(x, { $0 * s }) { _, _ in s } }
    public func addScalar(_ x: Var, _ s: Float) -> Var { unary(x, { $0 + s }) { _, _ in 1 } }
    public func negate(_ x: Var) -> Var { scale(x, -1) }
    public func exp(_ x: Var) -> Var { unary(x, { expf($0) }) { _, y in y } }
    public func log(_ x: Var) -> Var { unary(x, { logf($0) }) { x, _ in 1 / x } }
    public func square(_ x: Var) -> Var { unary(x, { $0 * $0 }) { x, _ in 2 * x } }
    public func tanh(_ x: Var) -> Var { unary(x, { tanhf($0) }) { _, y in 1 - y * y } }
    public func sigmoid(_ x: Var) -> Var { unary(x, stableSigmoid) { _, y in y * (1 - y) } }
    /// log σ(x) = −softplus(−x), computed without overflow for large |x|.
    public func logSigmoid(_ x: Var) -> Var {
        unary(x, { Swift.min($0, 0) - log1pf(expf(-Swift.abs($0))) }) { x, _ in stableSigmoid(-x) }
    }
    /// Clamp to [lo, hi]; zero gradient outside (torch.clamp's convention at the bounds: pass).
    public func clamp(_ x: Var, min lo: Float, max hi: Float) -> Var {
        unary(x, { Swift.min(Swift.max($0, lo), hi) }) { x, _ in (x < lo || x > hi) ? 0 : 1 }
    }

    /// Σ of all elements → scalar (summed in Double, in order).
    public func sum(_ x: Var) -> Var {
        let X = value(x)
        let out = alloc([])
        var acc: Double = 0
        for i in 0..<X.count { acc += Double(X.pointer[i]) }
        out[0] = Float(acc)
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            let g = dout[0]
            for i in 0..<X.count { dx[i] += g }
        }
    }

    /// Mean of all elements → scalar.
    public func mean(_ x: Var) -> Var { scale(sum(x), 1 / Float(Swift.max(value(x).count, 1))) }

    /// Σ over the last dimension: [N, C] → [N] (e.g. per-sequence log-probabilities).
    public func rowSum(_ x: Var) -> Var {
        let X = value(x)
        let C = X.lastDim, N = X.rows
        let out = alloc([N])
        for r in 0..<N {
            var acc: Double = 0
            for j in 0..<C { acc += Double(X.pointer[r * C + j]) }
            out[r] = Float(acc)
        }
        return record(out, inputs: [x]) { tape, dout in
            guard let dx = tape.gradPointer(x) else { return }
            for r in 0..<N { for j in 0..<C { dx[r * C + j] += dout[r] } }
        }
    }
}

@inline(__always)
func stableSigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}
