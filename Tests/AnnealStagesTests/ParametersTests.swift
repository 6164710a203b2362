import AnnealPipeline
@testable import AnnealStages
import Foundation
import Testing

/// A catalog of the built-in stages plus a fine-tuning probe that uses the shared LoRA and
/// context checks the way SFT and reward stages do.
struct BuiltinCatalog: StageCatalog {
    struct Probe: StageParameters {
        var blockSize = 64
        var lora = LoRAParameters()
        static var parameters: [Param<Self>] {
            [Param("block_size", \.blockSize, bounds: .atLeast(1))] + LoRAParameters.parameters.map { $0.lifted(\.lora) }
        }
        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            [ModelChecks.contextProblem(blockSize: p.blockSize, context: context)].compactMap { $0 }
        }
    }

    static let probe = StageSchema(name: "finetune", version: "1", inputs: ["model"], outputs: ["model"],
                                   params: Probe.specs, validate: Probe.validator)

    func schema(named name: String) -> StageSchema? {
        name == "finetune" ? Self.probe : StageCatalogue.stage(named: name)?.schema
    }
    var stageNames: [String] { StageCatalogue.schemas.map(\.name) + ["finetune"] }
}

/// A workspace holding `p.yaml`, so `{file: p.yaml}` inputs exist.
let workspace: String = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anneal-params-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: dir + "/p.yaml", contents: Data("docs\n".utf8))
    return dir
}()

func loadPipeline(_ text: String) throws(PipelineErrors) -> PipelineSpec {
    try PipelineLoader(catalog: BuiltinCatalog(), workspace: workspace).load(text: text, file: "p.yaml")
}

func diagnostics(_ text: String) -> [String] {
    do { _ = try loadPipeline(text); return [] } catch { return error.diagnostics.map(\.description) }
}

let tokenizeStages = """
name: t
stages:
  tok:
    uses: tokenize
    inputs: {docs: {file: p.yaml}}

"""

@Suite struct ParametersTests {
    /// Every built-in stage's schema defaults (as the loader fills them) decode into its
    /// parameters and give back exactly the declared defaults: schema and config are one.
    @Test func schemaDefaultsAreTheConfigDefaults() throws {
        for stage in StageCatalogue.all {
            let params = Value.map(Dictionary(uniqueKeysWithValues: stage.schema.params.map { ($0.name, $0.defaultValue!) }))
            let roundTrip = try stage.decodedDefaults(params)
            #expect(roundTrip == params, "\(stage.schema.name)")
        }
    }

