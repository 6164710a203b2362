import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `pretrain`: next-token training of a GPT on the token shards, nanoGPT's train.py in
/// shape and names. Outputs `model`: config.json + model.safetensors (Checkpoint), the full
/// resolved training config (train_config.json) and a copy of the tokenizer.
struct PretrainStage: BuiltinStage {
    struct Parameters: StageParameters {
        var nLayer = 4
        var nHead = 4
        var nEmbd = 192
        var blockSize = 128
        var dropout = 0.0
        var optimizer = OptimizerParameters(batchSize: 8, learningRate: 3e-3, minLR: 3e-4, warmupIters: 20, maxIters: 800,
                                            weightDecay: 0.1, evalInterval: 200)
        var maxTokens = 0
        var evalIters = 20

        static var parameters: [Param<Self>] {
            [
                Param("n_layer", \.nLayer, bounds: .atLeast(1), summary: "transformer blocks"),
                Param("n_head", \.nHead, bounds: .atLeast(1), summary: "attention heads; n_embd must divide by it"),
                Param("n_embd", \.nEmbd, bounds: .atLeast(1), summary: "width"),
                Param("block_size", \.blockSize, bounds: .atLeast(1), summary: "context length in tokens"),
                Param("dropout", \.dropout, bounds: .from(0, below: 1)),
            ] + OptimizerParameters.lifted(\.optimizer, batch: "sequences", stepsNote: " (unless max_tokens is set)") + [
                Param("max_tokens", \.maxTokens, bounds: .atLeast(0), summary: "training tokens; > 0 sets the steps instead of max_iters"),
                Param("eval_iters", \.evalIters, bounds: .atLeast(1), summary: "validation batches per val loss"),
            ]
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            var out: [ParamProblem] = []
            if p.nHead > 0, p.nEmbd % p.nHead != 0 {
                out.append(ParamProblem("n_embd", "\(p.nEmbd) is not divisible by n_head \(p.nHead)",
                                        hint: "use a multiple of \(p.nHead), such as \(max(1, p.nEmbd / p.nHead) * p.nHead)"))
            }
            return out + p.optimizer.problems
        }
    }

    static let schema = StageSchema(
        name: "pretrain", version: "1", summary: "Trains a GPT on token shards (next-token prediction)",
        inputs: ["shards", "tokenizer"], optionalInputs: ["eval", "truth"], outputs: ["model"],
        params: Parameters.specs, threads: 2, headline: ["loss", "val_loss", "tokens_per_s"],
        validate: Parameters.validator, dataParallel: true)

