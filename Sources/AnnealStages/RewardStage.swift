import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `reward`: a reward model from an SFT (or pretrained) GPT plus a scalar head read at each
/// answer's closing `<|end|>`, trained on preference pairs with the Bradley-Terry loss
/// −log σ(r_chosen − r_rejected − margin). Outputs `model` (with `score.weight`),
/// train_config.json and the tokenizer.
struct RewardStage: BuiltinStage {
    struct Parameters: StageParameters {
        var blockSize = 128
        var valShare = 0.1
        var margin = 0.0
        var dropout = 0.0
        var optimizer = OptimizerParameters(batchSize: 8, learningRate: 3e-4, minLR: 3e-5, warmupIters: 10, maxIters: 300,
                                            weightDecay: 0.0, evalInterval: 50)
        var epochs = 0.0

        static var parameters: [Param<Self>] {
            [
                Param("block_size", \.blockSize, bounds: .atLeast(2), summary: "tokens per prompt + answer; at most the model's context"),
                Param("val_share", \.valShare, bounds: .from(0, below: 1), summary: "share of pairs held out for val_accuracy"),
                Param("margin", \.margin, summary: "m in −log σ(r_chosen − r_rejected − m)"),
                Param("dropout", \.dropout, bounds: .from(0, below: 1)),
            ] + OptimizerParameters.lifted(\.optimizer, batch: "pairs", stepsNote: " (unless epochs is set)") + [
                Param("epochs", \.epochs, bounds: .atLeast(0), summary: "passes over the training pairs; > 0 sets the steps instead of max_iters"),
            ]
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            [ModelChecks.contextProblem(blockSize: p.blockSize, context: context)].compactMap { $0 } + p.optimizer.problems
        }
    }

    static let schema = StageSchema(
        name: "reward", version: "2", summary: "Trains a reward model (scalar head, Bradley-Terry) on preference pairs",
        inputs: ["model", "tokenizer", "prefs"], outputs: ["model"],
        params: Parameters.specs, threads: 2, headline: ["loss", "val_accuracy"],
        validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        // config
        let p = try ctx.parameters(Parameters.self)
        let (tokenizerDir, tokenizer, loaded) = try FineTuneInputs.load(ctx, blockSize: p.blockSize)
        let B = p.optimizer.batchSize, T = p.blockSize, accumulation = p.optimizer.gradientAccumulationSteps
        let seed = UInt64(bitPattern: Int64(ctx.seed))

        // data: pairs through the chat template, a held-out split
        let pairs = try PreferencePairs(ctx, tokenizer: tokenizer, valShare: p.valShare, seed: seed) {
            try RewardData.encode($0, blockSize: T, encoder: &$1)
        }
        let (train, validation, pad) = (pairs.train, pairs.validation, pairs.pad)
        let (iterations, plan) = pairs.plan(ctx, p.optimizer, epochs: p.epochs, blockSize: T)

        // model init or resume
        var rng = RNG(seed: seed)                 // the scalar head, then dropout
        var dataRNG = RNG(seed: seed, stream: 1)  // unused: pairs follow the step
        var model = try FineTuneModel.prepare(loaded, dropout: Float(p.dropout), scalarHead: true, rng: &rng)
        let resolved = TrainConfig(stage: "reward", seed: ctx.seed, params: ParameterRecord(p), model: model.config, iterations: iterations)
        let state = StageResume.state(ctx)
        var opt = try StageResume.optimizer(ctx, state, p.optimizer, plan: plan, config: resolved.canonical,
                                            model: &model, rng: &rng, dataRNG: &dataRNG)

        // the loop: eval → micro-steps → clip and step → report → checkpoint
        let tape = Tape()
        var step = opt.stepsTaken
        var validated: RewardMetrics?
        var validatedByKind: [String: Double] = [:]
        while true {
            if plan.evaluates(before: step), !validation.isEmpty {
                let m = evaluate(model, validation, batchSize: B, pad: pad, margin: Float(p.margin))
                validated = m.metrics
                validatedByKind = Self.accuracyByKind(m.won, kinds: pairs.validationKinds)
                ctx.report(step: step, total: iterations, metrics: ["val_loss": m.loss, "val_accuracy": m.metrics.accuracy])
            }
            if step == iterations { break }
            let started = DispatchTime.now().uptimeNanoseconds
            opt.zeroGrads()
            var loss = 0.0, accuracy = 0.0, tokens = 0
            for j in 0..<accumulation {
                let indices = SFTBatching.rowIndices(step: step * accumulation + j, batchSize: B, rowCount: train.count, seed: seed)
                let batch = RewardData.batch(indices.map { train[$0] }, pad: pad)
                tape.reset()
                let r = BradleyTerry.rewards(tape, model: model, batch: batch, training: true, rng: &rng)
                let l = BradleyTerry.loss(tape, chosen: r.chosen, rejected: r.rejected, margin: Float(p.margin))
                tape.backward(l, seed: 1 / Float(accumulation))
                loss += Double(tape.value(l)[0]) / Double(accumulation)
                accuracy += RewardMetrics(chosen: tape.value(r.chosen).array, rejected: tape.value(r.rejected).array).accuracy / Double(accumulation)
                tokens += batch.tokens.count
            }
            let stats = opt.step()
            step += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            ctx.report(step: step, total: iterations,
                       metrics: ["loss": loss, "accuracy": accuracy, "lr": Double(stats.learningRate),
                                 "grad_norm": Double(stats.gradientNorm), "tokens_per_s": Double(tokens) / max(seconds, 1e-9)])
            if plan.checkpoints(after: step), let state {
                try state.save(model: model, optimizer: opt, rng: rng, dataRNG: dataRNG, config: resolved.canonical)
            }
        }

        // outputs and what they prove
        try ModelOutput.write(ctx, model, config: resolved, tokenizer: tokenizerDir)
        if let m = validated {
            ctx.report(step: step, total: iterations,
                       metrics: ["val_accuracy": m.accuracy, "val_margin": m.meanMargin, "val_reward_mean": m.rewardMean,
                                 "val_reward_std": m.rewardStd].merging(validatedByKind) { a, _ in a })
        }
    }

