import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `dpo`: direct preference optimisation of an SFT model on preference pairs against a
/// frozen reference (the input model itself), full or LoRA like sft, with the sigmoid loss
/// (optionally label-smoothed) or IPO. Outputs `model` like sft's.
struct DPOStage: BuiltinStage {
    struct Parameters: StageParameters {
        var method = "full"
        var lora = LoRAParameters()
        var merge = true
        var beta = 0.1
        var loss = DPOLoss.Kind.sigmoid.rawValue
        var labelSmoothing = 0.0
        var ftx = 0.0
        var blockSize = 128
        var valShare = 0.1
        var dropout = 0.0
        var optimizer = OptimizerParameters(batchSize: 8, learningRate: 1e-4, minLR: 1e-5, warmupIters: 10, maxIters: 150,
                                            weightDecay: 0.0, evalInterval: 50)
        var epochs = 0.0

        static var parameters: [Param<Self>] {
            [
                Param("method", \.method, allowed: ["full", "lora"], summary: "train every weight, or LoRA adapters only"),
            ] + LoRAParameters.prefixed(\.lora) + [
                Param("merge", \.merge, summary: "LoRA: fold the adapters into the output weights (else saved beside them)"),
                Param("beta", \.beta, bounds: .greaterThan(0), summary: "β: how far from the reference the implicit reward lets the policy move"),
                Param("loss", \.loss, allowed: DPOLoss.Kind.allCases.map(\.rawValue),
                      summary: "sigmoid: −log σ(βΔ) (DPO); ipo: (Δ̄ − 1/(2β))² on per-token log-ratios"),
                Param("label_smoothing", \.labelSmoothing, bounds: .from(0, below: 0.5),
                      summary: "sigmoid: share ε of pairs assumed mislabelled (cDPO); 0 = plain DPO"),
                Param("ftx", \.ftx, bounds: .atLeast(0),
                      summary: "weight of an SFT loss on the chosen answers (per-token NLL) added to the DPO loss; 0 = plain DPO"),
                Param("block_size", \.blockSize, bounds: .atLeast(2), summary: "tokens per prompt + answer; at most the model's context"),
                Param("val_share", \.valShare, bounds: .from(0, below: 1), summary: "share of pairs held out for val_accuracy"),
                Param("dropout", \.dropout, bounds: .from(0, below: 1)),
            ] + OptimizerParameters.lifted(\.optimizer, batch: "pairs", stepsNote: " (unless epochs is set)") + [
                Param("epochs", \.epochs, bounds: .atLeast(0), summary: "passes over the training pairs; > 0 sets the steps instead of max_iters"),
            ]
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            var out = [ModelChecks.contextProblem(blockSize: p.blockSize, context: context)].compactMap { $0 } + p.optimizer.problems
            if p.labelSmoothing > 0, p.loss != DPOLoss.Kind.sigmoid.rawValue {
                out.append(ParamProblem("label_smoothing", "applies to loss: sigmoid only, not \(p.loss)", hint: "set it to 0 or use loss: sigmoid"))
            }
            return out
        }
    }

