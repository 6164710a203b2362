import AnnealCompute
import Foundation

/// The model half of a Hugging Face directory (`anneal export --format hf`):
///
///     config.json             GPT-2 config: architecture, sizes, gelu_new, eps 1e-5, tied head,
///                             bos/eos/pad ids of the tokenizer
///     generation_config.json  the ids generation starts, stops and pads with
///     model.safetensors       `transformer.`-prefixed GPT-2 names; Conv1D weights [in, out],
///                             which is Anneal's own layout, so no tensor is transposed; no
///                             `lm_head.weight` (tied to `transformer.wte.weight`)
///
/// The tokenizer files come from AnnealText. A model with a scalar head exports as
/// `GPT2ForSequenceClassification` (one label, `score.weight` [1, C]), which reads the
/// score at the last non-padding token as Anneal does. LoRA adapters must be merged first:
/// transformers has no place for them in a plain model directory.
public enum HuggingFaceExport {
    /// Token ids the config files name; nil leaves a key null (a tokenizer without the token).
    public struct TokenIDs: Sendable, Equatable {
        public var bos: Int?
        public var eos: Int?
        public var pad: Int?
        /// Tokens that end a generation (end of text and, for chat, end of turn).
        public var stop: [Int]

        public init(bos: Int?, eos: Int?, pad: Int?, stop: [Int]) {
            self.bos = bos
            self.eos = eos
            self.pad = pad
            self.stop = stop
        }
    }

    /// File name → bytes. Bytes depend only on the weights and ids (sorted keys and names).
    public static func files(_ model: GPT, tokens: TokenIDs) throws(ModelError) -> [String: Data] {
        if let lora = model.lora, !lora.isMerged {
            throw ModelError(.unsupported, "the model has unmerged LoRA adapters; merge them before exporting (anneal export does)")
        }
        var tensors: [String: Tensor] = [:]
        for (i, e) in model.params.entries.enumerated() {
            tensors[e.name == "score.weight" ? e.name : "transformer." + e.name] = model.params.value(i)
        }
        return [
            "config.json": try json(ModelConfig(model: model.config, tokens: tokens, scalarHead: model.hasScalarHead)),
            "generation_config.json": try json(GenerationConfig(tokens: tokens)),
            "model.safetensors": Safetensors.encode(tensors, metadata: ["format": "pt"]),
        ]
    }

    struct ModelConfig: Encodable {
        var model: GPTConfig
        var tokens: TokenIDs
        var scalarHead: Bool

        enum Keys: String, CodingKey {
            case bos = "bos_token_id", eos = "eos_token_id", pad = "pad_token_id", dtype = "torch_dtype"
            case architectures, numLabels = "num_labels", id2label, label2id
        }

        func encode(to encoder: any Encoder) throws {
            try model.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(tokens.bos, forKey: .bos)
            try c.encode(tokens.eos, forKey: .eos)
            try c.encode(tokens.pad, forKey: .pad)
            try c.encode("float32", forKey: .dtype)
            if scalarHead {
                try c.encode(["GPT2ForSequenceClassification"], forKey: .architectures)
                try c.encode(1, forKey: .numLabels)
                try c.encode(["0": "LABEL_0"], forKey: .id2label)
                try c.encode(["LABEL_0": 0], forKey: .label2id)
            }
        }
    }

    struct GenerationConfig: Encodable {
        var tokens: TokenIDs

        enum Keys: String, CodingKey { case bos = "bos_token_id", eos = "eos_token_id", pad = "pad_token_id" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(tokens.bos, forKey: .bos)
            try c.encode(tokens.stop, forKey: .eos)
            try c.encode(tokens.pad, forKey: .pad)
        }
    }

    static func json<T: Encodable>(_ value: T) throws(ModelError) -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return try enc.encode(value) + Data("\n".utf8) } catch {
            throw ModelError(.format, "cannot encode \(T.self): \(error)")
        }
    }
}
