import AnnealPipeline
import Foundation

/// A stage kind the runner can execute: built into the `anneal` binary (run as
/// `anneal exec-stage KIND`) or a plugin directory in `stages/` with its own command.
public struct StageKind: Sendable {
    public enum Launch: Sendable {
        case builtin
        /// `command` may use `${plugin}`, `${inputs.NAME}` and `${outputs.NAME}`; `digest` is the
        /// plugin directory's tree digest, part of every action key of the kind.
        case plugin(directory: String, command: String, digest: String)
    }

    public var schema: StageSchema
    public var launch: Launch

    public init(schema: StageSchema, launch: Launch) {
        self.schema = schema
        self.launch = launch
    }
}

/// Every stage kind a pipeline may `use`: the built-ins, then the plugins in `stages/`.
public struct StageRegistry: StageCatalog {
    public var kinds: [String: StageKind] = [:]
    /// Plugins whose manifest is invalid, with the manifest's own diagnostics.
    public var broken: [String: [Diagnostic]] = [:]
    public var sources: [String: String] = [:]

    /// `pluginsDirectory` is absolute; diagnostics name manifests relative to `workspace`.
    public init(builtins: [StageSchema] = [], pluginsDirectory: String?, workspace: String? = nil) {
        for s in builtins { kinds[s.name] = StageKind(schema: s, launch: .builtin) }
        guard let dir = pluginsDirectory else { return }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        for name in names where FileManager.default.fileExists(atPath: "\(dir)/\(name)/stage.yaml") {
            let absolute = "\(dir)/\(name)/stage.yaml"
            let path = workspace.map { absolute.hasPrefix($0 + "/") ? String(absolute.dropFirst($0.count + 1)) : absolute } ?? absolute
            let bytes = Array(FileManager.default.contents(atPath: absolute) ?? Data())
            let text = String(decoding: bytes, as: UTF8.self)
            sources[path] = text
            if let problem = YAMLParser(file: path).encodingProblem(bytes) {
                broken[name] = [problem]
                continue
            }
            switch PluginManifest.parse(text, file: path, directoryName: name) {
            case .success(let m):
                if kinds[m.schema.name] != nil {
                    broken[name] = [Diagnostic(SourceMark(file: path, line: 1, column: 1),
                                               "plugin '\(name)' has the name of a built-in stage kind; rename its directory")]
                    continue
                }
                let digest = (try? Digest.ofTree("\(dir)/\(name)").digest) ?? ""
                kinds[m.schema.name] = StageKind(schema: m.schema, launch: .plugin(directory: "\(dir)/\(name)", command: m.command, digest: digest))
            case .failure(let errors):
                broken[name] = errors.diagnostics
            }
        }
    }

    public func schema(named name: String) -> StageSchema? { kinds[name]?.schema }
    public var stageNames: [String] { Array(kinds.keys) }
    public func problems(for name: String) -> [Diagnostic] { broken[name] ?? [] }
}

/// `stages/NAME/stage.yaml`: what a plugin declares.
///
/// ```yaml
/// version: 2
/// summary: Counts words
/// command: python3 ${plugin}/count.py ${inputs.docs} ${outputs.counts}
/// threads: 1
/// inputs: [docs]
/// optional_inputs: []
/// outputs: [counts]
/// headline: [words]          # metrics the finished-stage line shows (default: the last reported)
/// params:
///   min_len: {type: int, default: 1, summary: shortest word counted}
///   mode: {type: string, default: words, allowed: [words, chars]}
/// ```
public struct PluginManifest: Sendable {
    public var schema: StageSchema
    public var command: String

    static let keys = ["name", "version", "summary", "command", "threads", "inputs", "optional_inputs", "outputs", "params", "headline"]
    static let paramKeys = ["type", "default", "required", "allowed", "summary", "fields"]

