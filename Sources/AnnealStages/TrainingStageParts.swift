import AnnealCompute
import AnnealModels
import AnnealText
import AnnealTrain
import Foundation

/// What a stage that trains an upstream model (sft, reward, dpo) starts from: the tokenizer
/// and the input checkpoint, checked against each other and against `block_size` before any
/// data is read, so a mismatch fails in seconds with the change to make.
enum FineTuneInputs {
    static func load(_ ctx: StageContext, blockSize T: Int) throws -> (tokenizerDir: URL, tokenizer: BPETokenizer, model: GPT) {
        let tokenizerDir = URL(fileURLWithPath: try ctx.input("tokenizer"))
        let tokenizer = try BPETokenizer.load(contentsOf: tokenizerDir)
        let model = try Checkpoint.load(from: URL(fileURLWithPath: try ctx.input("model")))
        if let problem = FineTuneModel.vocabularyProblem(model: model.config, tokenizerVocabulary: tokenizer.vocabSize) {
            throw StageFailure(problem)
        }
        guard T <= model.config.contextLength else {
            throw StageFailure("block_size \(T) is longer than the input model's context \(model.config.contextLength); use at most \(model.config.contextLength)")
        }
        return (tokenizerDir, tokenizer, model)
    }
}

/// The optional `replay` input of sft and ppo: the training split of pretraining shards, nil
/// when the input is not connected. Shards of another tokenizer (a larger vocabulary) or too
/// short for one window of `block_size` + 1 fail naming the input.
enum ReplayInput {
    static func load(_ ctx: StageContext, tokenizerVocabulary: Int, blockSize T: Int) throws -> [Int32]? {
        guard let directory = ctx.inputs["replay"] else { return nil }
        let data = try TokenData.load(directory: URL(fileURLWithPath: directory))
        if data.vocabSize > tokenizerVocabulary {
            throw StageFailure("input 'replay': the shards use a vocabulary of \(data.vocabSize) but the tokenizer has \(tokenizerVocabulary); connect the shards of the tokenize stage that made the tokenizer")
        }
        guard data.train.count > T else {
            throw StageFailure("input 'replay': the shards' training split holds \(data.train.count) tokens, fewer than block_size \(T) + 1; connect the pretraining shards (tokenize.shards)")
        }
        return data.train
    }

    /// ppo's `count` windows of `block` tokens for one part of one update, from a seed of their
    /// own and a stream per position in the run (`update` numbers every update part once), so a
    /// resumed run draws the same windows without carrying a generator in its checkpoint.
    static func windows(_ tokens: [Int32], count: Int, block: Int, update: UInt64, seed: UInt64) -> Batch {
        var rng = RNG(seed: seed ^ 0x5851_F42D_4C95_7F2D, stream: update)
        return Batching.sample(tokens, batch: count, block: block, rng: &rng)
    }
}

/// Resuming a training loop from the checkpoint the runner keeps in the stage's state
/// directory. The checkpoint counts only when written under the same resolved config
/// (`TrainConfig.canonical`); then the weights, the optimizer and both generators continue
/// where they stopped, so a resumed run writes the bytes an uninterrupted one would.
enum StageResume {
    /// Where the stage saves and finds its checkpoint; nil when the runner keeps none.
    static func state(_ ctx: StageContext) -> ResumeState? {
        ctx.stateDirectory.map { ResumeState(directory: URL(fileURLWithPath: $0)) }
    }

    /// Replaces `model`, `opt`, `rng` and `dataRNG` with the checkpoint's and returns it, or
    /// leaves them and returns nil when there is none to continue. The caller logs where it
    /// resumed (PPO counts iterations in its own loop state, not optimizer steps).
    static func restore(_ state: ResumeState?, config: String, optimizer: (GPT) -> TrainingOptimizer, model: inout GPT,
                        opt: inout TrainingOptimizer, rng: inout RNG, dataRNG: inout RNG) throws -> ResumeState.Resumed? {
        guard let (resumed, restored) = try state?.load(config: config, optimizer: optimizer) else { return nil }
        (model, opt, rng, dataRNG) = (resumed.model, restored, resumed.rng, resumed.dataRNG)
        return resumed
    }

    /// The optimizer of a stage whose loop counts optimizer steps: a fresh one over `model`
    /// on `plan`'s schedule, or — when `state` holds a checkpoint of `config` — the
    /// checkpoint's, with its model and generators in place of `model`, `rng` and `dataRNG`
    /// ("resumed from step N" logged).
    static func optimizer(_ ctx: StageContext, _ state: ResumeState?, _ params: OptimizerParameters, plan: TrainingPlan,
                          config: String, model: inout GPT, rng: inout RNG, dataRNG: inout RNG) throws -> TrainingOptimizer {
        func optimizer(_ m: GPT) -> TrainingOptimizer { params.optimizer(m, plan: plan) }
        var opt = optimizer(model)
        if let resumed = try restore(state, config: config, optimizer: optimizer, model: &model, opt: &opt, rng: &rng, dataRNG: &dataRNG) {
            ctx.log("resumed from step \(resumed.step)")
        }
        return opt
    }
}

/// The `model` output of every training stage: the checkpoint (config.json,
/// model.safetensors), the resolved training config (train_config.json, nanoGPT's
/// `model_args` and more) and the tokenizer's files, so a downstream stage or `anneal chat`
/// needs this one directory.
enum ModelOutput {
    static func write<P: Encodable>(_ ctx: StageContext, _ model: GPT, config: TrainConfig<P>, tokenizer: URL) throws {
        let out = URL(fileURLWithPath: try ctx.output("model"))
        try Checkpoint.save(model, to: out)
        try config.write(to: out.appendingPathComponent("train_config.json"))
        try copyTokenizer(from: tokenizer, to: out)
    }

    /// `merge: true` with LoRA: the adapters folded into the weights they adapt, so the
    /// output loads as a plain GPT; otherwise they stay beside the weights.
    static func mergeLoRA(_ model: inout GPT, if merging: Bool) {
        if merging, var lora = model.lora {
            lora.merge(into: model)
            model.lora = lora
        }
    }

    static func copyTokenizer(from dir: URL, to out: URL) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".json") {
            try FileManager.default.copyItem(at: dir.appendingPathComponent(name), to: out.appendingPathComponent(name == "config.json" ? "tokenizer_config.json" : name))
        }
    }
}
