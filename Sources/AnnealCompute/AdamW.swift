import Foundation

/// AdamW (Loshchilov & Hutter) with decoupled weight decay, in the exact operation order of
/// `torch.optim.AdamW` so 10-step loss curves match PyTorch to float rounding:
///   p ← p·(1 − lr·wd)                     (only entries with `decays`)
///   m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²
///   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
/// The moments share the `ParameterSet` layout (one loop per entry); frozen entries are
/// skipped entirely.
public struct AdamW {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (t of the bias correction).
    public private(set) var step: Int = 0
    public let m: Tensor
    public let v: Tensor

    public init(for params: ParameterSet, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.m = Tensor(zeros: [params.count])
        self.v = Tensor(zeros: [params.count])
    }

    /// One update of every trainable entry from `params.grads` at learning rate `lr`.
    public mutating func update(_ params: ParameterSet, lr: Float) {
        precondition(m.count == params.count, "AdamW state has \(m.count) slots, parameters \(params.count)")
        step += 1
        let bc1 = 1 - Foundation.pow(Double(beta1), Double(step))
        let bc2 = 1 - Foundation.pow(Double(beta2), Double(step))
        let stepSize = Float(Double(lr) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1 = beta1, b2 = beta2, eps = self.eps
        let p = params.values.pointer, g = params.grads.pointer
        let mp = m.pointer, vp = v.pointer
        for e in params.entries where !e.isFrozen {
            let decay: Float = e.decays ? 1 - lr * weightDecay : 1
            let base = e.offset, n = e.count
            // 8 lanes at a time; SIMD arithmetic is elementwise IEEE, so the tail's scalar
            // code gives the very same numbers.
            parallelRanges((n + 7) / 8, minChunk: 2048) { blocks in
                for blk in blocks {
                    let i = base + blk * 8
                    if blk * 8 + 8 <= n {
                        let grad = load8(g + i)
                        let w = load8(p + i) * decay
                        let m1 = load8(mp + i) + (1 - b1) * (grad - load8(mp + i))
                        let v1 = b2 * load8(vp + i) + (1 - b2) * grad * grad
                        let denom = v1.squareRoot() / bc2Sqrt + eps
                        store8(m1, mp + i)
                        store8(v1, vp + i)
                        store8(w - stepSize * (m1 / denom), p + i)
                    } else {
                        for j in i..<(base + n) {
                            let grad = g[j]
                            p[j] *= decay
                            mp[j] += (1 - b1) * (grad - mp[j])
                            vp[j] = b2 * vp[j] + (1 - b2) * grad * grad
                            let denom = vp[j].squareRoot() / bc2Sqrt + eps
                            p[j] -= stepSize * (mp[j] / denom)
                        }
                    }
                }
            }
        }
    }

    /// Restores the step counter (moments are restored by assigning into `m` and `v`).
    public mutating func restore(step: Int) { self.step = step }
}
