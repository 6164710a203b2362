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

    /// The same rows under LLaMA-Factory's names (`lora_rank`, `lora_alpha`, `lora_dropout`,
    /// `lora_targets`) for a stage that holds the group at `path` beside its own `dropout`.
    static func prefixed<Outer>(_ path: WritableKeyPath<Outer, Self>) -> [Param<Outer>] {
        [
            Param("lora_rank", path.appending(path: \.rank), bounds: .atLeast(1), summary: "LoRA rank r (method: lora)"),
            Param("lora_alpha", path.appending(path: \.alpha), bounds: .greaterThan(0), summary: "LoRA scale α/r"),
            Param("lora_dropout", path.appending(path: \.dropout), bounds: .from(0, below: 1), summary: "dropout on the adapters' input"),
            Param("lora_targets", path.appending(path: \.targets), allowed: targetNames, summary: "layers that get adapters"),
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

/// A stage's parameters by name as `train_config.json` records them, for parameter structs
/// that hold groups (LoRA) and so have no flat `CodingKeys` of their own.
struct ParameterRecord: Encodable {
    let value: Value

    init<P: StageParameters>(_ params: P) { value = params.parameterValues }
    init(value: Value) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        switch value {
        case .map(let m):
            var c = encoder.container(keyedBy: ParamKey.self)
            for (k, v) in m { try c.encode(ParameterRecord(value: v), forKey: ParamKey(k)) }
        case .list(let items):
            var c = encoder.unkeyedContainer()
            for v in items { try c.encode(ParameterRecord(value: v)) }
        default:
            var c = encoder.singleValueContainer()
            switch value {
            case .bool(let b): try c.encode(b)
            case .int(let i): try c.encode(i)
            case .double(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            default: try c.encodeNil()
            }
        }
    }
}
