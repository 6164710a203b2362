import AnnealCompute
import AnnealModels

/// The model a fine-tuning stage starts from: the upstream checkpoint's weights in a fresh
/// GPT with this stage's dropout (and a scalar head for reward models). Unmerged LoRA
/// adapters of the upstream model are folded into its weights first, so an SFT model saved
/// with `merge: false` trains on as the model it is.
public enum FineTuneModel {
    public static func prepare(_ loaded: GPT, dropout: Float, scalarHead: Bool, rng: inout RNG) throws(ModelError) -> GPT {
        var source = loaded
        if var lora = source.lora, !lora.isMerged {
            lora.merge(into: source)
            source.lora = lora
        }
        var config = source.config
        config.dropout = dropout
        let model = try GPT(config: config, scalarHead: scalarHead)
        for (i, e) in model.params.entries.enumerated() {
            if let j = source.params.index(of: e.name) {
                model.params.value(i).assign(source.params.value(j))
            } else {
                // A new scalar head: small normal weights, so rewards start near 0 and differ.
                rng.fillNormal(model.params.value(i).pointer, count: e.count, std: 0.02)
            }
        }
        return model
    }

    /// The tokenizer and the model must agree on the vocabulary, or ids past the
    /// embedding would be read.
    public static func vocabularyProblem(model: GPTConfig, tokenizerVocabulary: Int) -> String? {
        model.vocabSize == tokenizerVocabulary ? nil
            : "the model has a vocabulary of \(model.vocabSize) but the tokenizer \(tokenizerVocabulary); connect the tokenizer the model was trained with (its tokenize stage's tokenizer)"
    }
}

/// How long a fine-tuning run is: `epochs` > 0 wins over `maxIters` and gives
/// ⌈epochs · examples / examples per step⌉ optimizer steps (at least 1).
public enum FineTunePlan {
    public static func iterations(maxIters: Int, epochs: Double, examples: Int, perStep: Int) -> Int {
        guard epochs > 0 else { return maxIters }
        return max(1, Int((epochs * Double(examples) / Double(max(perStep, 1))).rounded(.up)))
    }
}
