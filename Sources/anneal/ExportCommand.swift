import AnnealModels
import AnnealText
import ArgumentParser
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a model as a Hugging Face directory (transformers' AutoModelForCausalLM and AutoTokenizer load it).",
        discussion: """
            Writes config.json (GPT-2), generation_config.json, model.safetensors (GPT-2 names), \
            tokenizer.json, tokenizer_config.json (with the chat template) and special_tokens_map.json. \
            LoRA adapters are merged into the weights. A non-empty DIR is refused unless --force, \
            which replaces those files and leaves any others alone.
            """)

    @OptionGroup var model: ModelOptions
    @Argument(help: "Directory to write.")
    var directory: String
    @Option(help: "Output format (hf: Hugging Face transformers).")
    var format = "hf"
    @Flag(help: "Write into a directory that is not empty.")
    var force = false

    func validate() throws {
        guard format == "hf" else { throw ValidationError("unknown --format '\(format)'; the only format is hf") }
    }

    func run() throws {
        let out = URL(fileURLWithPath: Workspace.userPath(directory))
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw UsageError("\(directory) is a file; give a directory to export into")
        }
        guard existing.isEmpty || force else {
            throw UsageError("\(directory) is not empty (\(existing.count) entries); choose another directory or pass --force to replace the exported files in it")
        }
        let dir = try model.modelDirectory()
        let gpt = try model.loadModel(from: dir)
        let tokenizer = try model.loadTokenizer(modelDirectory: dir, model: gpt)
        let eot = tokenizer.id(ofSpecial: ChatTemplate.endOfText).map(Int.init)
        let end = tokenizer.id(ofSpecial: ChatTemplate.end).map(Int.init)
        let ids = HuggingFaceExport.TokenIDs(bos: eot, eos: eot, pad: eot, stop: [eot, end].compactMap { $0 })
        var files: [String: Data]
        do { files = try HuggingFaceExport.files(gpt, tokens: ids) } catch {
            throw UsageError("cannot export \(model.model): \(error.message)")
        }
        files["tokenizer.json"] = tokenizer.huggingFaceJSON()
        files["tokenizer_config.json"] = tokenizer.huggingFaceTokenizerConfig(modelMaxLength: gpt.config.contextLength)
        files["special_tokens_map.json"] = tokenizer.huggingFaceSpecialTokensMap()
        do {
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            for name in files.keys.sorted() {
                try files[name]!.write(to: out.appendingPathComponent(name), options: .atomic)
            }
        } catch {
            printError("error: cannot write \(directory): \(error.localizedDescription)")
            throw Failure(code: Exit.internal)
        }
        let merged = FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_model.safetensors").path)
            ? " (LoRA adapters merged)" : ""
        printError("exported \(model.model) to \(directory)\(merged): \(files.keys.sorted().joined(separator: ", "))")
        if !ChatTemplate.isSupported(by: tokenizer) {
            printError("note: the tokenizer lacks the chat template's special tokens, so tokenizer_config.json has no chat_template")
        }
    }
}
