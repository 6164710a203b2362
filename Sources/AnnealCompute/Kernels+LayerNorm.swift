import Foundation

/// The epsilon GPT-2 and torch.nn.LayerNorm use.
public let layerNormEpsilon: Float = 1e-5

/// out[N,C] = (inp - mean) · rstd · weight + bias, per row; saves mean[N] and rstd[N].
func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                      _ rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                      _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                      N: Int, C: Int) {
    parallelRanges(N, minChunk: 16) { rows in
        for r in rows {
            let x = inp + r * C
            var sum: Float = 0
            for i in 0..<C { sum += x[i] }
            let m = sum / Float(C)
            var v: Float = 0
            for i in 0..<C { let d = x[i] - m; v += d * d }
            let s = 1 / (v / Float(C) + layerNormEpsilon).squareRoot()
            let o = out + r * C
            for i in 0..<C { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
            mean[r] = m
            rstd[r] = s
        }
    }
}

/// Accumulates dinp, dweight, dbias (each optional) from dout.
/// dx = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)), dnorm = weight · dout.
func layerNormBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                       _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>,
                       _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                       _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, N: Int, C: Int) {
    if let dinp {
        parallelRanges(N, minChunk: 16) { rows in
            for r in rows {
                let x = inp + r * C, dy = dout + r * C, dx = dinp + r * C
                let m = mean[r], s = rstd[r]
                var dnormMean: Float = 0, dnormNormMean: Float = 0
                for i in 0..<C {
                    let norm = (x[i] - m) * s
                    let dnorm = weight[i] * dy[i]
                    dnormMean += dnorm
                    dnormNormMean += dnorm * norm
                }
                dnormMean /= Float(C)
                dnormNormMean /= Float(C)
                for i in 0..<C {
                    let norm = (x[i] - m) * s
                    let dnorm = weight[i] * dy[i]
                    dx[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
                }
            }
        }
    }
    if dweight != nil || dbias != nil {
        // Parameter gradients sum over rows: split by column so every column is summed by
        // one thread in row order (deterministic for any thread count).
        parallelRanges(C, minChunk: 64) { cols in
            for r in 0..<N {
                let x = inp + r * C, dy = dout + r * C
                let m = mean[r], s = rstd[r]
                if let dweight { for i in cols { dweight[i] += (x[i] - m) * s * dy[i] } }
                if let dbias { for i in cols { dbias[i] += dy[i] } }
            }
        }
    }
}
