import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import ArgumentParser
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a text with a model (plain continuation, no chat template).",
        discussion: """
            Prints the generated text (without the prompt). Special-token strings in the prompt \
            are read as special tokens, as `anneal encode` does; generation stops at <|endoftext|>. \
            --temperature 0 is greedy. --json prints {prompt_ids, ids, text, stop}.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The text to continue (empty: start from <|endoftext|>).")
    var prompt: String
    @OptionGroup var sampling: SamplingFlags
    @Flag(help: "Print one JSON object: prompt_ids, ids, text and why generation stopped.")
    var json = false
    @Option(help: "Also write the logits each token was drawn from to this safetensors file (F32 \"logits\" [tokens, vocab]), to compare with other implementations.")
    var logits: String?

    func run() throws {
        let dir = try model.modelDirectory()
        let gpt = try model.loadModel(from: dir)
        let tokenizer = try model.loadTokenizer(modelDirectory: dir, model: gpt)
        let endOfText = tokenizer.id(ofSpecial: ChatTemplate.endOfText)
        var promptIDs = tokenizer.encode(prompt)
        if promptIDs.isEmpty {
            guard let endOfText else { throw UsageError("the prompt is empty and the tokenizer has no <|endoftext|> to start from; give --prompt TEXT") }
            promptIDs = [endOfText]
        }
        let context = gpt.config.contextLength
        guard promptIDs.count <= context else {
            throw UsageError("the prompt has \(promptIDs.count) tokens but the model's context is \(context); shorten it")
        }
        let options = sampling.options(stopTokens: endOfText.map { [$0] } ?? [])
        var rng = RNG(seed: sampling.seed)
        var rows: [Float] = []
        let ids = gpt.generate(prompt: promptIDs.map { Int32($0) }, options: options, rng: &rng) { _, row in
            if logits != nil { rows += row }
            return true
        }
        if let logits {
            let t = Tensor(shape: [ids.count, gpt.config.vocabSize], values: rows)
            do { try Safetensors.write(["logits": t], metadata: ["format": "pt"], to: URL(fileURLWithPath: Workspace.userPath(logits))) } catch {
                throw UsageError("cannot write --logits \(logits): \(error.message)")
            }
        }
        let textIDs = ids.filter { !options.stopTokens.contains($0) }.map { UInt32($0) }
        let text = tokenizer.decode(textIDs)
        if json {
            printJSON(.map([
                "prompt_ids": .list(promptIDs.map { .int(Int($0)) }),
                "ids": .list(ids.map { .int(Int($0)) }),
                "text": .string(text),
                "stop": .string(stopReason(ids, options: options)),
            ]))
        } else {
            print(text)
        }
    }
}
