import AnnealPipeline
import Foundation

/// Everything a command needs to work on one pipeline against one cache.
public struct Project: Sendable {
    public var spec: PipelineSpec
    public var registry: StageRegistry
    public var store: ContentStore
    /// Absolute path of the workspace root (`{file: …}` inputs, command stages' directory).
    public var workspace: String
    /// The pipeline file as the user named it; recorded in the lockfile.
    public var pipelinePath: String
    public var lockPath: String
    /// argv prefix that runs a built-in stage kind: `[anneal, "exec-stage"]`; the kind is appended.
    public var builtinLauncher: [String]
    /// Recorded in the lockfile: what the bytes of numeric stages depend on besides the inputs.
    public var computeFingerprint: Value
    public var toolVersion: String
    /// The `--set` overrides the spec was loaded with; recorded in the lockfile.
    public var overrides: [String] = []
    /// Where Swift plugins are built (`SwiftPluginBuild`): outside the objects, never hashed.
    /// `repro` points it at the user's cache, so rebuilding the results does not recompile.
    public var pluginBuilds: String?
    /// Digest of the pipeline file's bytes as loaded, when known: a `NoOpMemo` is valid only
    /// for these bytes.
    public var pipelineDigest: String?
    public var pluginBuildDirectory: String { pluginBuilds ?? store.root + "/plugins-build" }

    public init(spec: PipelineSpec, registry: StageRegistry, store: ContentStore, workspace: String, pipelinePath: String,
                lockPath: String, builtinLauncher: [String], computeFingerprint: Value, toolVersion: String) {
        self.spec = spec
        self.registry = registry
        self.store = store
        self.workspace = workspace
        self.pipelinePath = pipelinePath
        self.lockPath = lockPath
        self.builtinLauncher = builtinLauncher
        self.computeFingerprint = computeFingerprint
        self.toolVersion = toolVersion
    }

    public var ordered: [StageSpec] { PipelineGraph.topologicalOrder(spec.stages) }

    /// The summary file the stage's kind names (`StageSchema.summaryFile`, `OUTPUT/PATH`, eval's
    /// `report/summary.md`) and where its bytes are among `outputs`; nil when it names none.
    public func summary(of stage: StageSpec, outputs: [String: OutputFact]) -> (file: String, path: String)? {
        guard let file = kind(of: stage)?.schema.summaryFile, let slash = file.firstIndex(of: "/"),
              let digest = outputs[String(file[..<slash])]?.digest else { return nil }
        return (file, store.objectPath(digest) + "/" + file[file.index(after: slash)...])
    }

    public func kind(of stage: StageSpec) -> StageKind? {
        if case .uses(let k) = stage.action { return registry.kinds[k] }
        return nil
    }

    public func absolute(_ workspacePath: String) -> String {
        URL(fileURLWithPath: workspacePath, relativeTo: URL(fileURLWithPath: workspace + "/")).standardizedFileURL.path
    }

    /// Input digests of `stage` given its upstream stages' outputs. Inputs whose upstream has
    /// no known outputs yet are returned in `unknown` (input name → upstream stage).
    func inputFacts(of stage: StageSpec, upstream: [String: [String: OutputFact]], stats: StatCache)
        throws(StoreError) -> (known: [String: OutputFact], unknown: [String: String]) {
        var known: [String: OutputFact] = [:]
        var unknown: [String: String] = [:]
        lazy var root = realWorkspace  // only stages with file inputs pay for the realpath
        for input in stage.inputs {
            switch input.source {
            case .file(let p):
                let path = absolute(p, root: root)
                guard FileManager.default.fileExists(atPath: path) else {
                    throw .io("input '\(input.name)' of stage '\(stage.name)': \(p) does not exist in the workspace")
                }
                let tree = InputTree(root: root, input: input.name, stage: stage.name) { p, st throws(StoreError) in try stats.fileDigest(p, st) }
                known[input.name] = try tree.fact(of: path, shown: p)
            case .stage(let s, let o):
                if let fact = upstream[s]?[o] { known[input.name] = fact } else { unknown[input.name] = s }
            }
        }
        return (known, unknown)
    }

    /// The workspace with every symlink resolved: what `{file:}` inputs must stay inside.
    var realWorkspace: String { WorkspaceLinks.realPath(workspace) ?? workspace }

    func absolute(_ workspacePath: String, root: String) -> String {
        URL(fileURLWithPath: workspacePath, relativeTo: URL(fileURLWithPath: root + "/")).standardizedFileURL.path
    }

    /// Fails if a symlink in a `{file:}` input of `stage` now leads outside the workspace:
    /// checked again just before the stage starts, because an earlier stage (or anyone) may
    /// have swapped one in after the input was hashed.
    func checkInputLinks(of stage: StageSpec) throws(StoreError) {
        lazy var root = realWorkspace
        for input in stage.inputs {
            guard case .file(let p) = input.source else { continue }
            if let e = WorkspaceLinks.firstEscape(under: absolute(p, root: root), shown: p, root: root) {
                throw .io(e.refusal(input: input.name, stage: stage.name))
            }
        }
    }

    /// Paths a stage process sees for its inputs.
    func inputPaths(of stage: StageSpec, facts: [String: OutputFact]) -> [String: String] {
        var out: [String: String] = [:]
        for input in stage.inputs {
            switch input.source {
            case .file(let p): out[input.name] = absolute(p)
            case .stage: out[input.name] = store.objectPath(facts[input.name]!.digest)
            }
        }
        return out
    }
}
