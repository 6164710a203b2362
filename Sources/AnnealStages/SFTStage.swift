import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `sft`: supervised fine-tuning of a pretrained GPT on chat data, loss on assistant tokens
/// only, full or LoRA, with optional replay of pretraining text. Outputs `model` like
/// pretrain's (config.json, model.safetensors, train_config.json, tokenizer), plus
/// adapter_config.json / adapter_model.safetensors for LoRA with `merge: false`.
struct SFTStage: BuiltinStage {
    struct Parameters: StageParameters {
        var format = SFTDataFormat.chat.rawValue
        var method = "full"
        var lora = LoRAParameters()
        var merge = true
        var packing = true
        var blockSize = 128
        var valShare = 0.05
        var replayRatio = 1.0
        var dropout = 0.0
        var optimizer = OptimizerParameters(batchSize: 8, learningRate: 3e-4, minLR: 3e-5, warmupIters: 10, maxIters: 250,
                                            weightDecay: 0.0, evalInterval: 100)
        var epochs = 0.0
        var evalIters = 20

        static var parameters: [Param<Self>] {
            [
                Param("format", \.format, allowed: SFTDataFormat.allCases.map(\.rawValue),
                      summary: "data: chat ({messages}), alpaca ({instruction, input, output}) or sharegpt ({conversations})"),
                Param("method", \.method, allowed: ["full", "lora"], summary: "train every weight, or LoRA adapters only"),
            ] + LoRAParameters.prefixed(\.lora) + [
                Param("merge", \.merge, summary: "LoRA: fold the adapters into the output weights (else saved beside them)"),
                Param("packing", \.packing, summary: "examples back to back in a row (else one per row, padded)"),
                Param("block_size", \.blockSize, bounds: .atLeast(2), summary: "tokens per row; at most the model's context"),
                Param("val_share", \.valShare, bounds: .from(0, below: 1), summary: "share of examples held out for val_loss"),
                Param("replay_ratio", \.replayRatio, bounds: .atLeast(0),
                      summary: "weight of a next-token loss on batch_size pretraining windows added each micro-step (with the replay input)"),
                Param("dropout", \.dropout, bounds: .from(0, below: 1)),
            ] + OptimizerParameters.lifted(\.optimizer, batch: "rows", stepsNote: " (unless epochs is set)") + [
                Param("epochs", \.epochs, bounds: .atLeast(0), summary: "passes over the training rows; > 0 sets the steps instead of max_iters"),
                Param("eval_iters", \.evalIters, bounds: .atLeast(1), summary: "at most this many validation batches per val loss"),
            ]
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            [ModelChecks.contextProblem(blockSize: p.blockSize, context: context)].compactMap { $0 } + p.optimizer.problems
        }
    }