    /// `val_accuracy.KIND` for each kind of held-out pair the data names: a reward model can be
    /// right on 93% of the pairs and still on the wrong side of every refusal.
    static func accuracyByKind(_ won: [Bool], kinds: [String?]) -> [String: Double] {
        var tally: [String: (won: Int, all: Int)] = [:]
        for (w, kind) in zip(won, kinds) {
            guard let kind, !kind.isEmpty else { continue }
            tally["val_accuracy.\(kind)", default: (0, 0)].won += w ? 1 : 0
            tally["val_accuracy.\(kind)", default: (0, 0)].all += 1
        }
        return tally.mapValues { Double($0.won) / Double($0.all) }
    }

    /// Bradley-Terry loss and reward metrics over every held-out pair, without dropout.
    static func evaluate(_ model: GPT, _ pairs: [RewardPair], batchSize: Int, pad: Int32,
                         margin: Float) -> (loss: Double, metrics: RewardMetrics, won: [Bool]) {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var chosen: [Float] = [], rejected: [Float] = []
        var loss = 0.0
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let batch = RewardData.batch(Array(pairs[start..<min(start + batchSize, pairs.count)]), pad: pad)
            tape.reset()
            let r = BradleyTerry.rewards(tape, model: model, batch: batch, training: false, rng: &unused)
            loss += Double(tape.value(BradleyTerry.loss(tape, chosen: r.chosen, rejected: r.rejected, margin: margin))[0]) * Double(batch.pairs)
            chosen += tape.value(r.chosen).array
            rejected += tape.value(r.rejected).array
        }
        return (loss / Double(pairs.count), RewardMetrics(chosen: chosen, rejected: rejected), zip(chosen, rejected).map { $0 > $1 })
    }
}
