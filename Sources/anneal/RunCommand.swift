import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the stale stages of a pipeline.")

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cache: CacheOption

    @Option(help: "Cores to keep busy at once (default: all).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Run only this stage and what it depends on (repeatable).")
    var only: [String] = []
    @Option(help: "Run this stage even if it is cached (repeatable).")
    var force: [String] = []
    @Flag(help: "Show what would run, and why, without running anything.")
    var dryRun = false
    @Flag(help: "Fail if any stage's key differs from the lockfile.")
    var locked = false
    @Flag(help: "After a failure, keep running the stages that do not depend on it.")
    var keepGoing = false
    @Flag(help: "Print one JSON object on stdout (progress goes to stderr).")
    var json = false
    @Option(help: "Where stages run: local (child processes) or slurm (one Slurm job each; see docs/slurm.md). Default: the pipeline's 'executor:', else local.")
    var executor: RunOptions.Executor?

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let store = cache.store
        let reporter = ConsoleReporter()
        var cacheLock: CacheLock?
        defer { cacheLock?.release() }
        func lockCache() throws {
            guard cacheLock == nil else { return }
            let held = CacheLock()
            try held.acquire(path: store.lockPath) { reporter.report(.waiting($0)) }
            cacheLock = held
            for note in store.removeDeadScratch() { reporter.report(.waiting(note)) }
        }
        // A plain run whose last full run left a memo: checked under the cache lock, and when
        // it holds, the run is recorded without parsing the pipeline (`NoOpMemo`).
        let memoIdentity = !dryRun && only.isEmpty && force.isEmpty && !locked && executor != .slurm
            ? NoOpFastPath.identity(pipeline, store: store) : nil
        if let memoIdentity, let memo = NoOpMemo.load(store: store, identity: memoIdentity) {
            try lockCache()
            if NoOpFastPath.holds(memo, pipeline: pipeline, store: store, executorOption: executor?.rawValue) {
                let ledger = try Ledger(path: store.ledgerPath)
                try ledger.markAbandonedRuns()
                let summary = try memo.recordRun(ledger: ledger, reporter: reporter, pipeline: pipeline.file,
                                                 lockPath: Lockfile.path(forPipeline: pipeline.file),
                                                 command: CommandLine.arguments.dropFirst().joined(separator: " "))
                if json { printJSON(NoOpFastPath.runJSON(memo, summary: summary, pipeline: pipeline.file)) }
                Self.printOutcome(summary)
                if !json { NoOpFastPath.printSummaries(memo) }
                return
            }
        }
        let project = try Workspace.project(pipeline, store: store)
        for name in only + force where project.spec.stage(named: name) == nil {
            throw UsageError("no stage '\(name)' in \(pipeline.file)" + (project.spec.stages.map(\.name).closest(to: name).map { "; did you mean '\($0)'?" } ?? ""))
        }
        if dryRun { return try Status.show(project, json: json, dryRun: true, only: only.isEmpty ? nil : Set(only), force: Set(force)) }
        try store.prepare()
        try lockCache()
        // Read under the cache lock (a run that held it first may have just rewritten it);
        // parsed only if a stage runs (its reasons) or --locked asks: a no-op compares bytes.
        let snapshot = LockSnapshot(path: project.lockPath) { printError("warning: ignoring the unreadable lockfile: \($0)") }
        let lock = locked ? try snapshot.verified() : nil
        if locked, lock == nil {
            printError("error: --locked, but there is no lockfile \(project.lockPath); run without --locked once to write it")
            throw Failure(code: Exit.failed)
        }
        if locked, let lock, lock.overrides != pipeline.overrides {
            printError("note: \(project.lockPath) was written by a run with "
                       + (lock.overrides.isEmpty ? "no --set" : lock.overrides.map { "--set \($0)" }.joined(separator: " "))
                       + "; this run has " + (pipeline.overrides.isEmpty ? "none" : pipeline.overrides.map { "--set \($0)" }.joined(separator: " ")))
        }
        let ledger = try Ledger(path: store.ledgerPath)
        try ledger.markAbandonedRuns()
        var options = RunOptions(jobs: jobs)
        options.keepGoing = keepGoing
        options.force = Set(force)
        options.only = only.isEmpty ? nil : Set(only)
        options.locked = locked
        options.command = CommandLine.arguments.dropFirst().joined(separator: " ")
        options.executor = executor ?? project.spec.executor.flatMap(RunOptions.Executor.init(rawValue:)) ?? .local
        options.noOpMemo = memoIdentity
        if options.executor == .slurm, let problem = slurmUnavailableReason() {
            throw UsageError("the slurm executor cannot run: \(problem)")
        }
        let runner = Runner(project: project, options: options, reporter: reporter, ledger: ledger,
                            stats: try StatCache(ledger: ledger), lock: snapshot)
        let signals = SignalWatcher { runner.interrupt() }
        let summary = try runner.run()
        if summary.status != "interrupted" { runner.sweepExecutor() }
        signals.stop()
        if json { printJSON(Self.json(summary, pipeline: pipeline.file)) }
        Self.printOutcome(summary)
        if !json { Self.printSummaries(summary, project: project) }
        if summary.hasInternalFailure { throw Failure(code: Exit.internal) }
        switch summary.status {
        case "ok": return
        case "interrupted": throw Failure(code: Exit.interrupted)
        default: throw Failure(code: Exit.failed)
        }
    }

    /// The run's last lines on stderr: what ran, the run's ID, the first error.
    static func printOutcome(_ summary: RunSummary) {
        do {
            var line = "\(summary.count(.ran)) ran, \(summary.count(.cached)) cached"
            for s in [StageResult.Status.failed, .skipped, .interrupted] where summary.count(s) > 0 { line += ", \(summary.count(s)) \(s.rawValue)" }
            printError("\(line) — run \(summary.runID)" + (summary.status == "ok" ? "" : " \(summary.status)")
                       + " — report: anneal report \(summary.runID) -o report.html")
            if let failed = summary.stages.first(where: { $0.status == .failed }), let e = failed.error {
                // The log's tail was shown with the stage; the summary keeps to one line.
                let head = e.split(separator: "\n").first.map(String.init) ?? ""
                printError("first error: \(head.components(separatedBy: "; last ").first ?? head)"
                           + (failed.log != nil ? " (whole log: anneal log \(summary.runID) \(failed.name))" : ""))
            }
        }
    }

    /// The file each stage that ran or was cached names as its summary (`StageSchema.summaryFile`,
    /// eval's `report/summary.md`), in pipeline order, on stdout: the run ends with what it found.
    static func printSummaries(_ summary: RunSummary, project: Project) {
        // By name once: looking each stage up in the list was quadratic (10,000 stages, 10⁸ compares).
        let byName = Dictionary(project.spec.stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for r in summary.stages where r.status == .ran || r.status == .cached {
            guard let stage = byName[r.name], let outputs = r.facts?.outputs, let s = project.summary(of: stage, outputs: outputs) else { continue }
            printSummary(of: r.name, file: s.file, path: s.path)
        }
    }

    /// One stage's summary file under a header line; a file that cannot be read is a warning.
    static func printSummary(of stage: String, file: String, path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            printError("warning: stage '\(stage)' names \(file) as its summary, but \(path) cannot be read")
            return
        }
        print("\n== \(stage): \(file) ==\n" + text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }

    static func json(_ s: RunSummary, pipeline: String) -> Value {
        json(s, pipeline: pipeline, stages: s.stages.map { r in
            stageJSON(name: r.name, status: r.status, reasons: r.reasons, seconds: r.seconds, outputs: r.facts?.outputs ?? [:],
                      metrics: r.metrics, key: r.facts?.key, error: r.error)
        })
    }

    /// `run --json` with `stages` as its stage objects (the no-op fast path builds them from its memo).
    static func json(_ s: RunSummary, pipeline: String, stages: [Value]) -> Value {
        .map([
            "run": .string(s.runID), "status": .string(s.status), "pipeline": .string(pipeline),
            "lockfile": s.lockfile.map(Value.string) ?? .null,
            "stats": .map(["files_hashed": .int(s.filesHashed), "ran": .int(s.count(.ran)), "cached": .int(s.count(.cached))]),
            "stages": .list(stages),
        ])
    }

    /// One stage's object in `run --json`.
    static func stageJSON(name: String, status: StageResult.Status, reasons: [String], seconds: Double,
                          outputs: [String: OutputFact], metrics: [String: Double], key: String?, error: String?) -> Value {
        var m: [String: Value] = [
            "name": .string(name), "status": .string(status.rawValue),
            "reasons": .list(reasons.map(Value.string)), "seconds": .double((seconds * 1000).rounded() / 1000),
            "outputs": .map(outputs.mapValues { .string($0.digest) }),
            "metrics": .map(metrics.mapValues(Value.double)),
        ]
        if let key { m["key"] = .string(key) }
        if let error { m["error"] = .string(error) }
        return .map(m)
    }
}

/// Forwards SIGINT and SIGTERM to a handler instead of killing the process, so a run can
/// stop its stages and record itself as interrupted.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    init(_ handler: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
        for sig in [SIGINT, SIGTERM] { signal(sig, SIG_DFL) }
    }
}

extension RunOptions.Executor: ExpressibleByArgument {}

extension Array where Element == String {
    func closest(to word: String) -> String? { closestMatch(to: word, in: self) }
}
