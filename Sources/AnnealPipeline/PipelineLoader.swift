import Foundation

/// Turns a pipeline file into a `PipelineSpec`, or into every problem the file has.
///
/// Nothing runs until the whole file is valid, so the loader never stops at the first
/// problem: each check adds to `diagnostics` and the spec is returned only if none did.
public struct PipelineLoader: Sendable {
    public var catalog: any StageCatalog
    /// Absolute path of the workspace root: `{file: …}` inputs are relative to it and may not
    /// leave it.
    public var workspace: String

    public init(catalog: any StageCatalog, workspace: String) {
        self.catalog = catalog
        self.workspace = workspace
    }

    static let topKeys = ["name", "seed", "params", "stages", "description", "executor"]
    static let stageKeys = ["uses", "run", "inputs", "outputs", "with", "threads", "tasks", "seed", "description", "resources", "matrix"]

    public func load(file: String, overrides: [String] = []) throws(PipelineErrors) -> PipelineSpec {
        let mark = SourceMark(file: file, line: 0, column: 0)
        guard let data = FileManager.default.contents(atPath: file) else {
            let exists = FileManager.default.fileExists(atPath: file)
            throw PipelineErrors([Diagnostic(mark, exists ? "cannot read the pipeline file" : "no such pipeline file",
                                             hint: exists ? nil : "give a path, or run from a workspace with pipelines/tinychat.yaml")])
        }
        return try load(bytes: Array(data), file: file, overrides: overrides)
    }

    /// The pipeline in `bytes`, read from `file` by the caller (which may hash what it read).
    public func load(bytes: [UInt8], file: String, overrides: [String] = []) throws(PipelineErrors) -> PipelineSpec {
        if let problem = TextCheck.firstProblem(in: bytes, file: file) {
            throw PipelineErrors([problem], sources: [file: String(decoding: bytes, as: UTF8.self)])
        }
        return try load(text: String(decoding: bytes, as: UTF8.self), file: file, overrides: overrides)
    }

    public func load(text: String, file: String, overrides: [String] = []) throws(PipelineErrors) -> PipelineSpec {
        var context = LoadContext(file: file, loader: self)
        let spec = context.load(text: text, overrides: overrides)
        if let spec, context.diagnostics.isEmpty { return spec }
        // A problem in a swept stage's `with:` is found once per variant; report it once.
        var seen = Set<Diagnostic>()
        throw PipelineErrors(context.diagnostics.filter { seen.insert($0).inserted }, sources: [file: text])
    }
}

/// The state of one load: the diagnostics found so far.
struct LoadContext {
    let file: String
    let loader: PipelineLoader
    var diagnostics: [Diagnostic] = []

    init(file: String, loader: PipelineLoader) {
        self.file = file
        self.loader = loader
    }

    mutating func error(_ mark: SourceMark, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(mark, message, hint: hint))
    }

    mutating func load(text: String, overrides: [String]) -> PipelineSpec? {
        let parsed = YAMLParser(file: file).parse(text)
        diagnostics += parsed.diagnostics
        guard var root = parsed.root else {
            if parsed.diagnostics.isEmpty { error(SourceMark(file: file, line: 1, column: 1), "the pipeline file is empty") }
            return nil
        }
        for o in overrides { root = applyOverride(o, to: root) }
        guard let pairs = root.pairs else {
            error(root.mark, "a pipeline file is a mapping with 'name' and 'stages', found \(root.kindName)")
            return nil
        }
        checkKeys(pairs, allowed: PipelineLoader.topKeys, what: "top-level key")

        var name = ""
        if let n = root["name"] {
            if let s = n.scalar, !s.isEmpty { name = s } else { error(n.mark, "'name' must be a non-empty string") }
        } else {
            error(root.mark, "missing required key 'name'")
        }
        var seed = 0
        if let s = root["seed"], let v = self.seed(s) { seed = v }
        var params = Value.map([:])
        if let p = root["params"] {
            if p.pairs == nil { error(p.mark, "'params' must be a mapping, found \(p.kindName)") } else { params = p.value }
        }
        guard let stagesNode = root["stages"] else {
            error(root.mark, "missing required key 'stages'")
            return nil
        }
        guard let stagePairs = stagesNode.pairs else {
            error(stagesNode.mark, "'stages' must be a mapping of stage names to stages, found \(stagesNode.kindName)")
            return nil
        }
        if stagePairs.isEmpty { error(stagesNode.mark, "'stages' is empty; a pipeline needs at least one stage") }

        let executor = root["executor"].flatMap { self.executor($0) }
        let globals = Globals(name: name, seed: seed, params: params)
        var drafts: [StageDraft] = []
        var matrices: [String: YAMLNode] = [:]
        for pair in stagePairs {
            let stageName = pair.key.scalar ?? ""
            if !isIdentifier(stageName) {
                error(pair.key.mark, "stage name '\(stageName)' must start with a letter and hold only letters, digits, '_' and '-'")
            }
            if let d = draft(stageName, pair.value, globals: globals) { drafts.append(d) }
            if let m = pair.value["matrix"] { matrices[stageName] = m }
        }
        drafts = expandMatrices(drafts, matrices: matrices, globals: globals)
        checkReferences(drafts)
        let stages = drafts.map { finish($0, drafts: drafts, globals: globals) }
        checkParamRelations(stages, drafts: drafts)
        for cycle in PipelineGraph.findCycles(stages) {
            let first = stages.first { $0.name == cycle[0] }!
            error(first.mark, "dependency cycle: \(cycle.joined(separator: " -> "))")
        }
        return PipelineSpec(file: file, name: name, seed: seed, params: params, stages: stages, executor: executor)
    }

    mutating func checkKeys(_ pairs: [YAMLNode.Pair], allowed: [String], what: String, of owner: String = "") {
        for p in pairs {
            guard let key = p.key.scalar, !allowed.contains(key) else { continue }
            error(p.key.mark, "unknown \(what) '\(key)'\(owner)", hint: didYouMean(key, allowed))
        }
    }
}

/// Names of stages, inputs and outputs: they become directory names and environment variables.
public func isIdentifier(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "_" else { return false }
    return s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
}
