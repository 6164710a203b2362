import AnnealPipeline
import Foundation

extension Runner {
    /// The memo of a run that ended with every stage cached or committed, or nil when some
    /// part of the decision is not one a `stat` can recheck: a plugin stage (its directory's
    /// digest is in the key), an input that is a directory or a link, or one whose digest the
    /// stat cache would not trust (modified in the last two seconds).
    func makeNoOpMemo(identity: String, order: [StageSpec], results: [String: StageResult],
                      entryStates: [String: FileState], lockBytes: [UInt8]?, params: String) -> NoOpMemo? {
        guard options.writeLockfile, options.executor == .local, options.only == nil, options.force.isEmpty, !options.forceAll,
              let pipelineDigest = project.pipelineDigest,
              let executable = NoOpMemo.state(of: "/proc/self/exe", following: true) else { return nil }
        var inputs: [NoOpMemo.Input] = []
        var stages: [NoOpMemo.Stage] = []
        var summaries: [NoOpMemo.Summary] = []
        lazy var root = project.realWorkspace
        for stage in order {
            guard let r = results[stage.name], r.status == .ran || r.status == .cached, let facts = r.facts else { return nil }
            let kind = project.kind(of: stage)
            if case .plugin? = kind?.launch { return nil }
            for input in stage.inputs {
                guard case .file(let p) = input.source else { continue }
                let path = project.absolute(p, root: root)
                guard let state = stats.trustedState(of: path), NoOpMemo.state(of: path, following: false) == state else { return nil }
                inputs.append(NoOpMemo.Input(path: path, state: state))
            }
            // A stage this run committed: its entry was written under the cache lock this run holds.
            guard let entry = entryStates[stage.name] ?? NoOpMemo.state(of: actions.path(facts.key), following: false) else { return nil }
            stages.append(NoOpMemo.Stage(name: stage.name, key: facts.key, entry: entry, outputs: facts.outputs, metrics: r.metrics))
            if let s = project.summary(of: stage, outputs: facts.outputs) {
                summaries.append(NoOpMemo.Summary(stage: stage.name, file: s.file, path: s.path))
            }
        }
        return NoOpMemo(identity: identity, pipelineDigest: pipelineDigest, lockDigest: lockBytes.map { Digest.of($0) },
                        lockfile: project.absolute(project.lockPath), executable: executable,
                        fingerprint: project.computeFingerprint.canonicalJSON, executor: project.spec.executor, params: params,
                        inputs: inputs, stages: stages, summaries: summaries)
    }
}
