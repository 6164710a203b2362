import Foundation

extension NoOpMemo {
    /// Records and reports a run in which every stage is cached, as `Runner.run` would have:
    /// the run row with its parameters, one `cached` execution per stage (so `log`, `metrics
    /// --run` and `gc` see the run as they see any other), a line per stage.
    /// `lockPath` is the lockfile as the summary names it (the memo keeps its absolute path).
    public func recordRun(ledger: Ledger, reporter: any RunReporter, runID: String = makeRunID(), pipeline: String,
                          lockPath: String, command: String) throws(StoreError) -> RunSummary {
        let results = stages.map { StageResult(name: $0.name, status: .cached, reasons: []) }
        reporter.report(batch: results.map(RunEvent.finished))
        try ledger.recordCachedRun(id: runID, pipeline: pipeline, command: command, params: params,
                                   stages: stages.map { ($0.name, $0.key) }, lockfile: lockfile)
        return RunSummary(runID: runID, status: "ok", stages: results, lockfile: lockPath)
    }
}
