import Foundation

extension NoOpMemo {
    /// Records and reports a run in which every stage is cached, as `Runner.run` would have:
    /// the run row with its parameters, one `cached` execution per stage (so `log`, `metrics
    /// --run` and `gc` see the run as they see any other), a line per stage.
    /// `lockPath` is the lockfile as the summary names it (the memo keeps its absolute path).
    public func recordRun(ledger: Ledger, reporter: any RunReporter, runID: String = makeRunID(), pipeline: String,
                          lockPath: String, command: String) throws(StoreError) -> RunSummary {
        var results: [StageResult] = []
        var executions: [Ledger.Execution] = []
        results.reserveCapacity(stages.count)
        executions.reserveCapacity(stages.count)
        let now = Date().timeIntervalSince1970
        for stage in stages {
            results.append(StageResult(name: stage.name, status: .cached, reasons: []))
            executions.append(Ledger.Execution(runID: runID, stage: stage.name, status: "cached", key: stage.key, started: now, finished: now))
        }
        reporter.report(batch: results.map(RunEvent.finished))
        try ledger.recordRun(id: runID, pipeline: pipeline, command: command, params: params, executions: executions,
                             status: "ok", lockfile: lockfile)
        return RunSummary(runID: runID, status: "ok", stages: results, lockfile: lockPath)
    }
}