    /// The shared optimizer rows keep every stage's names and its own defaults (names are a
    /// contract of every pipeline; defaults drive cached runs).
    @Test func trainingStagesShareTheOptimizerRowsWithTheirOwnDefaults() throws {
        let names = ["batch_size", "gradient_accumulation_steps", "learning_rate", "min_lr", "warmup_iters", "max_iters",
                     "weight_decay", "beta1", "beta2", "grad_clip", "eval_interval", "checkpoint_interval"]
        let stages: [(any BuiltinStage.Type, OptimizerParameters)] = [
            (PretrainStage.self, PretrainStage.Parameters().optimizer), (SFTStage.self, SFTStage.Parameters().optimizer),
            (RewardStage.self, RewardStage.Parameters().optimizer),
        ]
        for (stage, optimizer) in stages {
            let specs = Dictionary(uniqueKeysWithValues: stage.schema.params.map { ($0.name, $0) })
            for name in names { #expect(specs[name] != nil, "\(stage.schema.name) lost \(name)") }
            #expect(specs["learning_rate"]?.defaultValue == .double(optimizer.learningRate))
            #expect(specs["max_iters"]?.defaultValue == .int(optimizer.maxIters))
        }
        #expect(RewardStage.Parameters().optimizer.maxIters != PretrainStage.Parameters().optimizer.maxIters)
    }

    @Test func aMissingKeyThrowsNamingIt() throws {
        var m = PretrainStage.Parameters.specs.reduce(into: [String: Value]()) { $0[$1.name] = $1.defaultValue }
        m["learning_rate"] = nil
        #expect(throws: StageFailure("stage 'pretrain': parameter 'learning_rate' is missing from ANNEAL_PARAMS")) {
            try PretrainStage.Parameters.decode(.map(m), stage: "pretrain")
        }
        m["learning_rate"] = .double(1e-3)
        m["max_iters"] = .string("ten")
        #expect(throws: StageFailure("stage 'pretrain': parameter 'max_iters' must be an integer")) {
            try PretrainStage.Parameters.decode(.map(m), stage: "pretrain")
        }
        m["max_iters"] = .int(10)
        m["learning_rat"] = .double(1e-3)
        #expect(throws: StageFailure("stage 'pretrain': unknown parameter 'learning_rat'")) {
            try PretrainStage.Parameters.decode(.map(m), stage: "pretrain")
        }
        m["learning_rat"] = nil
        let p = try PretrainStage.Parameters.decode(.map(m), stage: "pretrain")
        #expect(p.optimizer.learningRate == 1e-3 && p.optimizer.maxIters == 10)
    }

    /// Impossible hyperparameters fail when the pipeline loads, every one at once, each at
    /// its value (or at `with:` when the problem is between parameters left at defaults).
    @Test func invalidHyperparametersFailAtValidateAllAtOnce() {
        let text = tokenizeStages + """
          pre:
            uses: pretrain
            inputs: {shards: tok.shards, tokenizer: tok.tokenizer}
            with: {learning_rate: 0, dropout: 1.0, n_embd: 100, n_head: 3, max_iters: 0}
          rm:
            uses: reward
            inputs: {model: pre.model, tokenizer: tok.tokenizer, prefs: {file: p.yaml}}
            with: {min_lr: 0.5}
          ft:
            uses: finetune
            inputs: {model: pre.model}
            with: {block_size: 256, rank: 0, targets: [c_attn, attn.qkv]}
        """
        #expect(diagnostics(text) == [
            "p.yaml:9:27: error: parameter 'with.learning_rate' of stage 'pre' must be > 0, found 0",
            "p.yaml:9:39: error: parameter 'with.dropout' of stage 'pre' must be in [0, 1), found 1.0",
            "p.yaml:9:52: error: parameter 'with.n_embd' of stage 'pre': 100 is not divisible by n_head 3; use a multiple of 3, such as 99",
            "p.yaml:9:79: error: parameter 'with.max_iters' of stage 'pre' must be ≥ 1, found 0",
            "p.yaml:13:20: error: parameter 'with.min_lr' of stage 'rm': 0.5 is above learning_rate 0.0003",
            "p.yaml:17:24: error: parameter 'with.block_size' of stage 'ft': 256 is longer than the context of the input model (128); use at most 128, the block_size the model was trained with",
            "p.yaml:17:35: error: parameter 'with.rank' of stage 'ft' must be ≥ 1, found 0",
            "p.yaml:17:47: error: parameter 'with.targets' of stage 'ft' has 'attn.qkv', which is not one of attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, c_attn, c_fc",
        ])
    }

    @Test func validHyperparametersLoad() throws {
        let spec = try loadPipeline(tokenizeStages + """
          pre:
            uses: pretrain
            inputs: {shards: tok.shards, tokenizer: tok.tokenizer}
            with: {n_embd: 96, n_head: 3, block_size: 64}
          ft:
            uses: finetune
            inputs: {model: pre.model}
            with: {block_size: 64, targets: [c_attn, mlp.c_fc]}
        """)
        #expect(spec.stages.count == 3)
    }
}

extension BuiltinStage {
    /// The schema defaults decoded into the stage's parameters and read back through the
    /// same table.
    static func decodedDefaults(_ params: Value) throws -> Value {
        try Parameters.decode(params, stage: schema.name).parameterValues
    }
}