    public static func parse(_ text: String, file: String, directoryName: String) -> Result<PluginManifest, PipelineErrors> {
        let parsed = YAMLParser(file: file).parse(text)
        var diags = parsed.diagnostics
        guard let root = parsed.root, root.pairs != nil else {
            if diags.isEmpty { diags.append(Diagnostic(SourceMark(file: file, line: 1, column: 1), "a stage manifest is a mapping")) }
            return .failure(PipelineErrors(diags, sources: [file: text]))
        }
        for p in root.pairs! {
            if let k = p.key.scalar, !keys.contains(k) {
                diags.append(Diagnostic(p.key.mark, "unknown manifest key '\(k)'", hint: closestMatch(to: k, in: keys).map { "did you mean '\($0)'?" }))
            }
        }
        func names(_ key: String) -> [String] {
            guard let n = root[key] else { return [] }
            guard let items = n.items, items.allSatisfy({ $0.scalar != nil }) else {
                diags.append(Diagnostic(n.mark, "'\(key)' must be a list of names"))
                return []
            }
            return items.compactMap(\.scalar)
        }
        let name = root["name"]?.scalar ?? directoryName
        let version = root["version"]?.value.displayString ?? ""
        if version.isEmpty { diags.append(Diagnostic(root.mark, "missing required key 'version' (bump it when the stage's behaviour changes)")) }
        let command = root["command"]?.scalar ?? ""
        if command.isEmpty { diags.append(Diagnostic(root.mark, "missing required key 'command'")) }
        let outputs = names("outputs")
        // Each output becomes a directory named after it: `../../x` would move the user's files.
        for item in root["outputs"]?.items ?? [] where !(item.scalar.map(isIdentifier) ?? true) {
            diags.append(Diagnostic(item.mark, "invalid output name '\(item.scalar ?? "")': output names must start with a letter and hold only letters, digits, '_' and '-'"))
        }
        if outputs.isEmpty { diags.append(Diagnostic(root["outputs"]?.mark ?? root.mark, "a stage declares at least one output in 'outputs'")) }
        var threads = 1
        if let t = root["threads"] {
            switch Limits.threads(of: t) {
            case .success(let n): threads = n
            case .failure(let d): diags.append(d)
            }
        }
        let params = paramSpecs(root["params"], diags: &diags)
        let headline = names("headline")
        if !diags.isEmpty { return .failure(PipelineErrors(diags, sources: [file: text])) }
        var schema = StageSchema(name: name, version: version, summary: root["summary"]?.scalar ?? "", inputs: names("inputs"),
                                 optionalInputs: names("optional_inputs"), outputs: outputs, params: params, threads: threads)
        schema.headline = headline
        return .success(PluginManifest(schema: schema, command: command))
    }

    static func paramSpecs(_ node: YAMLNode?, diags: inout [Diagnostic]) -> [ParamSpec] {
        guard let node else { return [] }
        guard let pairs = node.pairs else {
            diags.append(Diagnostic(node.mark, "'params' must map parameter names to {type, default, …}"))
            return []
        }
        var out: [ParamSpec] = []
        for p in pairs {
            let name = p.key.scalar ?? ""
            guard p.value.pairs != nil else {
                diags.append(Diagnostic(p.value.mark, "parameter '\(name)' must be a mapping like {type: int, default: 1}"))
                continue
            }
            for q in p.value.pairs! {
                if let k = q.key.scalar, !paramKeys.contains(k) {
                    diags.append(Diagnostic(q.key.mark, "unknown key '\(k)' in parameter '\(name)'", hint: closestMatch(to: k, in: paramKeys).map { "did you mean '\($0)'?" }))
                }
            }
            let typeName = p.value["type"]?.scalar ?? "any"
            guard let kind = ParamSpec.Kind(rawValue: typeName) else {
                diags.append(Diagnostic(p.value["type"]!.mark, "unknown parameter type '\(typeName)'",
                                        hint: "types: \(ParamSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            let fields = p.value["fields"].map { paramSpecs($0, diags: &diags) }
            out.append(ParamSpec(name, kind, default: p.value["default"]?.value, required: p.value["required"]?.value.boolValue ?? false,
                                 allowed: p.value["allowed"]?.items?.compactMap(\.scalar), fields: fields,
                                 summary: p.value["summary"]?.scalar ?? ""))
        }
        return out
    }
}
