import AnnealCompute
import Foundation

/// A training-throughput configuration (the C1 and C2).
public struct BenchConfig: Sendable, Equatable {
    public var name: String
    public var model: GPTConfig
    public var batch: Int

    public init(name: String, model: GPTConfig, batch: Int) {
        self.name = name
        self.model = model
        self.batch = batch
    }

    public static let c1 = BenchConfig(name: "C1", model: GPTConfig(vocabSize: 4096, contextLength: 128, width: 256, layers: 4, heads: 4), batch: 16)
    public static let c2 = BenchConfig(name: "C2", model: GPTConfig(vocabSize: 8192, contextLength: 256, width: 512, layers: 8, heads: 8), batch: 8)

    /// "C1" or "C2" (case-insensitive).
    public static func named(_ name: String) -> BenchConfig? {
        [c1, c2].first { $0.name.lowercased() == name.lowercased() }
    }

    /// Model FLOPs per trained token: 6·(non-embedding parameters + V·C) + 12·L·T·C, i.e.
    /// forward + backward of every matrix product with the tied head counted once, plus
    /// attention scores and mixing.
    public var flopsPerToken: Double {
        let m = model
        return 6 * Double(m.nonEmbeddingParameterCount + m.vocabSize * m.width)
            + 12 * Double(m.layers * m.contextLength * m.width)
    }
}

/// What `anneal bench train` prints (`--json` encodes this with snake_case keys).
public struct BenchResult: Codable, Sendable {
    public var config: String
    public var steps: Int
    public var tokensPerStep: Int
    /// Median over the timed steps.
    public var tokensPerS: Double
    public var bestTokensPerS: Double
    public var stepSeconds: [Double]
    public var flopsPerToken: Double
    /// Model FLOP/s achieved, in units of 10⁹.
    public var gflops: Double
    /// The 2-thread (all-thread) sgemm peak, best of measurements before and after
    /// training, in units of 10⁹ FLOP/s.
    public var peakGflops: Double
    /// gflops / peakGflops.
    public var mfu: Double
    public var peakRssBytes: Int
    public var threads: Int
    public var blasCore: String
    public var finalLoss: Float

    enum CodingKeys: String, CodingKey {
        case config, steps, tokensPerStep = "tokens_per_step", tokensPerS = "tokens_per_s"
        case bestTokensPerS = "best_tokens_per_s", stepSeconds = "step_seconds"
        case flopsPerToken = "flops_per_token", gflops, peakGflops = "peak_gflops", mfu
        case peakRssBytes = "peak_rss_bytes", threads, blasCore = "blas_core", finalLoss = "final_loss"
    }
}

/// Best-of-`reps` GFLOP/s of a 2048³ sgemm with OpenBLAS's current thread count: the
/// denominator of MFU.
public func measureSgemmPeak(size n: Int = 2048, reps: Int = 5) -> Double {
    let a = Tensor(zeros: [n, n]), b = Tensor(zeros: [n, n]), c = Tensor(zeros: [n, n])
    var rng = RNG(seed: 1)
    rng.fillUniform(a.pointer, count: a.count)
    rng.fillUniform(b.pointer, count: b.count)
    var best = 0.0
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        BLAS.sgemm(transA: false, transB: false, M: n, N: n, K: n, A: a.pointer, lda: n,
                   B: b.pointer, ldb: n, beta: 0, C: c.pointer, ldc: n)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        best = max(best, 2 * Double(n * n * n) / dt / 1e9)
    }
    return best
}

/// Peak resident set size of this process (VmHWM), or 0 where /proc is unavailable.
public func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

/// Trains `config` on random tokens for `warmup` + `steps` AdamW steps (forward, backward,
/// clip, update — what a pretraining step does) and times the last `steps`. `threads`, when
/// given, sets both OpenBLAS's and Anneal's thread counts first (the peak is measured with it).
public func runTrainBench(config: BenchConfig, steps: Int, warmup: Int = 2, seed: UInt64 = 1,
                          threads: Int? = nil) -> BenchResult {
    if let threads {
        BLAS.setThreads(threads)
        ComputeThreads.count = threads
    }
    let peak = measureSgemmPeak()
    let model = try! GPT(config: config.model)  // the built-in configs are valid
    var rng = RNG(seed: seed)
    model.initializeWeights(rng: &rng)
    var opt = AdamW(for: model.params, weightDecay: 0.1)
    let B = config.batch, T = config.model.contextLength, V = config.model.vocabSize
    var data = RNG(seed: seed, stream: 1)
    let tokens = (0..<(B * T)).map { _ in Int32(data.nextInt(below: V)) }
    let targets = Array(tokens.dropFirst()) + [-100]
    let tape = Tape()
    var times: [Double] = []
    var loss: Float = 0
    for step in 0..<(warmup + steps) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        tape.reset()
        model.params.zeroGrads()
        let l = model.languageModelLoss(tape, tokens: tokens, targets: targets, batch: B, rng: &rng)
        tape.backward(l)
        clipGradientNorm(model.params, maxNorm: 1)
        opt.update(model.params, lr: 3e-4)
        loss = tape.value(l)[0]
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        if step >= warmup { times.append(dt) }
    }
    // A second measurement after training: on a shared machine one of the two often lands
    // in a busy moment, and MFU against a depressed peak would flatter the trainer.
    let peakGflops = max(peak, measureSgemmPeak())
    let sorted = times.sorted()
    let median = sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    let tokensPerS = Double(B * T) / median
    let gflops = tokensPerS * config.flopsPerToken / 1e9
    return BenchResult(config: config.name, steps: steps, tokensPerStep: B * T, tokensPerS: tokensPerS,
                       bestTokensPerS: Double(B * T) / (sorted.first ?? .nan), stepSeconds: times,
                       flopsPerToken: config.flopsPerToken, gflops: gflops, peakGflops: peakGflops,
                       mfu: gflops / peakGflops, peakRssBytes: peakResidentBytes(), threads: ComputeThreads.count,
                       blasCore: BLAS.coreName, finalLoss: loss)
}
