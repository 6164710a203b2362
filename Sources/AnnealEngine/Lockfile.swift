import AnnealPipeline
import Foundation

/// `<pipeline>.lock`: the facts of the last successful execution of every stage, in YAML,
/// sorted, so a diff between two commits reads as "what changed". Values are written as
/// JSON flow collections and double-quoted strings, both valid YAML, so the file round-trips
/// exactly through the same parser that reads pipelines.
public struct Lockfile: Sendable {
    public static let schemaVersion = 1

    public var tool: String
    public var compute: Value
    public var pipeline: String
    public var name: String
    public var stages: [String: StageFacts]
    /// The `--set` overrides of the run that wrote the lock, in order: `repro` applies them,
    /// so the lockfile alone reproduces its run.
    public var overrides: [String]

    public init(tool: String, compute: Value, pipeline: String, name: String, stages: [String: StageFacts], overrides: [String] = []) {
        self.tool = tool
        self.compute = compute
        self.pipeline = pipeline
        self.name = name
        self.stages = stages
        self.overrides = overrides
    }

    /// `DIR/NAME.yaml` → `DIR/NAME.lock`.
    public static func path(forPipeline p: String) -> String {
        let ext = (p as NSString).pathExtension
        return (ext == "yaml" || ext == "yml" ? (p as NSString).deletingPathExtension : p) + ".lock"
    }

    public func encoded() -> String { String(decoding: encodedBytes(), as: UTF8.self) }

    /// The file's bytes, built as bytes: a no-op run encodes the whole lock to compare it with
    /// the file, so no `String` is made per field.
    public func encodedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(600 * stages.count + 600)
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func json(_ v: Value) { out.append(contentsOf: v.canonicalJSONBytes) }
        func quoted(_ s: String) { put(Value.jsonQuoted(s)) }
        put("# Written by anneal after every stage; commit it. `anneal repro` rebuilds from it.\n")
        put("schema: \(Self.schemaVersion)\n")
        put("tool: "); quoted(tool)
        put("\ncompute: "); json(compute)
        put("\npipeline: "); quoted(pipeline)
        put("\nname: "); quoted(name)
        put("\n")
        if !overrides.isEmpty { put("overrides: "); json(.list(overrides.map(Value.string))); put("\n") }
        put(stages.isEmpty ? "stages: {}\n" : "stages:\n")
        for name in stages.keys.sorted() {
            let f = stages[name]!
            put("  "); quoted(name); put(":\n")
            put("    kind: "); quoted(f.kind)
            put("\n    version: "); quoted(f.version)
            put("\n    key: "); quoted(f.key)
            put("\n")
            if let seed = f.seed { put("    seed: \(seed)\n") }
            if let c = f.command { put("    command: "); quoted(c); put("\n") }
            if let p = f.plugin { put("    plugin: "); quoted(p); put("\n") }
            put("    params: "); json(f.params)
            put("\n    referenced: "); json(.map(f.referenced))
            put("\n    outputs_declared: "); json(.list(f.outputNames.map(Value.string)))
            put("\n")
            Self.facts("inputs", f.inputs, into: &out)
            Self.facts("outputs", f.outputs, into: &out)
        }
        return out
    }

    static func facts(_ title: String, _ m: [String: OutputFact], into out: inout [UInt8]) {
        if m.isEmpty { out.append(contentsOf: "    \(title): {}\n".utf8); return }
        out.append(contentsOf: "    \(title):\n".utf8)
        for k in m.keys.sorted() {
            out.append(contentsOf: "      \(Value.jsonQuoted(k)): ".utf8)
            out.append(contentsOf: m[k]!.value.canonicalJSONBytes)
            out.append(0x0A)
        }
    }

    public func write(to path: String) throws(StoreError) { try writeAtomically(encodedBytes(), to: path) }

    /// `verifyKeys` re-derives every stage's key from its facts and rejects a lockfile whose
    /// recorded keys disagree (a hand edit). `repro` and `--locked` rely on the keys, so they
    /// verify; `status` and `run` only read facts for reasons and skip the cost.
    public static func read(_ path: String, verifyKeys: Bool = true) throws(StoreError) -> Lockfile {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read the lockfile \(path)") }
        return try parse(Array(data), path: path, verifyKeys: verifyKeys)
    }

    /// The lockfile whose bytes are `bytes`, read from `path` (named in errors).
    static func parse(_ bytes: [UInt8], path: String, verifyKeys: Bool) throws(StoreError) -> Lockfile {
        let parsed = YAMLParser(file: path, maxDepth: Limits.lockfileDepth).parse(bytes: bytes)
        guard let root = parsed.root, parsed.diagnostics.isEmpty else {
            throw .lockfile("\(path) is not a valid lockfile: \(parsed.diagnostics.first?.description ?? "empty")")
        }
        let v = root.value
        guard let schema = v["schema"]?.intValue else { throw .lockfile("\(path): missing 'schema'; is this an anneal lockfile?") }
        guard schema == schemaVersion else {
            throw .lockfile("\(path) has lockfile schema \(schema); this anneal reads schema \(schemaVersion) (rerun `anneal run` to rewrite it)")
        }
        var stages: [String: StageFacts] = [:]
        for (name, s) in v["stages"]?.mapValue ?? [:] {
            func facts(_ k: String) throws(StoreError) -> [String: OutputFact] {
                var out: [String: OutputFact] = [:]
                for (item, v) in s[k]?.mapValue ?? [:] {
                    guard let fact = OutputFact(v) else {
                        throw .lockfile("\(path): stage '\(name)' \(k.dropLast()) '\(item)' has no valid digest (64 lowercase hex digits) and size; restore the lockfile from version control or rerun `anneal run` to rewrite it")
                    }
                    out[item] = fact
                }
                return out
            }
            guard let kind = s["kind"]?.stringValue, let version = s["version"]?.stringValue else {
                throw .lockfile("\(path): stage '\(name)' lacks kind or version")
            }
            var f = StageFacts(kind: kind, version: version, command: s["command"]?.stringValue, plugin: s["plugin"]?.stringValue,
                               seed: s["seed"]?.intValue, params: s["params"] ?? .map([:]),
                               referenced: s["referenced"]?.mapValue ?? [:], inputs: try facts("inputs"),
                               outputNames: (s["outputs_declared"]?.listValue ?? []).compactMap(\.stringValue))
            f.outputs = try facts("outputs")
            if verifyKeys, let key = s["key"]?.stringValue, key != f.key {
                throw .lockfile("\(path): stage '\(name)' records key \(key.prefix(12)) but its facts hash to \(f.key.prefix(12)); the lockfile was edited by hand or written by another key format")
            }
            stages[name] = f
        }
        return Lockfile(tool: v["tool"]?.stringValue ?? "", compute: v["compute"] ?? .map([:]),
                        pipeline: v["pipeline"]?.stringValue ?? "", name: v["name"]?.stringValue ?? "", stages: stages,
                        overrides: (v["overrides"]?.listValue ?? []).compactMap(\.stringValue))
    }
}
