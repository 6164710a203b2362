import AnnealModels
import AnnealPipeline
import AnnealTrain

/// The optimizer and loop parameters every training stage shares (pretrain, sft, reward,
/// dpo, ppo): AdamW, the warm-up + cosine schedule, clipping, and when to validate and
/// checkpoint. A stage embeds the group with its own defaults and lifts the rows into its
/// table, so the names (a contract of every pipeline) and the min_lr check live here once.
struct OptimizerParameters: Equatable {
    var batchSize: Int
    var gradientAccumulationSteps = 1
    var learningRate: Double
    var minLR: Double
    var warmupIters: Int
    var maxIters: Int
    var weightDecay: Double
    var beta1 = 0.9
    var beta2 = 0.95
    var gradClip = 1.0
    var evalInterval: Int
    var checkpointInterval = 100

    /// The rows; `batch` says what a micro-batch holds ("sequences", "pairs") and
    /// `stepsNote` what else may set the number of steps.
    static func parameters(batch: String, stepsNote: String) -> [Param<Self>] {
        [
            Param("batch_size", \.batchSize, bounds: .atLeast(1), summary: "\(batch) per micro-batch"),
            Param("gradient_accumulation_steps", \.gradientAccumulationSteps, bounds: .atLeast(1)),
            Param("learning_rate", \.learningRate, bounds: .greaterThan(0), summary: "peak, after warm-up"),
            Param("min_lr", \.minLR, bounds: .atLeast(0), summary: "the cosine's floor at the last step"),
            Param("warmup_iters", \.warmupIters, bounds: .atLeast(0)),
            Param("max_iters", \.maxIters, bounds: .atLeast(1), summary: "optimizer steps\(stepsNote)"),
            Param("weight_decay", \.weightDecay, bounds: .atLeast(0), summary: "AdamW, on matrices only"),
            Param("beta1", \.beta1, bounds: .from(0, below: 1)),
            Param("beta2", \.beta2, bounds: .from(0, below: 1)),
            Param("grad_clip", \.gradClip, bounds: .atLeast(0), summary: "global norm; 0 = off"),
            Param("eval_interval", \.evalInterval, bounds: .atLeast(0), summary: "steps between validations; 0 = only at the end"),
            Param("checkpoint_interval", \.checkpointInterval, bounds: .atLeast(0), summary: "steps between resume checkpoints; 0 = never"),
        ]
    }

    /// The rows for a stage that holds the group at `path`.
    static func lifted<Outer>(_ path: WritableKeyPath<Outer, Self>, batch: String, stepsNote: String = "") -> [Param<Outer>] {
        parameters(batch: batch, stepsNote: stepsNote).map { $0.lifted(path) }
    }

    /// Checks across rows (reported at the row's `with:` key by `anneal validate`).
    var problems: [ParamProblem] {
        minLR > learningRate ? [ParamProblem("min_lr", "\(minLR) is above learning_rate \(learningRate)")] : []
    }

    /// The schedule for a run of `iterations` steps of `tokensPerStep` tokens (`maxTokens`
    /// > 0 sets the length instead, as pretrain's max_tokens does).
    func plan(iterations: Int, maxTokens: Int = 0, tokensPerStep: Int) -> TrainingPlan {
        TrainingPlan(maxIters: iterations, maxTokens: maxTokens, tokensPerStep: tokensPerStep, learningRate: learningRate,
                     minLR: minLR, warmupIters: warmupIters, evalInterval: evalInterval, checkpointInterval: checkpointInterval)
    }

    /// AdamW over `model`'s trainable sets on `plan`'s schedule, clipped at grad_clip.
    func optimizer(_ model: GPT, plan: TrainingPlan) -> TrainingOptimizer {
        TrainingOptimizer(model: model, schedule: plan.schedule, weightDecay: Float(weightDecay), beta1: Float(beta1),
                          beta2: Float(beta2), clipNorm: gradClip > 0 ? Float(gradClip) : nil)
    }
}
