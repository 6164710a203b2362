import AnnealCompute
import Foundation

/// The optimizer side of a training loop for one model: AdamW over every trainable set
/// (base weights, and LoRA adapters when attached), global-norm clipping across all of
/// them, the learning-rate schedule, and resume state. Gradient accumulation: for each
/// micro-batch `tape.reset()`, the forward pass, then `tape.backward(loss, seed: 1 /
/// microBatches)` (parameter gradients add up across tapes; a tape allows one backward);
/// then `step()`.
///
///     var opt = TrainingOptimizer(model: model, schedule: LRSchedule(peak: 3e-4, warmupSteps: 100, totalSteps: 2000))
///     for step in 0..<2000 {
///         opt.zeroGrads()
///         for (x, y) in microBatches(step) {
///             tape.reset()
///             let loss = model.languageModelLoss(tape, tokens: x, targets: y, batch: B, training: true, rng: &rng)
///             tape.backward(loss, seed: 1 / Float(microBatchCount))
///         }
///         let stats = opt.step()
///     }
public struct TrainingOptimizer {
    public let sets: [ParameterSet]
    public var optimizers: [AdamW]
    public var schedule: LRSchedule
    /// nil: no clipping.
    public var clipNorm: Float?
    /// Optimizer steps taken (the schedule's position).
    public private(set) var stepsTaken = 0

    public struct StepStats: Sendable {
        public var learningRate: Float
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
    }

    public init(model: GPT, schedule: LRSchedule, weightDecay: Float = 0.1, beta1: Float = 0.9,
                beta2: Float = 0.95, eps: Float = 1e-8, clipNorm: Float? = 1.0) {
        sets = [model.params] + (model.lora.map { [$0.params] } ?? [])
        optimizers = sets.map { AdamW(for: $0, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay) }
        self.schedule = schedule
        self.clipNorm = clipNorm
    }

    public func zeroGrads() { sets.forEach { $0.zeroGrads() } }

    /// Clips, updates every set at the scheduled rate, and advances the schedule.
    public mutating func step() -> StepStats {
        let lr = schedule.rate(at: stepsTaken)
        let norm = clipNorm.map { clipGradientNorm(sets, maxNorm: $0) }
            ?? clipGradientNorm(sets, maxNorm: .infinity)
        for i in optimizers.indices { optimizers[i].update(sets[i], lr: lr) }
        stepsTaken += 1
        return StepStats(learningRate: lr, gradientNorm: norm)
    }

    /// Writes the moments of every set and `rng` to `optimizer.safetensors` in `dir`.
    public func save(to dir: URL, rng: RNG) throws(ModelError) {
        try Checkpoint.createDirectory(dir)
        try Checkpoint.saveOptimizers(Dictionary(uniqueKeysWithValues: zip(prefixes, optimizers)),
                                      state: .init(step: stepsTaken, rng: rng),
                                      to: dir.appendingPathComponent("optimizer.safetensors"))
    }

    /// Restores what `save` wrote; returns the RNG to continue with.
    public mutating func load(from dir: URL) throws(ModelError) -> RNG {
        var opts = Dictionary(uniqueKeysWithValues: zip(prefixes, optimizers))
        let state = try Checkpoint.loadOptimizers(&opts, from: dir.appendingPathComponent("optimizer.safetensors"))
        optimizers = prefixes.map { opts[$0]! }
        stepsTaken = state.step
        return state.rng
    }

    private var prefixes: [String] { sets.indices.map { $0 == 0 ? "" : "lora." } }
}