    static func run(_ ctx: StageContext) throws {
        // config
        let p = try ctx.parameters(Parameters.self)
        let tokenizerDir = URL(fileURLWithPath: try ctx.input("tokenizer"))
        let tokenizer = try BPETokenizer.load(contentsOf: tokenizerDir)
        let B = p.optimizer.batchSize, T = p.blockSize, accumulation = p.optimizer.gradientAccumulationSteps
        let config = GPTConfig(vocabSize: tokenizer.vocabSize, contextLength: T, width: p.nEmbd, layers: p.nLayer,
                               heads: p.nHead, dropout: Float(p.dropout))
        let plan = p.optimizer.plan(iterations: p.optimizer.maxIters, maxTokens: p.maxTokens, tokensPerStep: B * T * accumulation)
        let resolved = TrainConfig(stage: "pretrain", seed: ctx.seed, params: ParameterRecord(p), model: config, iterations: plan.iterations)
        // tasks: N > 1 — each task computes its share of every batch; MPI sums the gradients.
        // MPI ends in the runtime (`StageCatalogue.execute`): finished once run returns, aborted
        // for every task if it throws — a task failing alone must not wait in MPI_Finalize while
        // the others wait in their next all-reduce.
        let dp = try DataParallel.join(tasks: ctx.tasks)
        if let problem = dp.problem(batch: B, name: "batch_size") { throw StageFailure(problem) }
        if dp.tasks > 1, p.dropout > 0 {
            throw StageFailure("dropout \(p.dropout) with \(dp.tasks) tasks: each task would draw its own masks, so the run would not follow the one-task curve; use dropout: 0 or tasks: 1")
        }
        if dp.tasks > 1 { ctx.log("data-parallel: \(dp.tasks) tasks share each batch of \(B) sequences") }

        // data
        let data = try TokenData.load(directory: URL(fileURLWithPath: try ctx.input("shards")))
        try check(data, tokenizer: tokenizer, blockSize: T)
        let valBatches = Batching.evenlySpaced(data.validation, count: p.evalIters * B, block: T)
            .chunked(B).map { Batching.window(data.validation, offsets: $0, block: T) }

        // model init or resume
        let seed = UInt64(bitPattern: Int64(ctx.seed))
        var rng = RNG(seed: seed)                 // weights, then dropout
        var dataRNG = RNG(seed: seed, stream: 1)  // batch offsets: the data position
        var model = try GPT(config: config)
        model.initializeWeights(rng: &rng)
        let state = StageResume.state(ctx)
        var opt = try StageResume.optimizer(ctx, state, p.optimizer, plan: plan, config: resolved.canonical,
                                            model: &model, rng: &rng, dataRNG: &dataRNG)

        // the loop: eval → micro-steps → clip and step → report → checkpoint
        let tape = Tape()
        var step = opt.stepsTaken
        var valLoss = Double.nan
        while true {
            if plan.evaluates(before: step), !valBatches.isEmpty {
                valLoss = try Evaluation.loss(model, batches: valBatches, tasks: dp)
                ctx.report(step: step, total: plan.iterations, metrics: ["val_loss": valLoss, "val_perplexity": exp(valLoss)])
            }
            if step == plan.iterations { break }
            let started = DispatchTime.now().uptimeNanoseconds
            opt.zeroGrads()
            var loss = 0.0
            for _ in 0..<accumulation {
                let (batch, share) = dp.share(of: Batching.sample(data.train, batch: B, block: T, rng: &dataRNG), block: T)
                tape.reset()
                let l = model.languageModelLoss(tape, tokens: batch.inputs, targets: batch.targets, batch: batch.rows, training: true, rng: &rng)
                tape.backward(l, seed: share / Float(accumulation))
                loss += Double(tape.value(l)[0]) * Double(share) / Double(accumulation)
            }
            try dp.sumGradients(opt.sets)
            loss = try dp.sum(loss)
            let stats = opt.step()
            step += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            ctx.report(step: step, total: plan.iterations,
                       metrics: ["loss": loss, "lr": Double(stats.learningRate), "grad_norm": Double(stats.gradientNorm),
                                 "tokens_per_s": Double(B * T * accumulation) / max(seconds, 1e-9)])
            if plan.checkpoints(after: step), dp.isLeader, let state {
                try state.save(model: model, optimizer: opt, rng: rng, dataRNG: dataRNG, config: resolved.canonical)
            }
        }

        // outputs and what they prove (every task holds the same weights; the leader writes)
        guard dp.isLeader else { return }
        try ModelOutput.write(ctx, model, config: resolved, tokenizer: tokenizerDir)
        var metrics = ["unigram_entropy": Evaluation.unigramEntropy(data.train)]
        if valLoss.isFinite { metrics["val_loss"] = valLoss }
        if let cloze = try clozeScore(ctx, model: model, tokenizer: tokenizer) {
            metrics["cloze_exact_match"] = cloze.exactMatch
            for (attribute, share) in cloze.byAttribute { metrics["cloze_exact_match_" + attribute] = share }
        }
        ctx.report(step: step, total: plan.iterations, metrics: metrics)
    }

    static func check(_ data: TokenData, tokenizer: BPETokenizer, blockSize T: Int) throws {
        if data.vocabSize > tokenizer.vocabSize {
            throw StageFailure("the shards use a vocabulary of \(data.vocabSize) but the tokenizer has \(tokenizer.vocabSize); feed pretrain the shards and tokenizer of the same tokenize stage")
        }
        if data.train.count <= T {
            throw StageFailure("the training shards hold \(data.train.count) tokens, too few for one window of block_size \(T) + 1; lower block_size or add data")
        }
        if data.validation.count <= T {
            throw StageFailure("the validation shard holds \(data.validation.count) tokens, fewer than block_size \(T) + 1; raise tokenize's validation_share or lower block_size")
        }
    }

    /// `cloze_exact_match` (and per attribute) when tinyworld's `eval` and `truth` are connected.
    static func clozeScore(_ ctx: StageContext, model: GPT, tokenizer: BPETokenizer) throws -> Cloze.Score? {
        guard let evalDir = ctx.inputs["eval"], let truthDir = ctx.inputs["truth"] else { return nil }
        let text = try String(contentsOf: DocumentInput.file(evalDir, input: "eval"), encoding: .utf8)
        let items = try text.split(separator: "\n").map { try JSONDecoder().decode(EvalItem.self, from: Data($0.utf8)) }
        let truthURL = URL(fileURLWithPath: truthDir).appendingPathComponent("truth.json")
        let world = try JSONDecoder().decode(World.self, from: Data(contentsOf: truthURL))
        return Cloze.score(model, tokenizer: tokenizer, items: Cloze.items(items), judge: EvalJudge(world: world))
    }
}

/// `train_config.json`: everything the weights depend on besides the data (nanoGPT keeps
/// its `config` dict in every checkpoint), sorted so equal runs give equal bytes.
struct TrainConfig<P: Encodable>: Encodable {
    var stage: String
    var seed: Int
    var params: P
    var model: GPTConfig
    var iterations: Int

    var canonical: String { String(decoding: (try? Self.encoder.encode(self)) ?? Data(), as: UTF8.self) }

    func write(to url: URL) throws {
        try (Self.encoder.encode(self) + Data("\n".utf8)).write(to: url)
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