    static let schema = StageSchema(
        name: "dpo", version: "1", summary: "Aligns an SFT model to preference pairs with DPO or IPO against a frozen reference",
        inputs: ["model", "prefs", "tokenizer"], outputs: ["model"],
        params: Parameters.specs, threads: 2, headline: ["loss", "val_accuracy", "val_margin"],
        validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        // config
        let p = try ctx.parameters(Parameters.self)
        let (tokenizerDir, tokenizer, loaded) = try FineTuneInputs.load(ctx, blockSize: p.blockSize)
        let B = p.optimizer.batchSize, T = p.blockSize, accumulation = p.optimizer.gradientAccumulationSteps
        guard let kind = DPOLoss.Kind(rawValue: p.loss) else {
            throw StageFailure("loss '\(p.loss)' is not one of \(DPOLoss.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let beta = Float(p.beta), smoothing = Float(p.labelSmoothing)
        let seed = UInt64(bitPattern: Int64(ctx.seed))

        // data: pairs through the chat template with answer masks, a held-out split
        let pairs = try PreferencePairs(ctx, tokenizer: tokenizer, valShare: p.valShare, seed: seed) {
            try DPOData.encode($0, blockSize: T, encoder: &$1)
        }
        let (train, validation, pad) = (pairs.train, pairs.validation, pairs.pad)
        let (iterations, plan) = pairs.plan(ctx, p.optimizer, epochs: p.epochs, blockSize: T)

        // model init or resume; the reference is the input model, scored once up front
        var rng = RNG(seed: seed)                 // adapters, then dropout
        var dataRNG = RNG(seed: seed, stream: 1)  // unused: pairs follow the step
        var model = try FineTuneModel.prepare(loaded, dropout: Float(p.dropout), scalarHead: false, rng: &rng)
        let referenceTrain = referenceScores(model, train, batchSize: B, pad: pad, kind: kind)
        let referenceValidation = referenceScores(model, validation, batchSize: B, pad: pad, kind: kind)
        if p.method == "lora" { try model.attachLoRA(p.lora.config, rng: &rng) }
        let resolved = TrainConfig(stage: "dpo", seed: ctx.seed, params: ParameterRecord(p), model: model.config, iterations: iterations)
        let state = StageResume.state(ctx)
        var opt = try StageResume.optimizer(ctx, state, p.optimizer, plan: plan, config: resolved.canonical,
                                            model: &model, rng: &rng, dataRNG: &dataRNG)

        // the loop: eval → micro-steps → clip and step → report → checkpoint
        let tape = Tape()
        var step = opt.stepsTaken
        var validated: DPOMetrics?
        while true {
            if plan.evaluates(before: step), !validation.isEmpty {
                let m = evaluate(model, validation, reference: referenceValidation, batchSize: B, pad: pad, kind: kind,
                                 beta: beta, labelSmoothing: smoothing)
                validated = m.metrics
                try checkFinite(["val_loss": m.loss], step: step)
                ctx.report(step: step, total: iterations,
                           metrics: ["val_loss": m.loss, "val_accuracy": m.metrics.accuracy, "val_margin": m.metrics.margin])
            }
            if step == iterations { break }
            let started = DispatchTime.now().uptimeNanoseconds
            opt.zeroGrads()
            var metrics: [String: Double] = [:]
            var tokens = 0
            for j in 0..<accumulation {
                let indices = SFTBatching.rowIndices(step: step * accumulation + j, batchSize: B, rowCount: train.count, seed: seed)
                let batch = DPOData.batch(indices.map { train[$0] }, pad: pad)
                let refC = indices.map { referenceTrain.chosen[$0] }, refR = indices.map { referenceTrain.rejected[$0] }
                tape.reset()
                let ll = DPOLoss.logLikelihoods(tape, model: model, batch: batch, kind: kind, training: true, rng: &rng)
                var l = DPOLoss.loss(tape, chosen: ll.chosen, rejected: ll.rejected, referenceChosen: refC, referenceRejected: refR,
                                     beta: beta, kind: kind, labelSmoothing: smoothing)
                if p.ftx > 0 {
                    let nll = DPOLoss.chosenNLL(tape, chosen: ll.chosen, tokens: Array(batch.targetCounts.prefix(batch.pairs)), kind: kind)
                    metrics["sft_loss", default: 0] += Double(tape.value(nll)[0]) / Double(accumulation)
                    l = tape.add(l, tape.scale(nll, Float(p.ftx)))
                }
                tape.backward(l, seed: 1 / Float(accumulation))
                let m = DPOMetrics(chosen: tape.value(ll.chosen).array, rejected: tape.value(ll.rejected).array,
                                   referenceChosen: refC, referenceRejected: refR, beta: beta)
                for (k, v) in m.values.merging(["loss": Double(tape.value(l)[0])], uniquingKeysWith: { $1 }) {
                    metrics[k, default: 0] += v / Double(accumulation)
                }
                tokens += batch.tokens.count
            }
            try checkFinite(metrics, step: step + 1)
            let stats = opt.step()
            step += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            metrics["lr"] = Double(stats.learningRate)
            metrics["grad_norm"] = Double(stats.gradientNorm)
            metrics["tokens_per_s"] = Double(tokens) / max(seconds, 1e-9)
            ctx.report(step: step, total: iterations, metrics: metrics)
            if plan.checkpoints(after: step), let state {
                try state.save(model: model, optimizer: opt, rng: rng, dataRNG: dataRNG, config: resolved.canonical)
            }
        }

        // outputs and what they prove
        ModelOutput.mergeLoRA(&model, if: p.method == "lora" && p.merge)
        try ModelOutput.write(ctx, model, config: resolved, tokenizer: tokenizerDir)
        if let m = validated {
            ctx.report(step: step, total: iterations,
                       metrics: ["val_accuracy": m.accuracy, "val_margin": m.margin, "val_reward_chosen": m.rewardChosen,
                                 "val_reward_rejected": m.rewardRejected])
        }
    }

    /// The reference's log-likelihoods of every pair, chosen and rejected, in pair order.
    static func referenceScores(_ model: GPT, _ pairs: [DPOPair], batchSize: Int, pad: Int32,
                                kind: DPOLoss.Kind) -> (chosen: [Float], rejected: [Float]) {
        var chosen: [Float] = [], rejected: [Float] = []
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let batch = DPOData.batch(Array(pairs[start..<min(start + batchSize, pairs.count)]), pad: pad)
            let r = DPOLoss.referenceLogLikelihoods(model, batch: batch, kind: kind)
            chosen += r.chosen
            rejected += r.rejected
        }
        return (chosen, rejected)
    }

    /// The loss and implicit-reward metrics over every held-out pair, without dropout.
    static func evaluate(_ model: GPT, _ pairs: [DPOPair], reference: (chosen: [Float], rejected: [Float]), batchSize: Int,
                         pad: Int32, kind: DPOLoss.Kind, beta: Float, labelSmoothing: Float) -> (loss: Double, metrics: DPOMetrics) {
        let policy = referenceScores(model, pairs, batchSize: batchSize, pad: pad, kind: kind)
        let tape = Tape(recordsGradients: false)
        let l = DPOLoss.loss(tape, chosen: tape.constant(Tensor(shape: [pairs.count], values: policy.chosen)),
                             rejected: tape.constant(Tensor(shape: [pairs.count], values: policy.rejected)),
                             referenceChosen: reference.chosen, referenceRejected: reference.rejected, beta: beta, kind: kind,
                             labelSmoothing: labelSmoothing)
        return (Double(tape.value(l)[0]), DPOMetrics(chosen: policy.chosen, rejected: policy.rejected, referenceChosen: reference.chosen,
                                                     referenceRejected: reference.rejected, beta: beta))
    }

    /// NaN or Inf stops the stage, naming the step, before a checkpoint could keep it.
    static func checkFinite(_ metrics: [String: Double], step: Int) throws {
        if let bad = metrics.sorted(by: { $0.key < $1.key }).first(where: { !$0.value.isFinite }) {
            throw StageFailure("\(bad.key) is \(bad.value) at step \(step); lower learning_rate or beta, or raise grad_clip's strictness (a smaller grad_clip)")
        }
    }
}
