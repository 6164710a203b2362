import Foundation

// Causal multi-head self-attention over a packed qkv [B, T, 3C] (q | k | v along the last
// axis, head h owning columns h·hs ..< (h+1)·hs of each, as GPT-2's c_attn produces).
// Every product is one sgemm per (batch, head) that reads q, k, v in place through the
// leading dimension 3C, so nothing is transposed or copied. The masked upper triangle is
// computed and then zeroed: half the QKᵀ flops are wasted, but one large sgemm is still far
// faster than T small ones.

/// out [B,T,C], att [B,NH,T,T] (softmax probabilities, saved for backward). With
/// attention dropout, `dropout` = (mask, dropped): dropped = att ⊙ mask is what mixes V.
func attentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                      _ qkv: UnsafePointer<Float>, B: Int, T: Int, C: Int, NH: Int,
                      dropout: (mask: UnsafePointer<Float>, dropped: UnsafeMutablePointer<Float>)? = nil) {
    let hs = C / NH, C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    for b in 0..<B {
        for h in 0..<NH {
            let q = qkv + b * T * C3 + h * hs
            let k = q + C
            let s = att + (b * NH + h) * T * T
            BLAS.sgemm(transA: false, transB: true, M: T, N: T, K: hs, alpha: scale,
                       A: q, lda: C3, B: k, ldb: C3, beta: 0, C: s, ldc: T)
        }
    }
    causalSoftmaxRows(att, rows: B * NH * T, T: T)
    var probs = att
    if let (mask, dropped) = dropout {
        let n = B * NH * T * T
        parallelRanges(n, minChunk: 1 << 16) { r in for i in r { dropped[i] = att[i] * mask[i] } }
        probs = dropped
    }
    for b in 0..<B {
        for h in 0..<NH {
            let v = qkv + b * T * C3 + h * hs + 2 * C
            let p = probs + (b * NH + h) * T * T
            BLAS.sgemm(transA: false, transB: false, M: T, N: hs, K: T,
                       A: p, lda: T, B: v, ldb: C3, beta: 0, C: out + b * T * C + h * hs, ldc: C)
        }
    }
}

/// Row r of each T×T block attends to columns 0...(r mod T); the rest become 0.
func causalSoftmaxRows(_ att: UnsafeMutablePointer<Float>, rows: Int, T: Int) {
    parallelRanges(rows, minChunk: 64) { range in
        for r in range {
            let t = r % T
            let row = att + r * T
            let m = rowMax(row, t + 1)
            let inv = 1 / rowSumExp(row, t + 1, shift: m, store: row)
            for j in 0...t { row[j] *= inv }
            for j in (t + 1)..<T { row[j] = 0 }
        }
    }
}

/// Accumulates dqkv [B,T,3C] from dout [B,T,C]. `scratch` holds B·NH·T·T floats.
func attentionBackward(_ dqkv: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
                       _ dout: UnsafePointer<Float>, _ qkv: UnsafePointer<Float>,
                       _ att: UnsafePointer<Float>, B: Int, T: Int, C: Int, NH: Int,
                       dropout: (mask: UnsafePointer<Float>, dropped: UnsafePointer<Float>)? = nil) {
    let hs = C / NH, C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    // dP = dO·Vᵀ and dV += Pᵀ·dO, per head.
    for b in 0..<B {
        for h in 0..<NH {
            let off = b * T * C3 + h * hs
            let dO = dout + b * T * C + h * hs
            let p = (dropout?.dropped ?? att) + (b * NH + h) * T * T
            let dp = scratch + (b * NH + h) * T * T
            BLAS.sgemm(transA: false, transB: true, M: T, N: T, K: hs, A: dO, lda: C,
                       B: qkv + off + 2 * C, ldb: C3, beta: 0, C: dp, ldc: T)
            BLAS.sgemm(transA: true, transB: false, M: T, N: hs, K: T, A: p, lda: T,
                       B: dO, ldb: C, beta: 1, C: dqkv + off + 2 * C, ldc: C3)
        }
    }
    // dS = P ⊙ (dP − Σ_j P·dP), in place in scratch; masked entries have P = 0. With
    // dropout, dP first goes back through the mask (d dropped / d P = mask).
    let mask = dropout?.mask
    parallelRanges(B * NH * T, minChunk: 64) { range in
        for r in range {
            let t = r % T
            let p = att + r * T, d = scratch + r * T
            if let mask { for j in 0...t { d[j] *= mask[r * T + j] } }
            var dot: Float = 0
            for j in 0...t { dot += p[j] * d[j] }
            for j in 0...t { d[j] = p[j] * (d[j] - dot) }
            for j in (t + 1)..<T { d[j] = 0 }
        }
    }
    // dQ += scale·dS·K, dK += scale·dSᵀ·Q.
    for b in 0..<B {
        for h in 0..<NH {
            let off = b * T * C3 + h * hs
            let ds = scratch + (b * NH + h) * T * T
            BLAS.sgemm(transA: false, transB: false, M: T, N: hs, K: T, alpha: scale,
                       A: ds, lda: T, B: qkv + off + C, ldb: C3, beta: 1, C: dqkv + off, ldc: C3)
            BLAS.sgemm(transA: true, transB: false, M: T, N: hs, K: T, alpha: scale,
                       A: ds, lda: T, B: qkv + off, ldb: C3, beta: 1, C: dqkv + off + C, ldc: C3)
        }
    }
}
