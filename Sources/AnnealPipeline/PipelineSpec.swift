/// A validated pipeline: every reference resolved, every parameter typed and defaulted,
/// `${seed}` and `${params.*}` interpolated. `${inputs.*}` and `${outputs.*}` stay in
/// commands until execution, where they become paths.
public struct PipelineSpec: Sendable {
    public var file: String
    public var name: String
    public var seed: Int
    public var params: Value
    /// In the order the file lists them.
    public var stages: [StageSpec]
    /// `executor:` of the file (`local` or `slurm`); nil when it names none. `--executor` wins.
    public var executor: String?

    public func stage(named name: String) -> StageSpec? { stages.first { $0.name == name } }
}

public struct StageSpec: Sendable {
    public enum Action: Sendable, Equatable {
        /// A stage kind from the catalog (built-in or a plugin in `stages/`).
        case uses(String)
        /// An inline shell command: `${seed}`, `${name}` and `${params.…}` are written in, quoted
        /// for where they stand; `${inputs.…}`, `${outputs.…}` and `$${` are left for
        /// `CommandTemplate.expand` at launch.
        case command(String)
    }

    public var name: String
    public var action: Action
    public var inputs: [InputSpec]
    public var outputs: [String]
    /// The resolved `with:` block, defaults filled in.
    public var params: Value
    /// Pipeline-level values (`seed`, `params.x`) the stage's command or parameters refer to,
    /// so `status` can say "param params.n: 5 → 6" for a command stage.
    public var referencedParams: [String: Value]
    public var seed: Int
    public var threads: Int
    /// Processes the stage runs as (`tasks:`, data-parallel training): `mpirun -n N` locally,
    /// `srun` on Slurm, each with `threads` cores. Not part of the action key (docs/decisions.md).
    public var tasks = 1
    public var mark: SourceMark
    /// `resources:` for the Slurm executor; not part of the action key.
    public var resources = StageResources()
    /// Whether the stage can see its seed. A command stage that neither uses `${seed}` nor sets
    /// `seed:` cannot: its action key leaves the seed out, so changing the pipeline's seed
    /// does not rerun it (and it gets no `ANNEAL_SEED`). Stage kinds always can.
    public var readsSeed = true
    /// Set for a variant of a `matrix:` sweep (or a stage expanded along one).
    public var variant: StageVariant?

    public var kindName: String {
        switch action {
        case .uses(let name): name
        case .command: "run"
        }
    }

    /// The stages this one reads from, each once, in the order of its inputs.
    public var upstreamStages: [String] {
        var out: [String] = []
        // A join of thousands of inputs must not compare each name with all before it.
        var seen = Set<String>(minimumCapacity: inputs.count > 8 ? inputs.count : 0)
        for input in inputs {
            guard case .stage(let s, _) = input.source else { continue }
            if inputs.count > 8 ? seen.insert(s).inserted : !out.contains(s) { out.append(s) }
        }
        return out
    }
}

public struct InputSpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case stage(String, output: String)
        /// A path relative to the workspace root: a file or a directory.
        case file(String)
    }

    public var name: String
    public var source: Source
    public var mark: SourceMark
    /// For a member of a list input (`models: sft.model[*]`, members `models[0]`, `models[1]`,
    /// …): the list's name.
    public var list: String?

    public init(name: String, source: Source, mark: SourceMark, list: String? = nil) {
        self.name = name
        self.source = source
        self.mark = mark
        self.list = list
    }

    public var sourceDescription: String {
        switch source {
        case .stage(let s, let o): "\(s).\(o)"
        case .file(let p): p
        }
    }
}
