import CBLAS

/// Thin wrapper over OpenBLAS: row-major sgemm, thread control, core name.
public enum BLAS {
    /// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major. `transA` means A is stored
    /// [K,M] (and read transposed); `transB` means B is stored [N,K]. Transposes are how we
    /// avoid ever materialising W^T or X^T.
    @inline(__always)
    public static func sgemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int,
                             alpha: Float = 1, A: UnsafePointer<Float>, lda: Int,
                             B: UnsafePointer<Float>, ldb: Int,
                             beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int) {
        if M == 0 || N == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb),
                    beta, C, Int32(ldc))
    }

    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel OpenBLAS picked at run time (e.g. "Cooperlake"), for the compute fingerprint.
    public static var coreName: String { String(cString: openblas_get_corename()) }
}

/// The straightforward triple loop, kept as the reference the BLAS path is tested against.
public func naiveMatmul(transA: Bool, transB: Bool, M: Int, N: Int, K: Int,
                        A: [Float], B: [Float]) -> [Float] {
    var C = [Float](repeating: 0, count: M * N)
    for i in 0..<M {
        for j in 0..<N {
            var acc: Double = 0
            for k in 0..<K {
                let a = transA ? A[k * M + i] : A[i * K + k]
                let b = transB ? B[j * K + k] : B[k * N + j]
                acc += Double(a) * Double(b)
            }
            C[i * N + j] = Float(acc)
        }
    }
    return C
}

/// Storage order of a linear layer's weight.
public enum WeightLayout: String, Sendable, Codable {
    /// [in, out] — Hugging Face GPT-2 `Conv1D` (c_attn, c_proj, c_fc): y = x·W.
    case inOut
    /// [out, in] — torch `nn.Linear`, the tied head (wte) and LoRA A/B: y = x·Wᵀ.
    case outIn
}

// MARK: linear

/// out[N,OC] = inp[N,C] · W + bias
func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                   _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                   _ layout: WeightLayout, N: Int, C: Int, OC: Int) {
    var beta: Float = 0
    if let bias {
        for r in 0..<N { (out + r * OC).update(from: bias, count: OC) }
        beta = 1
    }
    switch layout {
    case .inOut:
        BLAS.sgemm(transA: false, transB: false, M: N, N: OC, K: C, A: inp, lda: C,
                   B: weight, ldb: OC, beta: beta, C: out, ldc: OC)
    case .outIn:
        BLAS.sgemm(transA: false, transB: true, M: N, N: OC, K: C, A: inp, lda: C,
                   B: weight, ldb: C, beta: beta, C: out, ldc: OC)
    }
}

/// Accumulates dinp[N,C] += dout·Wᵀ, dweight += inpᵀ·dout (layout-wise), dbias += Σ_rows dout.
/// Any of the three outputs may be nil (frozen parameter, or input needing no gradient).
func linearBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                    _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>,
                    _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                    _ layout: WeightLayout, N: Int, C: Int, OC: Int) {
    if let dinp {
        switch layout {
        case .inOut:  // W[C,OC]: dinp = dout[N,OC] · W^T
            BLAS.sgemm(transA: false, transB: true, M: N, N: C, K: OC, A: dout, lda: OC,
                       B: weight, ldb: OC, beta: 1, C: dinp, ldc: C)
        case .outIn:  // W[OC,C]: dinp = dout · W
            BLAS.sgemm(transA: false, transB: false, M: N, N: C, K: OC, A: dout, lda: OC,
                       B: weight, ldb: C, beta: 1, C: dinp, ldc: C)
        }
    }
    if let dweight {
        switch layout {
        case .inOut:  // dW[C,OC] += inp^T · dout
            BLAS.sgemm(transA: true, transB: false, M: C, N: OC, K: N, A: inp, lda: C,
                       B: dout, ldb: OC, beta: 1, C: dweight, ldc: OC)
        case .outIn:  // dW[OC,C] += dout^T · inp
            BLAS.sgemm(transA: true, transB: false, M: OC, N: C, K: N, A: dout, lda: OC,
                       B: inp, ldb: C, beta: 1, C: dweight, ldc: C)
        }
    }
    if let dbias { columnSumAccumulate(dbias, dout, rows: N, cols: OC) }
}

/// acc[cols] += Σ_r x[r, cols], rows summed in order; columns split across threads.
func columnSumAccumulate(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                         rows: Int, cols: Int) {
    parallelRanges(cols, minChunk: 256) { range in
        for r in 0..<rows {
            let row = x + r * cols
            for j in range { acc[j] += row[j] }
        }
    }
}
