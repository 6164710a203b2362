import AnnealCompute
import AnnealModels
import AnnealStageKit
import AnnealTrain
import Foundation

/// `lrrange`: Leslie Smith's learning-rate range test on a pretrained GPT. From the input
/// checkpoint, AdamW steps on random training windows at a rate growing exponentially from
/// `min_lr` to `max_lr`, one rate per step, until the sweep ends or the loss diverges. Output
/// `curve`: `curve.csv` (every step's rate, loss and smoothed loss), `curve.svg` (the plot)
/// and `summary.json`; metric `suggested_lr`, where the smoothed loss falls fastest.
@main
struct LRFind: Stage {
    struct Config: Decodable, Encodable {
        var minLr: Double
        var maxLr: Double
        var steps: Int
        var batchSize: Int
        var blockSize: Int
        var smoothing: Double
        var divergence: Double
        var weightDecay: Double
        var gradClip: Double
    }

    static func run(_ context: StageContext, config: Config) throws {
        // config
        try check(config)
        let test = LRRangeTest(minLR: config.minLr, maxLR: config.maxLr, steps: config.steps,
                               smoothing: config.smoothing, divergence: config.divergence)
        let B = config.batchSize, T = config.blockSize

        // model
        let model = try Checkpoint.load(from: URL(fileURLWithPath: try context.input("model")))
        guard T <= model.config.contextLength else {
            throw StageFailure("block_size \(T) exceeds the model's context length \(model.config.contextLength); lower it")
        }

        // data
        let data = try TokenData.load(directory: URL(fileURLWithPath: try context.input("shards")))
        guard data.vocabSize <= model.config.vocabSize else {
            throw StageFailure("the shards use a vocabulary of \(data.vocabSize) but the model has \(model.config.vocabSize); feed lrrange the shards of the model's tokenizer")
        }
        guard data.train.count > T else {
            throw StageFailure("the training shards hold \(data.train.count) tokens, too few for one window of block_size \(T) + 1; lower block_size")
        }

        // the sweep: sample → forward → backward → clip → step at the step's rate → record
        var adam = AdamW(for: model.params, beta1: 0.9, beta2: 0.95, weightDecay: Float(config.weightDecay))
        let seed = UInt64(bitPattern: Int64(context.seed))
        var dataRNG = RNG(seed: seed), dropoutRNG = RNG(seed: seed, stream: 1)
        var curve = LRRangeTest.Curve(test)
        let tape = Tape()
        while !curve.isFinished {
            let step = curve.points.count
            let lr = test.learningRate(at: step)
            let batch = Batching.sample(data.train, batch: B, block: T, rng: &dataRNG)
            model.params.zeroGrads()
            tape.reset()
            let loss = model.languageModelLoss(tape, tokens: batch.inputs, targets: batch.targets, batch: B,
                                               training: true, rng: &dropoutRNG)
            tape.backward(loss)
            _ = clipGradientNorm(model.params, maxNorm: config.gradClip > 0 ? Float(config.gradClip) : .infinity)
            adam.update(model.params, lr: Float(lr))
            curve.record(learningRate: lr, loss: Double(tape.value(loss)[0]))
            let point = curve.points[step]
            context.report(step: step + 1, total: test.steps,
                           metrics: ["lr": lr, "loss": point.loss, "smoothed_loss": point.smoothedLoss])
        }

        // outputs
        let out = URL(fileURLWithPath: try context.output("curve"))
        let suggested = curve.suggestedLR
        try CurveFiles.csv(curve).write(to: out.appendingPathComponent("curve.csv"), atomically: true, encoding: .utf8)
        try CurveFiles.svg(curve, suggested: suggested).write(to: out.appendingPathComponent("curve.svg"), atomically: true, encoding: .utf8)
        try CurveFiles.summary(curve, suggested: suggested, config: config).write(to: out.appendingPathComponent("summary.json"))
        var metrics = ["steps_run": Double(curve.points.count), "diverged": curve.hasDiverged ? 1 : 0]
        if let lowest = curve.minimum {
            metrics["min_loss_lr"] = lowest.learningRate
            metrics["min_smoothed_loss"] = lowest.smoothedLoss
        }
        if let suggested { metrics["suggested_lr"] = suggested } else {
            context.log("no suggested_lr: the loss did not fall before its minimum; lower min_lr")
        }
        context.report(step: curve.points.count, total: test.steps, metrics: metrics)
    }

    static func check(_ c: Config) throws {
        var problems: [String] = []
        if !(c.minLr > 0 && c.maxLr > c.minLr) { problems.append("min_lr \(c.minLr) and max_lr \(c.maxLr) must satisfy 0 < min_lr < max_lr") }
        if c.steps < 2 { problems.append("steps \(c.steps) must be at least 2") }
        if c.batchSize < 1 || c.blockSize < 1 { problems.append("batch_size and block_size must be at least 1") }
        if !(0..<1).contains(c.smoothing) { problems.append("smoothing \(c.smoothing) must be at least 0 and below 1") }
        if !(c.divergence > 1) { problems.append("divergence \(c.divergence) must be above 1") }
        if c.weightDecay < 0 || c.gradClip < 0 { problems.append("weight_decay and grad_clip must not be negative") }
        if !problems.isEmpty { throw StageFailure(problems.joined(separator: "; ")) }
    }
}
