import AnnealCompute
import Foundation

/// A checkpoint directory:
///
///     config.json                  GPTConfig (Hugging Face GPT-2 keys)
///     model.safetensors            every base weight, HF GPT-2 names
///     adapter_config.json          LoRAConfig (peft keys)          only with LoRA
///     adapter_model.safetensors    lora_A / lora_B weights          only with LoRA
///     optimizer.safetensors        AdamW moments, step, RNG state   only for resume
///
/// Loading reads config.json first: the checkpoint decides the architecture. Every file
/// Anneal writes carries `anneal.format` and `anneal.format_version` in its safetensors
/// metadata, checked on load. Bytes are a pure function of the numbers (sorted names,
/// sorted JSON keys), so equal training runs give equal checkpoints.
public enum Checkpoint {
    public static let formatVersion = "1"

    static func meta(_ kind: String, _ extra: [String: String] = [:]) -> [String: String] {
        ["format": "pt", "anneal.format": kind, "anneal.format_version": formatVersion].merging(extra) { $1 }
    }

    // MARK: model

    public static func save(_ model: GPT, to dir: URL) throws(ModelError) {
        try createDirectory(dir)
        try writeJSON(model.config, to: dir.appendingPathComponent("config.json"))
        var tensors: [String: Tensor] = [:]
        for (i, e) in model.params.entries.enumerated() { tensors[e.name] = model.params.value(i) }
        try Safetensors.write(tensors, metadata: meta("gpt", ["anneal.scalar_head": String(model.hasScalarHead)]),
                              to: dir.appendingPathComponent("model.safetensors"))
        // Merged adapters are already inside the weights: the directory is then a plain
        // (exportable) model. Unmerged ones save beside it.
        if let lora = model.lora, !lora.isMerged { try saveAdapters(lora, to: dir) }
    }