    static let schema = StageSchema(
        name: "sft", version: "1", summary: "Fine-tunes a GPT on chat data (loss on assistant tokens), full or LoRA",
        inputs: ["model", "tokenizer", "data"], optionalInputs: ["eval", "truth", "replay"], outputs: ["model"],
        params: Parameters.specs, threads: 2, headline: ["loss", "val_loss", "heldout_exact_match"],
        validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        // config
        let p = try ctx.parameters(Parameters.self)
        let (tokenizerDir, tokenizer, loaded) = try FineTuneInputs.load(ctx, blockSize: p.blockSize)
        let B = p.optimizer.batchSize, T = p.blockSize, accumulation = p.optimizer.gradientAccumulationSteps
        let seed = UInt64(bitPattern: Int64(ctx.seed))

        // data: conversations → template ids with assistant masks → a held-out split → rows
        guard let format = SFTDataFormat(rawValue: p.format) else {
            throw StageFailure("format '\(p.format)' is not one of \(SFTDataFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let conversations = try format.read(DocumentInput.file(try ctx.input("data"), input: "data"))
        var encoder = BPEEncoder(tokenizer)
        let examples = try conversations.map { try SFTEncoding.encode($0, maxTokens: T + 1, encoder: &encoder) }
        let split = HeldOutSplit.indices(count: examples.count, fraction: p.valShare, seed: seed)
        let pad = Int32(bitPattern: tokenizer.id(ofSpecial: ChatTemplate.endOfText) ?? 0)
        let layout: SFTBatching.Layout = p.packing ? .packing : .padding
        let rows = SFTBatching.rows(split.train.map { examples[$0] }, blockSize: T, pad: pad, layout: layout)
        let valBatches = SFTEvaluation.batches(SFTBatching.rows(split.validation.map { examples[$0] }, blockSize: T, pad: pad, layout: layout),
                                               batchSize: B, limit: p.evalIters)
        let replay = try ReplayInput.load(ctx, tokenizerVocabulary: tokenizer.vocabSize, blockSize: T)
        let replayWeight = replay == nil ? 0 : Float(p.replayRatio)
        let iterations = FineTunePlan.iterations(maxIters: p.optimizer.maxIters, epochs: p.epochs, examples: rows.count, perStep: B * accumulation)
        let plan = p.optimizer.plan(iterations: iterations, tokensPerStep: B * T * accumulation)
        ctx.log("\(examples.count) conversations: \(split.train.count) train in \(rows.count) rows of \(T), \(split.validation.count) validation; \(iterations) steps")

        // model init or resume
        var rng = RNG(seed: seed)                 // new weights (adapters), then dropout
        var dataRNG = RNG(seed: seed, stream: 1)  // replay windows; SFT rows follow the step
        var model = try FineTuneModel.prepare(loaded, dropout: Float(p.dropout), scalarHead: false, rng: &rng)
        if p.method == "lora" { try model.attachLoRA(p.lora.config, rng: &rng) }
        let resolved = TrainConfig(stage: "sft", seed: ctx.seed, params: ParameterRecord(p), model: model.config, iterations: iterations)
        let state = StageResume.state(ctx)
        var opt = try StageResume.optimizer(ctx, state, p.optimizer, plan: plan, config: resolved.canonical,
                                            model: &model, rng: &rng, dataRNG: &dataRNG)

        // the loop: eval → micro-steps (SFT + replay) → clip and step → report → checkpoint
        let tape = Tape()
        var step = opt.stepsTaken
        var valLoss = Double.nan
        while true {
            if plan.evaluates(before: step), !valBatches.isEmpty {
                valLoss = SFTEvaluation.loss(model, batches: valBatches)
                ctx.report(step: step, total: iterations, metrics: ["val_loss": valLoss])
            }
            if step == iterations { break }
            let started = DispatchTime.now().uptimeNanoseconds
            let micro = try (0..<accumulation).map { j in
                try SFTBatching.batch(rows, SFTBatching.rowIndices(step: step * accumulation + j, batchSize: B,
                                                                   rowCount: rows.count, seed: seed)).validated()
            }
            let seeds = SFTLoss.accumulationSeeds(micro)
            opt.zeroGrads()
            var loss = 0.0, replayLoss = 0.0
            for (batch, share) in zip(micro, seeds) {
                tape.reset()
                var total = tape.scale(SFTLoss.loss(tape, model: model, batch: batch, training: true, rng: &rng), share)
                loss += Double(tape.value(total)[0])
                if let replay, replayWeight > 0 {
                    let window = Batching.sample(replay, batch: B, block: T, rng: &dataRNG)
                    let l = model.languageModelLoss(tape, tokens: window.inputs, targets: window.targets, batch: B, training: true, rng: &rng)
                    replayLoss += Double(tape.value(l)[0]) / Double(accumulation)
                    total = tape.add(total, tape.scale(l, replayWeight / Float(accumulation)))
                }
                tape.backward(total)
            }
            let stats = opt.step()
            step += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            var metrics = ["loss": loss, "lr": Double(stats.learningRate), "grad_norm": Double(stats.gradientNorm),
                           "tokens_per_s": Double(B * T * accumulation * (replayWeight > 0 ? 2 : 1)) / max(seconds, 1e-9)]
            if replayWeight > 0 { metrics["replay_loss"] = replayLoss }
            ctx.report(step: step, total: iterations, metrics: metrics)
            if plan.checkpoints(after: step), let state {
                try state.save(model: model, optimizer: opt, rng: rng, dataRNG: dataRNG, config: resolved.canonical)
            }
        }

        // outputs and what they prove
        ModelOutput.mergeLoRA(&model, if: p.method == "lora" && p.merge)
        try ModelOutput.write(ctx, model, config: resolved, tokenizer: tokenizerDir)
        var metrics: [String: Double] = [:]
        if valLoss.isFinite { metrics["val_loss"] = valLoss }
        if let exam = try examScores(ctx, model: model, tokenizer: tokenizer) { metrics.merge(exam) { $1 } }
        ctx.report(step: step, total: iterations, metrics: metrics)
    }

    /// `heldout_exact_match` and `seen_exact_match` (and per attribute, `…_capital`) when
    /// tinyworld's `eval` and `truth` are connected: greedy answers in the chat template,
    /// judged against the truth.
    static func examScores(_ ctx: StageContext, model: GPT, tokenizer: BPETokenizer) throws -> [String: Double]? {
        guard let evalDir = ctx.inputs["eval"], let truthDir = ctx.inputs["truth"] else { return nil }
        let text = try String(contentsOf: DocumentInput.file(evalDir, input: "eval"), encoding: .utf8)
        let items = try text.split(separator: "\n").map { try JSONDecoder().decode(EvalItem.self, from: Data($0.utf8)) }
        let world = try JSONDecoder().decode(World.self, from: Data(contentsOf: URL(fileURLWithPath: truthDir).appendingPathComponent("truth.json")))
        let judge = EvalJudge(world: world)
        var out: [String: Double] = [:]
        for (name, kind) in [("heldout_exact_match", "heldout"), ("seen_exact_match", "sft")] {
            guard let score = ChatExam.exactMatch(model, tokenizer: tokenizer, items: items, kind: kind, judge: judge) else { continue }
            out[name] = score.exactMatch
            for (attribute, share) in score.byAttribute { out[name + "_" + attribute] = share }
        }
        return out
    }
}
