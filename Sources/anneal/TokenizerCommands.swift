import AnnealEngine
import AnnealPipeline
import AnnealText
import ArgumentParser
import Foundation

/// `TOKENIZER` of `encode` and `decode`: a path (a tokenizer directory or file), or
/// `STAGE.OUTPUT` of a pipeline, resolved like `anneal path`.
struct TokenizerOptions: ParsableArguments {
    @Argument(help: "Tokenizer: STAGE.OUTPUT of the pipeline (e.g. tokenize.tokenizer) or a path.")
    var tokenizer: String
    @Argument(help: "Input file (default: standard input).")
    var file: String?
    @Option(name: [.short, .customLong("pipeline")], help: "Pipeline file (default: \(defaultPipeline)).")
    var pipelineFile: String?
    @Option(name: .customLong("set"), help: "The same --set overrides as the run that made STAGE.OUTPUT.")
    var overrides: [String] = []
    @OptionGroup var cache: CacheOption

    func load() throws -> BPETokenizer {
        var path = Workspace.userPath(tokenizer)
        if !FileManager.default.fileExists(atPath: path) {
            guard tokenizer.contains(".") else { throw UsageError("no tokenizer at \(tokenizer): give a path or STAGE.OUTPUT") }
            path = try PathCommand.resolve(tokenizer, in: try Workspace.project(try PipelineOptions.named(pipelineFile, overrides: overrides), store: cache.store))
        }
        do { return try BPETokenizer.load(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UsageError("\(error)")
        }
    }

    func input() throws -> Data {
        guard let file else { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let data = FileManager.default.contents(atPath: Workspace.userPath(file)) else { throw UsageError("cannot read \(file)") }
        return data
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode", abstract: "Print the token ids of a text as a JSON array.")

    @OptionGroup var options: TokenizerOptions

    func run() throws {
        let tokenizer = try options.load()
        guard let text = String(data: try options.input(), encoding: .utf8) else {
            throw UsageError("\(options.file ?? "standard input") is not valid UTF-8")
        }
        let ids = tokenizer.encode(text)
        print("[" + ids.map(String.init).joined(separator: ",") + "]")
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Turn a JSON array of token ids back into text.")

    @OptionGroup var options: TokenizerOptions

    func run() throws {
        let tokenizer = try options.load()
        let text = String(decoding: try options.input(), as: UTF8.self)
        guard case .list(let items)? = Value.parseJSON(text), let ids = items.map(\.intValue) as [Int?]?, ids.allSatisfy({ $0 != nil }) else {
            throw UsageError("expected a JSON array of token ids, like the output of `anneal encode`")
        }
        let vocab = tokenizer.vocabSize
        if let bad = ids.compactMap({ $0 }).first(where: { $0 < 0 || $0 >= vocab }) {
            throw UsageError("token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        FileHandle.standardOutput.write(Data(tokenizer.decode(ids.map { UInt32($0!) }).utf8))
    }
}
