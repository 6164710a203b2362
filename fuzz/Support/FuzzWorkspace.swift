import AnnealEngine
import AnnealPipeline
import Foundation

/// What every target shares: a small private workspace (so `{file: …}` checks touch only
/// it) and a registry with kinds shaped like the built-ins plus the repository's plugins.
final class FuzzWorkspace: @unchecked Sendable {
    static let shared = FuzzWorkspace()

    let root: String
    let registry: StageRegistry
    /// One file for targets whose reader takes a path (writing it is much of their cost).
    let scratchFile: String

    private init() {
        let env = ProcessInfo.processInfo.environment
        // fuzz/run.sh gives a directory on a tmpfs when there is one, and removes it after.
        root = (env["ANNEAL_FUZZ_TMP"] ?? NSTemporaryDirectory()) + "/anneal-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: root + "/data/dir", withIntermediateDirectories: true)
        for f in ["data/notes.txt", "data/dir/a.txt", "data/corpus.jsonl"] {
            _ = FileManager.default.createFile(atPath: root + "/" + f, contents: Data("one two three\n".utf8))
        }
        // The built-ins live in AnnealStages (with the ML code); these have their names and
        // every parameter shape the validator handles.
        let builtins = [
            StageSchema(name: "synth/tinyworld", version: "1", inputs: [], outputs: ["corpus", "sft", "prefs", "prompts", "eval"],
                        params: [ParamSpec("countries", .int, default: .int(40)), ParamSpec("seed", .int, default: .int(0))]),
            StageSchema(name: "clean", version: "1", inputs: ["docs"], outputs: ["docs", "report"],
                        params: [ParamSpec("min_words", .int, default: .int(50)), ParamSpec("pii", .bool, default: .bool(false)),
                                 ParamSpec("skip", .list, default: .list([])),
                                 ParamSpec("format", .string, default: .string("auto"), allowed: ["auto", "text", "jsonl"])],
                        threads: 2),
            StageSchema(name: "dedup", version: "1", inputs: ["docs"], outputs: ["docs", "report"],
                        params: [ParamSpec("threshold", .float, default: .double(0.7))]),
            StageSchema(name: "tokenize", version: "1", inputs: ["docs"], optionalInputs: ["tokenizer"], outputs: ["shards", "tokenizer"],
                        params: [ParamSpec("vocab_size", .int, required: true),
                                 ParamSpec("model", .map, fields: [ParamSpec("width", .int, default: .int(64)), ParamSpec("any", .any)])]),
        ]
        scratchFile = root + "/scratch"
        atexit { try? FileManager.default.removeItem(atPath: FuzzWorkspace.shared.root) }
        let plugins = env["ANNEAL_FUZZ_PLUGINS"] ?? FileManager.default.currentDirectoryPath + "/stages"
        registry = StageRegistry(builtins: builtins, pluginsDirectory: plugins, workspace: root)
    }
}

/// Optimised builds drop `precondition` messages; this one reaches the fuzzer's log.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    abort()
}
