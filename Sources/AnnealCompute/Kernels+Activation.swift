import Foundation

/// sqrt(2/π), the constant of GPT-2's tanh approximation of GELU.
let geluScale: Float = 0.7978845608028654

/// out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  (GPT-2's "gelu_new").
func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, N: Int) {
    parallelRanges(N, minChunk: 4096) { range in
        for i in range {
            let x = inp[i]
            let u = geluScale * (x + 0.044715 * x * x * x)
            out[i] = 0.5 * x * (1 + tanhf(u))
        }
    }
}

/// dinp += dout · gelu'(inp)
func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                  _ dout: UnsafePointer<Float>, N: Int) {
    parallelRanges(N, minChunk: 4096) { range in
        for i in range {
            let x = inp[i]
            let u = geluScale * (x + 0.044715 * x * x * x)
            let t = tanhf(u)
            let du = geluScale * (1 + 3 * 0.044715 * x * x)
            let g = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
            dinp[i] += dout[i] * g
        }
    }
}

/// Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p); out = inp · mask.
/// Element i draws from the RNG counter block (start + i/4), so the mask does not depend on
/// how the work is split.
func dropoutMask(_ mask: UnsafeMutablePointer<Float>, N: Int, p: Float, rng: inout RNG) {
    let keep = 1 / (1 - p)
    rng.fillUniform(mask, count: N)
    for i in 0..<N { mask[i] = mask[i] < p ? 0 : keep }
}
