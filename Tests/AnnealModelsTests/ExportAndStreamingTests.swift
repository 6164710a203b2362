import AnnealCompute
import AnnealModels
import Foundation
import Testing

@Suite struct ExportAndStreamingTests {
    let model: GPT

    init() throws { model = try Checkpoint.load(from: fixturesDirectory.appendingPathComponent("gpt")) }

    @Test func streamingGenerationDrawsTheSameTokensAsGenerate() {
        let options = SamplingOptions(temperature: 0.9, topK: 20, maxTokens: 9, stopTokens: [63])
        var a = RNG(seed: 11), b = RNG(seed: 11)
        let batch = model.generate(prompt: [3, 9, 27], options: options, rng: &a)
        var seen: [Int32] = [], rows = 0
        let streamed = model.generate(prompt: [3, 9, 27], options: options, rng: &b) { token, logits in
            seen.append(token)
            rows += logits.count == model.config.vocabSize ? 1 : 0
            return true
        }
        #expect(streamed == batch && seen == batch && rows == batch.count)
        var c = RNG(seed: 11)
        let stopped = model.generate(prompt: [3, 9, 27], options: options, rng: &c) { _, _ in false }
        #expect(stopped == Array(batch.prefix(1)))
    }

    @Test func huggingFaceFilesUseGPT2NamesAndTheTokenIDs() throws {
        let ids = HuggingFaceExport.TokenIDs(bos: 0, eos: 0, pad: 0, stop: [0, 4])
        let files = try HuggingFaceExport.files(model, tokens: ids)
        let weights = try Safetensors.decode(files["model.safetensors"]!, source: "export")
        #expect(Set(weights.tensors.keys) == Set(model.params.entries.map { "transformer." + $0.name }))
        // Conv1D layout [in, out] is Anneal's own: the bytes are the same, untransposed.
        let c = model.params["h.1.mlp.c_fc.weight"]
        #expect(weights.tensors["transformer.h.1.mlp.c_fc.weight"]!.array == c.array)
        let config = try JSONSerialization.jsonObject(with: files["config.json"]!) as! [String: Any]
        #expect(config["architectures"] as? [String] == ["GPT2LMHeadModel"])
        #expect(config["activation_function"] as? String == "gelu_new" && config["layer_norm_epsilon"] as? Double == 1e-5)
        #expect(config["n_embd"] as? Int == 32 && config["vocab_size"] as? Int == 64 && config["bos_token_id"] as? Int == 0)
        let generation = try JSONSerialization.jsonObject(with: files["generation_config.json"]!) as! [String: Any]
        #expect(generation["eos_token_id"] as? [Int] == [0, 4])
        #expect(try HuggingFaceExport.files(model, tokens: ids) == files, "same model, same bytes")

        let reward = try GPT(config: model.config, scalarHead: true)
        let rewardConfig = try JSONSerialization.jsonObject(with: try HuggingFaceExport.files(reward, tokens: ids)["config.json"]!) as! [String: Any]
        #expect(rewardConfig["architectures"] as? [String] == ["GPT2ForSequenceClassification"] && rewardConfig["num_labels"] as? Int == 1)

        var adapted = model
        var rng = RNG(seed: 1)
        try adapted.attachLoRA(LoRAConfig(rank: 2, alpha: 4), rng: &rng)
        #expect(throws: ModelError.self) { try HuggingFaceExport.files(adapted, tokens: ids) }
    }
}
