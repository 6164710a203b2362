import Foundation

/// lse[r] = log Σ_j exp(x[r, j]) for each of N rows of length V (max-shifted).
func logSumExpRows(_ lse: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, N: Int, V: Int) {
    parallelRanges(N, minChunk: 4) { rows in
        for r in rows {
            let row = x + r * V
            let m = rowMax(row, V)
            lse[r] = m + logf(rowSumExp(row, V, shift: m))
        }
    }
}

/// Softmax cross-entropy forward. nll[r] = lse[r] - x[r, target[r]], or 0 where
/// target == ignoreIndex. Returns (Σ w·nll, Σ w) over kept rows, summed in row order in
/// Double so the loss does not depend on threading.
func crossEntropyForward(_ nll: UnsafeMutablePointer<Float>, _ lse: UnsafeMutablePointer<Float>,
                         _ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Int32>,
                         _ weights: UnsafePointer<Float>?, ignoreIndex: Int32,
                         N: Int, V: Int) -> (weightedSum: Double, weightSum: Double) {
    logSumExpRows(lse, logits, N: N, V: V)
    var total: Double = 0, wsum: Double = 0
    for r in 0..<N {
        let t = targets[r]
        if t == ignoreIndex { nll[r] = 0; continue }
        precondition(t >= 0 && Int(t) < V, "target \(t) at row \(r) outside vocabulary of \(V)")
        nll[r] = lse[r] - logits[r * V + Int(t)]
        let w = Double(weights?[r] ?? 1)
        total += w * Double(nll[r])
        wsum += w
    }
    return (total, wsum)
}

/// dlogits[r, j] += coef[r] · (softmax(x_r)_j - [j == target[r]]), for rows with coef ≠ 0.
/// Shared by cross-entropy (coef = dloss·w/Σw) and log-prob gather (coef = -dlogp).
func softmaxMinusOneHotBackward(_ dlogits: UnsafeMutablePointer<Float>, _ logits: UnsafePointer<Float>,
                                _ lse: UnsafePointer<Float>, _ targets: UnsafePointer<Int32>,
                                _ coef: UnsafePointer<Float>, N: Int, V: Int) {
    parallelRanges(N, minChunk: 4) { rows in
        for r in rows {
            let c = coef[r]
            if c == 0 { continue }
            let x = logits + r * V, dx = dlogits + r * V, l = lse[r]
            rowAddScaledExp(dx, x, V, shift: l, scale: c)
            dx[Int(targets[r])] -= c
        }
    }
}

/// out[r] = log softmax(x_r)[target[r]]  (0 where target == ignoreIndex).
func logProbGatherForward(_ out: UnsafeMutablePointer<Float>, _ lse: UnsafeMutablePointer<Float>,
                          _ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Int32>,
                          ignoreIndex: Int32, N: Int, V: Int) {
    logSumExpRows(lse, logits, N: N, V: V)
    for r in 0..<N {
        let t = targets[r]
        if t == ignoreIndex { out[r] = 0; continue }
        precondition(t >= 0 && Int(t) < V, "token \(t) at row \(r) outside vocabulary of \(V)")
        out[r] = logits[r * V + Int(t)] - lse[r]
    }
}

/// In-place softmax of each of N rows of length V (used by sampling, not by the tape).
public func softmaxRowsInPlace(_ x: UnsafeMutablePointer<Float>, N: Int, V: Int) {
    for r in 0..<N {
        let row = x + r * V
        var m = -Float.infinity
        for j in 0..<V { m = max(m, row[j]) }
        var s: Float = 0
        for j in 0..<V { let e = expf(row[j] - m); row[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<V { row[j] *= inv }
    }
}
