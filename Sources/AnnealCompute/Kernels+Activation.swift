import Foundation

/// sqrt(2/π), the constant of GPT-2's tanh approximation of GELU.
let geluScale: Float = 0.7978845608028654

// GELU(x) = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³). With s = σ(2u) =
// 0.5·(1 + tanh u) this is x·s, and tanh'(u) = 1 − tanh² = 4·s·(1 − s), so both passes need
// one exp per element and vectorise.

@inline(__always)
func geluSigmoid(_ x: F8) -> (s: F8, du: F8) {
    let x2 = x * x
    let u = geluScale * (x + 0.044715 * x2 * x)
    let s = 1 / (1 + exp8(-2 * u))
    return (s, geluScale * (1 + 3 * 0.044715 * x2))
}

/// out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  (GPT-2's "gelu_new").
func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, N: Int) {
    parallelRanges(N / 8 + 1, minChunk: 2048) { blocks in
        for b in blocks {
            let i = b * 8
            if i + 8 <= N {
                let x = load8(inp + i)
                store8(x * geluSigmoid(x).s, out + i)
            } else {
                for j in i..<N { let x = F8(repeating: inp[j]); out[j] = (x * geluSigmoid(x).s)[0] }
            }
        }
    }
}

/// dinp += dout · gelu'(inp), gelu' = s + x·2s(1 − s)·du.
func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                  _ dout: UnsafePointer<Float>, N: Int) {
    @inline(__always) func grad(_ x: F8) -> F8 {
        let (s, du) = geluSigmoid(x)
        return s + x * 2 * s * (1 - s) * du
    }
    parallelRanges(N / 8 + 1, minChunk: 2048) { blocks in
        for b in blocks {
            let i = b * 8
            if i + 8 <= N {
                store8(load8(dinp + i) + load8(dout + i) * grad(load8(inp + i)), dinp + i)
            } else {
                for j in i..<N { dinp[j] += dout[j] * grad(F8(repeating: inp[j]))[0] }
            }
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
