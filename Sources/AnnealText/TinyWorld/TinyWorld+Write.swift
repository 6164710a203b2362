import Foundation

/// Where `TinyWorld.write` put each output. File names are fixed so a stage can declare
/// them as outputs: corpus.jsonl, manifest.json, sft.jsonl, prefs.jsonl, prompts.jsonl,
/// eval.jsonl, truth.json.
public struct TinyWorldFiles: Sendable, Equatable {
    public var corpus: URL
    public var manifest: URL
    public var sft: URL
    public var prefs: URL
    public var prompts: URL
    public var eval: URL
    public var truth: URL

    public init(directory: URL) {
        corpus = directory.appendingPathComponent("corpus.jsonl")
        manifest = directory.appendingPathComponent("manifest.json")
        sft = directory.appendingPathComponent("sft.jsonl")
        prefs = directory.appendingPathComponent("prefs.jsonl")
        prompts = directory.appendingPathComponent("prompts.jsonl")
        eval = directory.appendingPathComponent("eval.jsonl")
        truth = directory.appendingPathComponent("truth.json")
    }
}

extension TinyWorld {
    /// Generates the world for `config` and writes every file into `directory` (created if
    /// missing). Each file is written atomically, so a crash never leaves a half file.
    @discardableResult
    public static func write(to directory: URL, config: TinyWorldConfig = TinyWorldConfig()) throws -> TinyWorldFiles {
        try generate(config).write(to: directory)
    }

    @discardableResult
    public func write(to directory: URL) throws -> TinyWorldFiles {
        let files = TinyWorldFiles(directory: directory)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TextError(.io, "cannot create directory: \(error.localizedDescription)", file: directory.path)
        }
        try JSONLines.write(corpus, to: files.corpus)
        try JSONLines.write(sft, to: files.sft)
        try JSONLines.write(preferences, to: files.prefs)
        try JSONLines.write(prompts, to: files.prompts)
        try JSONLines.write(eval, to: files.eval)
        try JSONLines.writeDocument(manifest, to: files.manifest)
        try JSONLines.writeDocument(world, to: files.truth)
        return files
    }
}
