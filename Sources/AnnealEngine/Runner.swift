import AnnealPipeline
import Foundation

/// Runs a pipeline: stages whose action key is cached are skipped, the rest run as child
/// processes, in parallel within the `--jobs` core budget, each committed to the store as it
/// finishes (so an interrupted run keeps everything completed).
public final class Runner: @unchecked Sendable {
    let project: Project
    let options: RunOptions
    let reporter: any RunReporter
    let ledger: Ledger
    let stats: StatCache
    let actions: ActionCache
    let runID: String
    /// The lockfile as the run found it; `lock` parses it when first asked.
    let lockSnapshot: LockSnapshot
    var lock: Lockfile? { lockSnapshot.lockfile }

    let condition = NSCondition()
    var finished: [StageResult] = []
    /// Local stages being started on their own threads, not yet running nor finished.
    var starting = 0
    var running: [String: any StageRun] = [:]
    /// Runs the stages' invocations: child processes here, or Slurm jobs (`RunOptions.executor`).
    let executor: any StageExecutor
    var interrupted = false
    /// Scratch directories for reuse, with their `params.json` (`SpareDirectories`).
    let spares: SpareDirectories
    /// Empty resume-state directories for reuse.
    let stateSpares: SpareDirectories
    /// Action entries of committed stages, written in batches (`EntryWriter`).
    let entries: EntryWriter
    /// Ledger rows of the stages launched or finished since the scheduler's last pass, written
    /// in one transaction per pass (its thread only): a stage's "running" row and its end share
    /// a commit with other stages' instead of costing two of their own.
    var pendingRecords: [Ledger.Execution] = []
    /// The environment stages start from, read once.
    let baseEnvironment = ProcessInfo.processInfo.environment
    /// Whether this run's log directory exists (touched by the scheduler's thread only).
    var logDirectoryMade = false

    public convenience init(project: Project, options: RunOptions, reporter: any RunReporter, ledger: Ledger, stats: StatCache,
                            lock: Lockfile?, runID: String = makeRunID()) {
        self.init(project: project, options: options, reporter: reporter, ledger: ledger, stats: stats,
                  lock: LockSnapshot(path: project.lockPath, parsed: lock), runID: runID)
    }

    public init(project: Project, options: RunOptions, reporter: any RunReporter, ledger: Ledger, stats: StatCache,
                lock: LockSnapshot, runID: String = makeRunID()) {
        self.project = project
        self.options = options
        self.reporter = reporter
        self.ledger = ledger
        self.stats = stats
        self.actions = ActionCache(store: project.store)
        self.runID = runID
        self.lockSnapshot = lock
        spares = SpareDirectories(tmpDir: project.store.tmpDir, keeping: "params.json")
        stateSpares = SpareDirectories(tmpDir: project.store.tmpDir)
        entries = EntryWriter(actions: actions, spares: stateSpares)
        switch options.executor {
        case .local: executor = LocalExecutor(store: project.store, spares: spares)
        case .slurm: executor = SlurmExecutor(store: project.store, pipeline: project.spec.name)
        }
    }

    /// After `run`: ends jobs earlier, killed runs left in flight that this run did not adopt.
    public func sweepExecutor() {
        for note in executor.sweep() { reporter.report(.waiting(note)) }
    }

    /// Called from a signal handler's queue: stop launching, terminate running stages.
    public func interrupt() {
        condition.lock()
        let first = !interrupted
        interrupted = true
        let procs = Array(running.values)
        condition.broadcast()
        condition.unlock()
        guard first else { procs.forEach { $0.stop(force: true) }; return }
        procs.forEach { $0.stop(force: false) }
        let deadline = DispatchTime.now() + 5
        DispatchQueue.global().asyncAfter(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.condition.lock()
            let left = Array(self.running.values)
            self.condition.unlock()
            left.forEach { $0.stop(force: true) }
        }
    }

