import AnnealEngine
import AnnealPipeline
import Foundation

/// `run` and `status` when nothing changed since the last full run (`NoOpMemo`): every stage
/// reported cached (fresh) after `stat` calls, without parsing the pipeline.
enum NoOpFastPath {
    static func identity(_ pipeline: PipelineOptions, store: ContentStore) -> String {
        NoOpMemo.identity(workspace: Workspace.root, pipeline: pipeline.file, overrides: pipeline.overrides, cache: store.root)
    }

    /// The memo of `pipeline`, if there is one and it holds for the files as they are now.
    static func memo(_ pipeline: PipelineOptions, store: ContentStore, executorOption: String?) -> NoOpMemo? {
        guard let memo = NoOpMemo.load(store: store, identity: identity(pipeline, store: store)) else { return nil }
        return holds(memo, pipeline: pipeline, store: store, executorOption: executorOption) ? memo : nil
    }

    static func holds(_ memo: NoOpMemo, pipeline: PipelineOptions, store: ContentStore, executorOption: String?) -> Bool {
        guard let now = NoOpMemo.now(pipelineFile: pipeline.file, lockFile: Lockfile.path(forPipeline: pipeline.file),
                                     fingerprint: Workspace.computeFingerprint.canonicalJSON, executorOption: executorOption,
                                     workspace: Workspace.root) else { return false }
        return memo.holds(now, store: store)
    }

    /// `Run.json` of a run in which every stage was cached, from the memo.
    static func runJSON(_ memo: NoOpMemo, summary: RunSummary, pipeline: String) -> Value {
        Run.json(summary, pipeline: pipeline, stages: memo.stages.map { s in
            Run.stageJSON(name: s.name, status: .cached, reasons: [], seconds: 0, outputs: s.outputs, metrics: s.metrics,
                          key: s.key, error: nil)
        })
    }

    /// The summary files of the memo's stages, as `Run.printSummaries` prints them.
    static func printSummaries(_ memo: NoOpMemo) {
        for s in memo.summaries { Run.printSummary(of: s.stage, file: s.file, path: s.path) }
    }
}
