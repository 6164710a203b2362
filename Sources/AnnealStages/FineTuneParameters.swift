import AnnealModels
import AnnealPipeline

/// Parameter groups and checks for stages that train an upstream model (SFT, reward): the
/// LoRA adapter settings, and a context that must fit the model's.
struct LoRAParameters: Equatable {
    var rank = 8
    var alpha = 32.0
    var dropout = 0.05
    var targets = ["c_attn"]

    /// Layer names and the suffixes LoRAConfig accepts for them.
    static let targetNames = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj", "c_attn", "c_fc"]

    static var parameters: [Param<Self>] {
        [
            Param("rank", \.rank, bounds: .atLeast(1)),
            Param("alpha", \.alpha, bounds: .greaterThan(0), summary: "scale α/rank"),
            Param("dropout", \.dropout, bounds: .from(0, below: 1)),
            Param("targets", \.targets, allowed: targetNames, summary: "layers that get adapters"),
        ]
    }

    var config: LoRAConfig { LoRAConfig(rank: rank, alpha: Float(alpha), dropout: Float(dropout), targets: targets) }
}

enum ModelChecks {
    /// `block_size` longer than the context of the model on input `input`, when that input
    /// comes from a stage whose parameters name its context (`pretrain`'s block_size).
    static func contextProblem(blockSize: Int, param: String = "block_size", input: String = "model",
                               context: ParamContext) -> ParamProblem? {
        guard let upstream = context.upstream[input], let modelContext = upstream["block_size"]?.intValue,
              blockSize > modelContext else { return nil }
        return ParamProblem(param, "\(blockSize) is longer than the context of the input model (\(modelContext))",
                            hint: "use at most \(modelContext), the block_size the model was trained with")
    }
}