    public func run() throws(StoreError) -> RunSummary {
        let runParams = RunParameters.record(project.spec, overrides: project.overrides).canonicalJSON
        try ledger.beginRun(id: runID, pipeline: project.pipelinePath, command: options.command, params: runParams)
        let order = project.ordered
        let selected = options.only.map { PipelineGraph.closure(of: $0, in: project.spec.stages) } ?? Set(order.map(\.name))
        if options.locked, let refused = lockedRefusal(order: order, selected: selected) {
            refused.forEach { reporter.report(.finished($0)) }
            try? ledger.record(refused.map { execution($0) })
            stats.save()
            try ledger.finishRun(id: runID, status: "failed", lockfile: nil)
            return RunSummary(runID: runID, status: "failed", stages: refused, lockfile: nil, filesHashed: stats.filesHashed)
        }
        // Counted readiness (`Plan`): a stage is looked at when its last upstream stage finishes
        // (or one fails), never by rescanning the DAG.
        var plan = Plan(order: order, selected: selected)
        var results: [String: StageResult] = [:]
        var outputs: [String: [String: OutputFact]] = [:]
        let declared = Set(order.map(\.name))
        // The facts of the stages that ran or were served this run. The lockfile is these and,
        // for declared stages without any, the old lock's entries: a run that reached every
        // stage never parses the old lock.
        var newFacts: [String: StageFacts] = [:]
        func lockStages() -> [String: StageFacts] {
            if newFacts.count == declared.count { return newFacts }
            return (lock?.stages.filter { declared.contains($0.key) } ?? [:]).merging(newFacts) { _, new in new }
        }
        // Bytes of the lockfile on disk as this run left it, compared with what it would write.
        var lockBytes = lockSnapshot.bytes
        var lockWriteFailed = false
        func writeLock() {
            let encoded = Array(Lockfile(tool: project.toolVersion, compute: project.computeFingerprint, pipeline: project.pipelinePath,
                                         name: project.spec.name, stages: lockStages(), overrides: project.overrides).encodedBytes())
            // Unchanged, and still on disk as this run knows it: a lockfile deleted or replaced
            // during the run (a `git checkout`, a run that held the cache lock first) is written.
            if encoded == lockBytes, readFileBytes(project.lockPath) == encoded { return }
            // About to replace the file the run started from: parsed first, so that one which
            // cannot be read is reported (`LockSnapshot`), as it is when a stage needs it.
            if lockBytes == lockSnapshot.bytes { _ = lock }
            do { try writeAtomically(encoded, to: project.lockPath) } catch {
                reporter.report(.waiting("warning: \(error.description)"))
                lockWriteFailed = true
                return
            }
            lockWriteFailed = false
            lockBytes = encoded
        }
        var ranSinceLockWrite = false
        var busyThreads = 0
        var failedAny = false
        // Launched and not yet handled: a stage that finished since the last pass is neither
        // running nor in `results` yet, and must not be launched twice.
        var inFlight: [String: Int] = [:]  // stage → threads it holds
        // Facts and reasons of stages that are ready but wait for cores, so their inputs are not
        // hashed again.
        var prepared: [String: (StageFacts, [String])] = [:]
        // The state of each action entry as this run read it, for the no-op memo.
        var entryStates: [String: FileState] = [:]
        // The lockfile is rewritten at most once a second while stages complete, and once at
        // the end: rewriting it after every stage is quadratic in the number of stages (DVC's
        // 21 minutes for 1,000). A kill in between loses no work: the action cache has it.
        var lastLockWrite = 0.0

        func done(_ r: StageResult) {
            results[r.name] = r
            if let i = plan.position[r.name] { plan.finish(i, succeeded: r.status == .ran || r.status == .cached) }
            if let f = r.facts, r.status == .ran || r.status == .cached {
                outputs[r.name] = f.outputs
                newFacts[r.name] = f
                if r.status == .ran { ranSinceLockWrite = true }
            }
            if r.status == .failed { failedAny = true }
            pendingRecords.append(execution(r))
            reporter.report(.finished(r))
            let now = Date().timeIntervalSince1970
            if ranSinceLockWrite, options.writeLockfile, now - lastLockWrite >= 1 {
                writeLock()
                ranSinceLockWrite = false
                lastLockWrite = now
            }
        }

        // Stale stages waiting for cores, by the cores they need: launched first in order first
        // as cores free up (`prepared` holds their facts and reasons).
        var waitingForCores: [Int: MinHeap] = [:]
        while true {
            while let i = plan.next() {
                let stage = order[i]
                guard results[stage.name] == nil, inFlight[stage.name] == nil, prepared[stage.name] == nil else { continue }
                if let bad = plan.upstream(of: i).lazy.map({ order[$0].name })
                    .first(where: { results[$0].map { $0.status != .ran && $0.status != .cached } ?? false }) {
                    done(StageResult(name: stage.name, status: .skipped, reasons: ["upstream \(bad) \(results[bad]!.status.rawValue)"]))
                    continue
                }
                if isInterrupted || (failedAny && !options.keepGoing) { continue }
                switch prepare(stage, outputs: outputs) {
                case .failure(let f):
                    done(f.result)
                case .success(let facts):
                    let found = options.forceAll ? nil : served(facts.key)
                    let entry = found?.entry
                    if let entry, !options.force.contains(stage.name) {
                        if let state = found?.state { entryStates[stage.name] = state }
                        var f = facts
                        f.outputs = entry.outputs
                        done(StageResult(name: stage.name, status: .cached, reasons: [], seconds: 0, facts: f, metrics: entry.metrics))
                    } else {
                        // Reasons only for a stage that runs: a cached one is not compared with its lock entry.
                        let reasons = Planner.reasons(facts, unknown: [:], old: lock?.stages[stage.name])
                        let why = !options.force.contains(stage.name) ? reasons
                            : entry != nil ? [Planner.forced] : [Planner.forced] + reasons
                        prepared[stage.name] = (facts, why)
                        // A cluster executor holds no local cores: its stages wait for none.
                        waitingForCores[executor.holdsLocalCores ? coreBudget(of: stage) : 0, default: MinHeap()].push(i)
                    }
                }
            }
            // Launch what fits, first in order first. A stage is looked at again only when it
            // could start, so 10,000 ready stages on 2 cores cost no rescans.
            while !isInterrupted, !failedAny || options.keepGoing, let (threads, i) = waitingForCores.compactMap({ t, heap in heap.first.map { (t, $0) } })
                .filter({ t, _ in busyThreads == 0 || busyThreads + t <= options.jobs }).min(by: { $0.1 < $1.1 }) {
                _ = waitingForCores[threads]!.pop()
                let stage = order[i]
                let (facts, why) = prepared.removeValue(forKey: stage.name)!
                // An equal action committed since (two stages with one key) is served, not rerun.
                if !options.forceAll, !options.force.contains(stage.name), let (entry, state) = served(facts.key) {
                    entryStates[stage.name] = state
                    var f = facts
                    f.outputs = entry.outputs
                    done(StageResult(name: stage.name, status: .cached, reasons: [], seconds: 0, facts: f, metrics: entry.metrics))
                    continue
                }
                busyThreads += threads
                inFlight[stage.name] = threads
                launch(stage, facts: facts, reasons: why)
            }
            try? ledger.record(pendingRecords)
            pendingRecords = []
            condition.lock()
            // Wait for a result while anything runs or is being started; with none, the run is over.
            while finished.isEmpty && !(running.isEmpty && starting == 0) { condition.wait() }
            if finished.isEmpty { condition.unlock(); break }
            let batch = finished
            finished = []
            condition.unlock()
            for r in batch {
                busyThreads -= inFlight.removeValue(forKey: r.name) ?? 0
                done(r)
            }
        }
        for stage in order where selected.contains(stage.name) && results[stage.name] == nil {
            let why = isInterrupted ? "run interrupted" : "not started after an earlier failure (use --keep-going to run independent stages)"
            done(StageResult(name: stage.name, status: .skipped, reasons: [why]))
        }
        // Every entry written and durable before the lockfile and the run's end name them; a
        // stage whose entry could not be written failed after all.
        for (entry, error) in entries.finish() {
            guard var r = results[entry.stage] else { continue }
            r.status = .failed
            r.error = "stage '\(entry.stage)': cannot store its outputs: \(error)"
            r.isInternalFailure = true
            results[entry.stage] = r
            newFacts[entry.stage] = nil
            failedAny = true
            reporter.report(.waiting("error: \(r.error!)"))
            pendingRecords.append(execution(r))
        }
        try? ledger.record(pendingRecords)
        spares.removeAll()
        stateSpares.removeAll()
        // Every group it records is over (the loop waits for all running stages).
        unlink(LeftoverGroups.journal(in: project.store.tmpDir))
        stats.save()
        let all = order.compactMap { results[$0.name] }
        let status = isInterrupted ? "interrupted" : failedAny ? "failed" : "ok"
        // Written when its bytes change: a no-op leaves the file (and its mtime) alone.
        if options.writeLockfile { writeLock() }
        let lockPath = options.writeLockfile ? project.lockPath : nil
        if let identity = options.noOpMemo {
            let memo = status == "ok" && !lockWriteFailed
                ? makeNoOpMemo(identity: identity, order: order, results: results, entryStates: entryStates,
                               lockBytes: lockBytes, params: runParams) : nil
            if let memo { memo.write(store: project.store) } else { NoOpMemo.remove(store: project.store, identity: identity) }
        }
        try ledger.finishRun(id: runID, status: status, lockfile: lockPath.map { project.absolute($0) })
        return RunSummary(runID: runID, status: status, stages: all, lockfile: lockPath, filesHashed: stats.filesHashed)
    }

