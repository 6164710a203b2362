import AnnealPipeline
import Foundation

/// Whether a stage would run, and why.
public struct StageStatus: Sendable {
    public var name: String
    public var isFresh: Bool
    public var reasons: [String]
    /// Known when every input's digest is known (its upstream stages are fresh).
    public var facts: StageFacts?
    public var entry: ActionEntry?
}

/// Decides fresh or stale for every stage without running anything: a stage is fresh when
/// its action key is in the action cache with all output objects present. Reasons come from
/// comparing the stage's facts now with its lockfile entry, cheapest check first.
public struct Planner {
    public let project: Project
    let actions: ActionCache
    let stats: StatCache

    public init(project: Project, stats: StatCache) {
        self.project = project
        self.actions = ActionCache(store: project.store)
        self.stats = stats
    }

    /// `only` and `force` mean what they mean to `run`: the statuses of the selected stages
    /// (and what they depend on), with forced ones stale for the reason `forced`.
    public func status(lock: Lockfile?, only: Set<String>? = nil, force: Set<String> = []) -> [StageStatus] {
        status(lockfile: { lock }, only: only, force: force)
    }

    /// The same, parsing the lockfile only if a stage is stale (its reasons need the old facts).
    public func status(lock: LockSnapshot, only: Set<String>? = nil, force: Set<String> = []) -> [StageStatus] {
        status(lockfile: { lock.lockfile }, only: only, force: force)
    }

    func status(lockfile lock: () -> Lockfile?, only: Set<String>?, force: Set<String>) -> [StageStatus] {
        var outputs: [String: [String: OutputFact]] = [:]
        var out: [StageStatus] = []
        let selected = only.map { PipelineGraph.closure(of: $0, in: project.spec.stages) }
        for stage in project.ordered where selected?.contains(stage.name) ?? true {
            let kind = project.kind(of: stage)
            let inputs: (known: [String: OutputFact], unknown: [String: String])
            do { inputs = try project.inputFacts(of: stage, upstream: outputs, stats: stats) } catch {
                out.append(StageStatus(name: stage.name, isFresh: false, reasons: [error.description]))
                continue
            }
            let facts = StageFacts(stage: stage, kind: kind, inputs: inputs.known)
            if inputs.unknown.isEmpty, let entry = actions.lookup(facts.key) {
                outputs[stage.name] = entry.outputs
                var f = facts
                f.outputs = entry.outputs
                let forced = force.contains(stage.name)
                out.append(StageStatus(name: stage.name, isFresh: !forced, reasons: forced ? [Self.forced] : [], facts: f, entry: entry))
                continue
            }
            let reasons = Self.reasons(facts, unknown: inputs.unknown, old: lock()?.stages[stage.name])
            out.append(StageStatus(name: stage.name, isFresh: false,
                                   reasons: force.contains(stage.name) ? [Self.forced] + reasons : reasons,
                                   facts: inputs.unknown.isEmpty ? facts : nil))
        }
        return out
    }

    /// The reason of a stage run because `--force` named it.
    public static let forced = "forced"

    static func reasons(_ facts: StageFacts, unknown: [String: String], old: StageFacts?) -> [String] {
        guard let old else {
            if !unknown.isEmpty { return ["never run"] + unknown.keys.sorted().map { "input \($0): upstream \(unknown[$0]!) is stale" } }
            return ["never run"]
        }
        let r = facts.reasons(comparedTo: old, unknownInputs: unknown)
        if !r.isEmpty { return r }
        return ["outputs not in the cache (collected, quarantined, or a new cache directory)"]
    }
}
