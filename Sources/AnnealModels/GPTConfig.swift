/// The architecture of a GPT, saved as `config.json` beside every checkpoint and read back
/// first on load (the checkpoint, not the caller, decides the architecture, as in nanoGPT).
/// Encoded with Hugging Face GPT-2 keys so `transformers` can open the directory too.
public struct GPTConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var contextLength: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    /// Dropout on the embeddings, the attention probabilities and both residual branches.
    public var dropout: Float

    public init(vocabSize: Int, contextLength: Int, width: Int, layers: Int, heads: Int,
                dropout: Float = 0) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
    }

    /// Problems that make the configuration unusable, in words a user can act on.
    public func validate() throws(ModelError) {
        var problems: [String] = []
        for (name, v) in [("vocab_size", vocabSize), ("n_positions", contextLength),
                          ("n_embd", width), ("n_layer", layers), ("n_head", heads)] where v <= 0 {
            problems.append("\(name) must be positive, got \(v)")
        }
        if heads > 0 && width % heads != 0 {
            problems.append("n_embd \(width) is not divisible by n_head \(heads)")
        }
        if !(dropout >= 0 && dropout < 1) { problems.append("dropout \(dropout) is outside [0, 1)") }
        if !problems.isEmpty { throw ModelError(.invalidConfig, problems.joined(separator: "; ")) }
    }

    /// Parameters outside the embeddings (what MFU formulas call N).
    public var nonEmbeddingParameterCount: Int {
        let C = width
        return layers * (12 * C * C + 13 * C) + 2 * C
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "n_positions", width = "n_embd"
        case layers = "n_layer", heads = "n_head", dropout = "resid_pdrop"
        case embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop", nCtx = "n_ctx"
        case modelType = "model_type", activation = "activation_function"
        case epsilon = "layer_norm_epsilon", tie = "tie_word_embeddings"
        case architectures
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        width = try c.decode(Int.self, forKey: .width)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(["GPT2LMHeadModel"], forKey: .architectures)
        try c.encode("gpt2", forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(contextLength, forKey: .nCtx)
        try c.encode(width, forKey: .width)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(dropout, forKey: .embdPdrop)
        try c.encode(dropout, forKey: .attnPdrop)
        try c.encode("gelu_new", forKey: .activation)
        try c.encode(1e-5, forKey: .epsilon)
        try c.encode(true, forKey: .tie)
    }
}

/// Errors from building, loading or saving models, with a stable code and a message that
/// says what to change.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case invalidConfig, io, format, mismatch, unsupported
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
