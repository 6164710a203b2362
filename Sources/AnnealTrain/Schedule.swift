import AnnealCompute

/// When a training loop does what: its length, its learning rate, and the steps that
/// evaluate and checkpoint. Pure, so tests check the decisions without training.
public struct TrainingPlan: Sendable, Equatable {
    /// Optimizer steps in the run.
    public var iterations: Int
    public var schedule: LRSchedule
    public var evalInterval: Int
    public var checkpointInterval: Int

    /// `maxTokens` > 0 wins over `maxIters`: ⌈max_tokens / tokens per step⌉ steps. The
    /// learning rate warms up linearly over `warmupIters` steps, then follows a cosine to
    /// `minLR` at the last step (nanoGPT's `get_lr` with lr_decay_iters = the run length).
    public init(maxIters: Int, maxTokens: Int, tokensPerStep: Int, learningRate: Double, minLR: Double,
                warmupIters: Int, evalInterval: Int, checkpointInterval: Int) {
        iterations = maxTokens > 0 ? (maxTokens + tokensPerStep - 1) / max(tokensPerStep, 1) : maxIters
        schedule = LRSchedule(peak: Float(learningRate), warmupSteps: min(warmupIters, iterations), totalSteps: iterations,
                              decay: .cosine, minRatio: learningRate > 0 ? Float(minLR / learningRate) : 0)
        self.evalInterval = evalInterval
        self.checkpointInterval = checkpointInterval
    }

    public func learningRate(at step: Int) -> Float { schedule.rate(at: step) }

    /// Before step `step` (0-based): every `evalInterval` steps from the first, and once
    /// after the last (`step == iterations`). 0 means only at the end.
    public func evaluates(before step: Int) -> Bool {
        step == iterations || (evalInterval > 0 && step % evalInterval == 0)
    }

    /// After `stepsDone` steps: every `checkpointInterval` steps, never after the last
    /// (the run's output is then the checkpoint). 0 means never.
    public func checkpoints(after stepsDone: Int) -> Bool {
        checkpointInterval > 0 && stepsDone < iterations && stepsDone % checkpointInterval == 0
    }
}