    /// Builds the model `config.json` describes and fills it from model.safetensors (and
    /// the adapters if the directory has them). Every mismatch is reported at once.
    public static func load(from dir: URL) throws(ModelError) -> GPT {
        let config: GPTConfig = try readJSON(dir.appendingPathComponent("config.json"))
        let file = try Safetensors.read(dir.appendingPathComponent("model.safetensors"))
        try checkFormat(file, kind: "gpt", source: "model.safetensors", required: false)
        var tensors = file.tensors
        // Files saved by transformers' GPT2LMHeadModel prefix the body with "transformer.".
        for name in file.order where name.hasPrefix("transformer.") {
            tensors[String(name.dropFirst("transformer.".count))] = tensors.removeValue(forKey: name)
        }
        let scalarHead = tensors["score.weight"] != nil
        var model = try GPT(config: config, scalarHead: scalarHead)
        try fill(model.params, from: tensors, source: dir.appendingPathComponent("model.safetensors").path,
                 ignoring: { name in
                     // GPT-2's saved attention-mask buffers and the tied head carry no weights of their own.
                     name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") || name == "lm_head.weight"
                 })
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_model.safetensors").path) {
            try loadAdapters(into: &model, from: dir)
        }
        return model
    }

    // MARK: LoRA adapters

    public static func saveAdapters(_ lora: LoRA, to dir: URL) throws(ModelError) {
        precondition(!lora.isMerged, "unmerge LoRA adapters before saving them separately")
        try createDirectory(dir)
        try writeJSON(lora.config, to: dir.appendingPathComponent("adapter_config.json"))
        var tensors: [String: Tensor] = [:]
        for (i, e) in lora.params.entries.enumerated() { tensors[e.name] = lora.params.value(i) }
        try Safetensors.write(tensors, metadata: meta("lora"), to: dir.appendingPathComponent("adapter_model.safetensors"))
    }

    /// Attaches the adapters saved in `dir` to `model` (freezing its base weights).
    public static func loadAdapters(into model: inout GPT, from dir: URL) throws(ModelError) {
        let config: LoRAConfig = try readJSON(dir.appendingPathComponent("adapter_config.json"))
        let path = dir.appendingPathComponent("adapter_model.safetensors")
        let file = try Safetensors.read(path)
        try checkFormat(file, kind: "lora", source: path.lastPathComponent, required: true)
        var rng = RNG(seed: 0)
        try model.attachLoRA(config, rng: &rng)
        try fill(model.lora!.params, from: file.tensors, source: path.path, ignoring: { _ in false })
    }

    // MARK: optimizer and RNG state

    /// What a run needs besides the weights to resume bit for bit.
    public struct TrainingState: Equatable, Sendable {
        public var step: Int
        public var rng: RNG
        public var threads: Int

        public init(step: Int, rng: RNG, threads: Int = ComputeThreads.count) {
            self.step = step
            self.rng = rng
            self.threads = threads
        }
    }

    /// Writes AdamW's moments (flat, in the parameter set's layout) and `state`.
    public static func saveOptimizer(_ opt: AdamW, state: TrainingState, to url: URL) throws(ModelError) {
        try saveOptimizers(["": opt], state: state, to: url)
    }

    /// Restores moments into `opt` (built for the same parameters) and returns the state.
    public static func loadOptimizer(_ opt: inout AdamW, from url: URL) throws(ModelError) -> TrainingState {
        var opts = ["": opt]
        let state = try loadOptimizers(&opts, from: url)
        opt = opts[""]!
        return state
    }

    /// Several optimizers in one file (e.g. "" for the base model, "lora." for adapters):
    /// tensors `<prefix>exp_avg`, `<prefix>exp_avg_sq`, metadata `<prefix>adamw.step`.
    public static func saveOptimizers(_ opts: [String: AdamW], state: TrainingState, to url: URL) throws(ModelError) {
        var extra = [
            "train.step": String(state.step), "rng.seed": String(state.rng.seed),
            "rng.stream": String(state.rng.stream), "rng.counter": String(state.rng.counter),
            "compute.threads": String(state.threads),
        ]
        var tensors: [String: Tensor] = [:]
        for (prefix, opt) in opts {
            extra[prefix + "adamw.step"] = String(opt.step)
            tensors[prefix + "exp_avg"] = opt.m
            tensors[prefix + "exp_avg_sq"] = opt.v
        }
        try Safetensors.write(tensors, metadata: meta("adamw", extra), to: url)
    }

    public static func loadOptimizers(_ opts: inout [String: AdamW], from url: URL) throws(ModelError) -> TrainingState {
        let file = try Safetensors.read(url)
        try checkFormat(file, kind: "adamw", source: url.lastPathComponent, required: true)
        func int(_ key: String) throws(ModelError) -> UInt64 {
            guard let s = file.metadata[key], let v = UInt64(s) else {
                throw ModelError(.format, "\(url.path): metadata '\(key)' missing or not an integer")
            }
            return v
        }
        for prefix in opts.keys.sorted() {
            guard let m = file.tensors[prefix + "exp_avg"], let v = file.tensors[prefix + "exp_avg_sq"] else {
                throw ModelError(.format, "\(url.path): optimizer state lacks \(prefix)exp_avg / \(prefix)exp_avg_sq")
            }
            var opt = opts[prefix]!
            guard m.count == opt.m.count, v.count == opt.v.count else {
                throw ModelError(.mismatch, "\(url.path): optimizer state '\(prefix)exp_avg' has \(m.count) slots, the parameters \(opt.m.count); it belongs to a different model")
            }
            opt.m.assign(m)
            opt.v.assign(v)
            opt.restore(step: Int(try int(prefix + "adamw.step")))
            opts[prefix] = opt
        }
        var rng = RNG(seed: try int("rng.seed"), stream: try int("rng.stream"))
        rng.counter = try int("rng.counter")
        return TrainingState(step: Int(try int("train.step")), rng: rng, threads: Int(try int("compute.threads")))
    }

    // MARK: helpers

    static func fill(_ params: ParameterSet, from tensors: [String: Tensor], source: String,
                     ignoring: (String) -> Bool) throws(ModelError) {
        var problems: [String] = []
        for (i, e) in params.entries.enumerated() {
            guard let t = tensors[e.name] else { problems.append("missing tensor '\(e.name)' \(e.shape)"); continue }
            guard t.shape == e.shape else {
                problems.append("tensor '\(e.name)' has shape \(t.shape), the model expects \(e.shape)")
                continue
            }
            params.value(i).assign(t)
        }
        let unexpected = tensors.keys.filter { params.index(of: $0) == nil && !ignoring($0) }.sorted()
        for name in unexpected { problems.append("unexpected tensor '\(name)' \(tensors[name]!.shape)") }
        if !problems.isEmpty {
            throw ModelError(.mismatch, "\(source) does not match config.json:\n  " + problems.joined(separator: "\n  "))
        }
    }

    static func checkFormat(_ file: Safetensors.File, kind: String, source: String, required: Bool) throws(ModelError) {
        guard let k = file.metadata["anneal.format"] else {
            if required { throw ModelError(.format, "\(source) was not written by Anneal (no anneal.format metadata)") }
            return  // a model from elsewhere (e.g. transformers): names and shapes decide
        }
        guard k == kind else { throw ModelError(.format, "\(source) holds '\(k)' data, expected '\(kind)'") }
        let v = file.metadata["anneal.format_version"] ?? "?"
        guard v == formatVersion else {
            throw ModelError(.format, "\(source) has format version \(v); this Anneal reads version \(formatVersion)")
        }
    }

    static func createDirectory(_ dir: URL) throws(ModelError) {
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw ModelError(.io, "cannot create \(dir.path): \(error.localizedDescription)")
        }
    }

    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws(ModelError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try (enc.encode(value) + Data("\n".utf8)).write(to: url, options: .atomic) } catch {
            throw ModelError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    static func readJSON<T: Decodable>(_ url: URL) throws(ModelError) -> T {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ModelError(.format, "\(url.path): \(error)")
        }
    }
}
