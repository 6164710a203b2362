import AnnealModels
import AnnealText
import ArgumentParser
import Foundation

/// `MODEL` of `chat`, `generate` and `export`: a checkpoint directory (config.json +
/// model.safetensors, adapters beside them if any) or `STAGE.OUTPUT` of a pipeline, resolved
/// like `anneal path`; and its tokenizer, found in the model directory (tokenizer.anneal.json
/// or tokenizer.json, also under tokenizer/) unless `--tokenizer` names one. Problems with
/// either are usage errors (exit 2) that say what to pass instead.
struct ModelOptions: ParsableArguments {
    @Argument(help: "Model: STAGE.OUTPUT of the pipeline (e.g. sft.model) or a checkpoint directory (config.json + model.safetensors).")
    var model: String
    @Option(help: "Tokenizer: STAGE.OUTPUT (e.g. tokenize.tokenizer) or a path (default: the one in the model directory).")
    var tokenizer: String?
    @Option(name: [.short, .customLong("pipeline")], help: "Pipeline file for STAGE.OUTPUT (default: \(defaultPipeline)).")
    var pipelineFile: String?
    @Option(name: .customLong("set"), help: "The same --set overrides as the run that made STAGE.OUTPUT.")
    var overrides: [String] = []
    @OptionGroup var cache: CacheOption

    /// The model's directory.
    func modelDirectory() throws -> URL {
        let dir = URL(fileURLWithPath: try resolve(model, what: "model"))
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
            throw UsageError("\(model) is not a model directory: it has no config.json (a checkpoint holds config.json and model.safetensors)")
        }
        return dir
    }

    /// The model with any LoRA adapters folded into its weights (faster decoding; what
    /// export writes).
    func loadModel(from dir: URL) throws -> GPT {
        var gpt: GPT
        do { gpt = try Checkpoint.load(from: dir) } catch {
            throw UsageError("cannot load the model in \(dir.path): \(error.message)")
        }
        if var lora = gpt.lora, !lora.isMerged {
            lora.merge(into: gpt)
            gpt.lora = lora
        }
        return gpt
    }

    /// The tokenizer, checked against the model's vocabulary.
    func loadTokenizer(modelDirectory dir: URL, model gpt: GPT) throws -> BPETokenizer {
        let source: String
        if let tokenizer {
            source = try resolve(tokenizer, what: "tokenizer")
        } else {
            let candidates = [dir.path, dir.appendingPathComponent("tokenizer").path]
            guard let found = candidates.first(where: { Self.tokenizerFile(in: $0) != nil }) else {
                throw UsageError("no tokenizer in \(model) (tokenizer.anneal.json or tokenizer.json); pass --tokenizer STAGE.OUTPUT|PATH, e.g. --tokenizer tokenize.tokenizer")
            }
            source = found
        }
        let tok: BPETokenizer
        do { tok = try Self.readTokenizer(source) } catch { throw UsageError("\(error)") }
        guard tok.vocabSize == gpt.config.vocabSize else {
            throw UsageError("the tokenizer in \(source) has \(tok.vocabSize) tokens but the model's vocab_size is \(gpt.config.vocabSize); pass the tokenizer the model was trained with (--tokenizer)")
        }
        return tok
    }

    /// A path as typed, else STAGE.OUTPUT of the pipeline.
    func resolve(_ reference: String, what: String) throws -> String {
        let path = Workspace.userPath(reference)
        if FileManager.default.fileExists(atPath: path) { return path }
        let parts = reference.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, !reference.contains("/") else {
            throw UsageError("no \(what) at '\(reference)': give a directory path or STAGE.OUTPUT of a pipeline (with -p PIPELINE)")
        }
        return try PathCommand.resolve(reference, in: try Workspace.project(try PipelineOptions.named(pipelineFile, overrides: overrides), store: cache.store))
    }

    /// Anneal's own file first (exact), else a Hugging Face tokenizer.json Anneal wrote.
    static func tokenizerFile(in dir: String) -> String? {
        ["tokenizer.anneal.json", "tokenizer.json"].map { dir + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
    }

    static func readTokenizer(_ path: String) throws -> BPETokenizer {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        var file = path
        if isDirectory.boolValue {
            guard let found = tokenizerFile(in: path) else {
                throw UsageError("no tokenizer.anneal.json or tokenizer.json in \(path)")
            }
            file = found
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError("cannot read \(file)") }
        if file.hasSuffix("tokenizer.json") { return try BPETokenizer.load(huggingFaceJSON: data, path: file) }
        return try BPETokenizer.load(annealJSON: data, path: file)
    }
}

/// How chat and generate sample, as in nanoGPT's sample.py (temperature 0.8), seeded so a
/// run can be repeated.
struct SamplingFlags: ParsableArguments {
    @Option(help: "Divide logits by this; 0 picks the most likely token (greedy).")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens only (default: all).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Sample among the most likely tokens whose probabilities add up to p (default: 1, all).")
    var topP: Float?
    @Option(name: .customLong("max-tokens"), help: "Generate at most this many tokens (fewer at a stop token or the context length).")
    var maxTokens = 200
    @Option(help: "Seed of the sampling; the same seed and inputs give the same text.")
    var seed: UInt64 = 0

    func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be ≥ 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be ≥ 1, got \(maxTokens)") }
    }

    func options(stopTokens: [UInt32]) -> SamplingOptions {
        SamplingOptions(temperature: temperature, topK: topK, topP: topP, maxTokens: maxTokens,
                        stopTokens: stopTokens.map { Int32($0) })
    }
}

/// Why a generation ended, as `--json` reports it.
func stopReason(_ ids: [Int32], options: SamplingOptions) -> String {
    if let last = ids.last, options.stopTokens.contains(last) { return "stop_token" }
    return ids.count >= options.maxTokens ? "max_tokens" : "context_length"
}