    /// The entry that serves `key`: one this run committed and has not written yet (no file
    /// state yet), or the action cache's, with the state of its file.
    func served(_ key: String) -> (entry: ActionEntry, state: FileState?)? {
        if let pending = entries.entry(key) { return (pending, nil) }
        return actions.lookupWithState(key).map { ($0.entry, $0.state) }
    }

    /// The cores a stage may use: what it declares, never more than `--jobs`, so that
    /// `ANNEAL_THREADS` is the budget the scheduler really gives it.
    func threadBudget(of stage: StageSpec) -> Int { min(stage.threads, options.jobs) }

    /// The cores a stage holds while it runs: its threads in each of its tasks, within `--jobs`.
    func coreBudget(of stage: StageSpec) -> Int { min(threadBudget(of: stage) * stage.tasks, options.jobs) }

    var isInterrupted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return interrupted
    }

    /// The stage's facts, or the failure that stops it before it starts.
    private func prepare(_ stage: StageSpec, outputs: [String: [String: OutputFact]]) -> Result<StageFacts, FailedStage> {
        let inputs: [String: OutputFact]
        do { inputs = try project.inputFacts(of: stage, upstream: outputs, stats: stats).known } catch {
            return .failure(FailedStage(StageResult(name: stage.name, status: .failed, reasons: [], error: error.description)))
        }
        let facts = StageFacts(stage: stage, kind: project.kind(of: stage), inputs: inputs)
        // Only `--locked` compares here; `lock` would parse the lockfile a no-op never needs.
        if options.locked, case let old = lock?.stages[stage.name], old?.key != facts.key {
            let why = old.map { facts.reasons(comparedTo: $0, unknownInputs: [:]) } ?? ["not in the lockfile"]
            let detail = why.isEmpty ? "key \(facts.key.prefix(12)) ≠ \(old!.key.prefix(12))" : why.joined(separator: "; ")
            return .failure(FailedStage(StageResult(name: stage.name, status: .failed, reasons: why,
                                                    error: "--locked: stage '\(stage.name)' differs from \(project.lockPath): \(detail)")))
        }
        return .success(facts)
    }

    struct FailedStage: Error {
        var result: StageResult
        init(_ r: StageResult) { result = r }
    }

    func execution(_ r: StageResult, status: String? = nil) -> Ledger.Execution {
        let now = Date().timeIntervalSince1970
        return Ledger.Execution(runID: runID, stage: r.name, status: status ?? r.status.rawValue, key: r.facts?.key,
                                started: r.started ?? now, finished: status == "running" ? nil : now,
                                exitCode: r.exitCode.map(Int.init), error: r.error, log: r.log, reasons: r.reasons)
    }

}

extension Runner.FailedStage: Sendable {}
