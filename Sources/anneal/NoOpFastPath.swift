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
        .map([
            "run": .string(summary.runID), "status": .string("ok"), "pipeline": .string(pipeline),
            "lockfile": summary.lockfile.map(Value.string) ?? .null,
            "stats": .map(["files_hashed": .int(0), "ran": .int(0), "cached": .int(memo.stages.count)]),
            "stages": .list(memo.stages.map { s in
                .map([
                    "name": .string(s.name), "status": .string("cached"), "reasons": .list([]), "seconds": .double(0),
                    "outputs": .map(s.outputs.mapValues { .string($0.digest) }), "metrics": .map(s.metrics.mapValues(Value.double)),
                    "key": .string(s.key),
                ])
            }),
        ])
    }

    /// The summary files of the memo's stages, as `Run.printSummaries` prints them.
    static func printSummaries(_ memo: NoOpMemo) {
        for s in memo.summaries {
            guard let text = try? String(contentsOfFile: s.path, encoding: .utf8) else {
                printError("warning: stage '\(s.stage)' names \(s.file) as its summary, but \(s.path) cannot be read")
                continue
            }
            print("\n== \(s.stage): \(s.file) ==\n" + text, terminator: text.hasSuffix("\n") ? "" : "\n")
        }
    }
}
