import AnnealPipeline
import Foundation

/// `run --locked`: every selected stage is checked against the lockfile before any runs, and
/// every difference is reported at once (a CI job learns all it must fix from one failure).
extension Runner {
    /// The results that refuse the run, or nil when every selected stage matches the lock.
    /// A stage matching the lock is assumed to produce the lock's outputs, so the inputs of
    /// the stages after it are known without running anything.
    func lockedRefusal(order: [StageSpec], selected: Set<String>) -> [StageResult]? {
        var outputs: [String: [String: OutputFact]] = [:]
        var differences: [String: [String]] = [:]
        var differingUpstream: [String: String] = [:]
        for stage in order where selected.contains(stage.name) {
            let inputs: (known: [String: OutputFact], unknown: [String: String])
            do { inputs = try project.inputFacts(of: stage, upstream: outputs, stats: stats) } catch {
                differences[stage.name] = [error.description]
                continue
            }
            guard let old = lock?.stages[stage.name] else {
                differences[stage.name] = ["not in the lockfile"]
                continue
            }
            let facts = StageFacts(stage: stage, kind: project.kind(of: stage), inputs: inputs.known)
            if inputs.unknown.isEmpty, facts.key == old.key {
                outputs[stage.name] = old.outputs
                continue
            }
            // Inputs from a differing upstream are that upstream's difference, not this stage's.
            let own = facts.reasons(comparedTo: old, unknownInputs: inputs.unknown)
                .filter { r in !inputs.unknown.keys.contains { r.hasPrefix("input \($0): upstream ") } }
            if !own.isEmpty {
                differences[stage.name] = own
            } else if let upstream = inputs.unknown.values.sorted().first {
                differingUpstream[stage.name] = upstream
            } else {
                differences[stage.name] = ["key \(facts.key.prefix(12)) ≠ \(old.key.prefix(12))"]
            }
        }
        guard !differences.isEmpty else { return nil }
        return order.filter { selected.contains($0.name) }.map { stage in
            if let why = differences[stage.name] {
                return StageResult(name: stage.name, status: .failed, reasons: why,
                                   error: "--locked: stage '\(stage.name)' differs from \(project.lockPath): \(why.joined(separator: "; "))")
            }
            let why = differingUpstream[stage.name].map { "upstream \($0) differs from the lockfile" }
                ?? "not run: --locked found differences in other stages"
            return StageResult(name: stage.name, status: .skipped, reasons: [why])
        }
    }
}
