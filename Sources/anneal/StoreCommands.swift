import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

func openLedger(_ cache: CacheOption) throws -> Ledger {
    guard FileManager.default.fileExists(atPath: cache.store.ledgerPath) else {
        throw UsageError("no ledger in \(cache.path): nothing has run with this cache yet (use --cache DIR or ANNEAL_CACHE)")
    }
    return try Ledger(path: cache.store.ledgerPath)
}

func timestamp(_ t: Double?) -> String {
    guard let t else { return "-" }
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.string(from: Date(timeIntervalSince1970: t))
}

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "List recent runs.")

    @OptionGroup var cache: CacheOption
    @Option(help: "How many runs to list.")
    var limit = 20
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let ledger = try openLedger(cache)
        let runs = try ledger.runs(limit: limit)
        if json {
            printJSON(.map(["runs": .list(try runs.map { r in
                let ex = try ledger.executions(run: r.id)
                var counts: [String: Value] = [:]
                for e in ex { counts[e.status] = .int((counts[e.status]?.intValue ?? 0) + 1) }
                return .map(["id": .string(r.id), "pipeline": .string(r.pipeline), "status": .string(r.status),
                             "started": .double(r.started), "finished": r.finished.map(Value.double) ?? .null,
                             "command": .string(r.command), "stages": .map(counts)])
            })]))
            return
        }
        for r in runs {
            let ex = try ledger.executions(run: r.id)
            let ran = ex.filter { $0.status == "ran" }.count, cached = ex.filter { $0.status == "cached" }.count
            let failed = ex.filter { $0.status == "failed" }.count
            let secs = r.finished.map { String(format: "%.1fs", $0 - r.started) } ?? "-"
            print("\(r.id)  \(timestamp(r.started))  \(r.status.padding(toLength: 11, withPad: " ", startingAt: 0))  \(secs.padding(toLength: 8, withPad: " ", startingAt: 0))  \(ran) ran, \(cached) cached\(failed > 0 ? ", \(failed) failed" : "")  \(r.pipeline)")
        }
        if runs.isEmpty { print("no runs yet") }
    }
}

/// A run by id, unique id prefix, or `last`; an ambiguous prefix lists its candidates.
func findRun(_ ref: String, in ledger: Ledger) throws -> Ledger.Run {
    if ref == "last" || ref == "latest" {
        guard let r = try ledger.findRun(ref) else { throw UsageError("no runs yet in this cache") }
        return r
    }
    let limit = 10
    let matches = try ledger.runs(matching: ref, limit: limit)
    guard matches.count != 1 else { return matches[0] }
    guard !matches.isEmpty else { throw UsageError("no run '\(ref)' (see `anneal runs`)") }
    throw UsageError("run id prefix '\(ref)' is ambiguous; it matches \(matches.count == limit ? "these and more" : "\(matches.count) runs"):\n"
                     + matches.map { "  \($0.id)  \(timestamp($0.started))  \($0.pipeline)" }.joined(separator: "\n")
                     + "\ngive more characters of the id")
}

/// Whether a process holds the cache's writer lock: a run marked `running` in the ledger
/// runs only while one does. A shared lock is refused exactly while a writer holds it.
func isWriting(_ cache: CacheOption) -> Bool {
    let fd = open(cache.store.lockPath, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
    flock(fd, LOCK_UN)
    return false
}

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show a run's stages, or one stage's output log (also while it runs).")

    @Argument(help: "Run id, a prefix of one, or 'last'.")
    var runID: String
    @Argument(help: "Stage whose log to print.")
    var stage: String?
    @Flag(name: [.short, .long], help: "Keep printing the stage's log as it grows, until the stage ends.")
    var follow = false
    @OptionGroup var cache: CacheOption

    func run() throws {
        let ledger = try openLedger(cache)
        let r = try findRun(runID, in: ledger)
        let ex = try ledger.executions(run: r.id)
        guard let stage else {
            print("run \(r.id)  \(r.status)  \(r.pipeline)  started \(timestamp(r.started))")
            for e in ex {
                let secs = e.finished.flatMap { f in e.started.map { String(format: " %.1fs", f - $0) } } ?? ""
                print("  \(e.stage)  \(e.status)\(secs)\(e.exitCode.map { $0 != 0 ? " exit \($0)" : "" } ?? "")")
                if let err = e.error { print("    " + err.replacingOccurrences(of: "\n", with: "\n    ")) }
            }
            return
        }
        var execution = ex.first { $0.stage == stage }
        // A stage of a running run may not have started yet: wait for it when following.
        while follow, execution == nil, try ledger.findRun(r.id)?.status == "running", isWriting(cache) {
            Thread.sleep(forTimeInterval: 0.2)
            execution = try ledger.execution(run: r.id, stage: stage)
        }
        guard let e = execution else {
            throw UsageError("run \(r.id) has no stage '\(stage)'" + (ex.map(\.stage).closest(to: stage).map { "; did you mean '\($0)'?" } ?? ""))
        }
        guard let path = e.log, let handle = FileHandle(forReadingAtPath: path) else {
            print("(stage '\(stage)' was \(e.status) in run \(r.id): no log)")
            return
        }
        defer { try? handle.close() }
        FileHandle.standardOutput.write(handle.readDataToEndOfFile())
        guard follow else { return }
        // Tail until the ledger says the stage is over (or the run holding it is gone: a killed
        // run leaves its stages marked running), then print what it wrote last.
        while try ledger.execution(run: r.id, stage: stage)?.status == "running", isWriting(cache) {
            Thread.sleep(forTimeInterval: 0.2)
            FileHandle.standardOutput.write(handle.readDataToEndOfFile())
        }
        FileHandle.standardOutput.write(handle.readDataToEndOfFile())
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "Show the metrics of the results a pipeline holds now, or of a past run; or one stage's series.",
        discussion: """
            The results a pipeline holds now are those `anneal run` would serve from the cache: the \
            metrics of the execution that produced them, never of another pipeline's stage of the same \
            name or of an interrupted run. `anneal metrics STAGE` (a stage of the default pipeline) \
            still means `--stage STAGE`.
            """)

    @Argument(help: "Pipeline file (default: \(defaultPipeline)).")
    var target: String?
    @Option(help: "Print this stage's metric series (step, value).")
    var stage: String?
    @Option(name: .customLong("run"), help: "The metrics a past run produced: a run id, a prefix of one, or 'last'.")
    var pastRun: String?
    @OptionGroup var cache: CacheOption
    @Flag(help: "Print one JSON object on stdout.")
    var json = false
    @Flag(help: "Follow the stage's latest execution while it runs: latest values and a sparkline of its loss.")
    var watch = false

    /// `metrics STAGE` from before pipelines were scoped: a word that names no file is a stage.
    var targetIsStage: Bool {
        guard let target, stage == nil else { return false }
        return !(target.hasSuffix(".yaml") || target.hasSuffix(".yml") || target.contains("/")
                 || FileManager.default.fileExists(atPath: Workspace.userPath(target)))
    }
    var pipelineArgument: String? { targetIsStage ? nil : target }
    var stageName: String? { targetIsStage ? target : stage }

    func validate() throws {
        if watch, stageName == nil { throw ValidationError("--watch follows one stage: anneal metrics STAGE --watch") }
        if watch, json || pastRun != nil { throw ValidationError("--watch takes neither --json nor --run") }
    }

    func run() throws {
        if watch, let stageName { return try MetricsWatch(stage: stageName, ledgerPath: cache.store.ledgerPath).run() }
        let ledger = try openLedger(cache)
        let actions = ActionCache(store: cache.store)
        var results: [StageMetrics] = []
        var stale: [String] = []
        if let pastRun {
            let r = try findRun(pastRun, in: ledger)
            for e in try ledger.executions(run: r.id) where e.status == "ran" || e.status == "cached" {
                if e.status == "cached", let key = e.key, let entry = actions.rawEntry(key) {
                    results.append(StageMetrics(stage: e.stage, producer: try ledger.lastCompletedExecution(key: key), metrics: entry.metrics))
                } else {
                    results.append(StageMetrics(stage: e.stage, producer: e, metrics: try ledger.series(run: r.id, stage: e.stage).compactMapValues { $0.last?.1 }))
                }
            }
        } else {
            let project = try Workspace.project(try PipelineOptions.named(pipelineArgument), store: cache.store)
            let lock = try? Workspace.readLock(project.lockPath)
            for s in Planner(project: project, stats: try StatCache(ledger: ledger)).status(lock: lock ?? nil) {
                guard s.isFresh, let entry = s.entry else { stale.append(s.name); continue }
                results.append(StageMetrics(stage: s.name, producer: try ledger.lastCompletedExecution(key: entry.key), metrics: entry.metrics))
            }
        }
        if let stageName { return try printSeries(stageName, results: results, stale: stale, ledger: ledger) }
        if json {
            printJSON(.map(["stages": .map(Dictionary(results.map { ($0.stage, Value.map($0.metrics.mapValues(Value.double))) },
                                                      uniquingKeysWith: { a, _ in a })),
                            "stale": .list(stale.map(Value.string))]))
            return
        }
        for r in results where !r.metrics.isEmpty {
            print("\(r.stage): " + r.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "  "))
        }
        for s in stale { print("\(s): stale, no current result (run it, or see a past run's with --run)") }
        if results.allSatisfy(\.metrics.isEmpty) && stale.isEmpty { print("no metrics recorded") }
    }

    /// A stage's final metrics and the execution that produced them (unknown if the ledger
    /// lost it: another cache's ledger, say).
    struct StageMetrics {
        var stage: String
        var producer: Ledger.Execution?
        var metrics: [String: Double]
    }

    /// The series of the execution that produced the stage's result.
    private func printSeries(_ name: String, results: [StageMetrics], stale: [String],
                             ledger: Ledger) throws {
        guard let result = results.first(where: { $0.stage == name }) else {
            if stale.contains(name) { throw UsageError("stage '\(name)' is stale: it holds no current result (see a past run's with --run RUN)") }
            let names = results.map(\.stage) + stale
            throw UsageError("no stage '\(name)'" + (pastRun.map { " in run \($0)" } ?? "")
                             + (names.closest(to: name).map { "; did you mean '\($0)'?" } ?? ""))
        }
        let series = try result.producer.map { try ledger.series(run: $0.runID, stage: $0.stage) } ?? [:]
        if json {
            printJSON(.map(["stage": .string(name), "run": result.producer.map { .string($0.runID) } ?? .null, "series": .map(series.mapValues { pts in
                .list(pts.map { .map(["step": $0.0.map(Value.int) ?? .null, "value": .double($0.1)]) })
            })]))
            return
        }
        for (metric, pts) in series.sorted(by: { $0.key < $1.key }) {
            print(metric)
            for (step, v) in pts { print("  \(step.map(String.init) ?? "-")\t\(v)") }
        }
        if series.isEmpty { print("no metric series for stage '\(name)'") }
    }
}

struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove cached artifacts no lockfile or recent run uses.")

    @OptionGroup var cache: CacheOption
    @Flag(help: "List what would be removed without removing it.")
    var dryRun = false
    @Option(help: "Keep what the N most recent runs used.")
    var keepRuns = 5
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let ledger = try openLedger(cache)
        let lock = CacheLock()
        try lock.acquire(path: cache.store.lockPath) { printError($0) }
        defer { lock.release() }
        for note in cache.store.removeDeadScratch() { printError("note: \(note)") }
        try ledger.markAbandonedRuns()
        let c = try CacheMaintenance(store: cache.store).collect(ledger: ledger, keepRuns: keepRuns, dryRun: dryRun)
        let plugins = SwiftPluginBuild.prune(builds: cache.store.root + "/plugins-build", dryRun: dryRun)
        if json {
            printJSON(.map(["dry_run": .bool(dryRun), "actions": .list(c.actions.map(Value.string)),
                            "objects": .list(c.objects.map(Value.string)), "bytes": .int(Int(c.bytes)), "kept_objects": .int(c.keptObjects),
                            "plugin_builds": .list(plugins.paths.map(Value.string)), "plugin_bytes": .int(Int(plugins.bytes))]))
            return
        }
        for p in plugins.paths { print("\(dryRun ? "would remove" : "removed") Swift plugin build \(p)") }
        for o in c.objects { print("\(dryRun ? "would remove" : "removed") object \(o)") }
        print("\(dryRun ? "would remove" : "removed") \(c.objects.count) objects (\(c.bytes) bytes) and \(c.actions.count) action entries; kept \(c.keptObjects) objects"
              + (plugins.paths.isEmpty ? "" : "; \(plugins.paths.count) Swift plugin build(s) (\(plugins.bytes) bytes)"))
    }
}

struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Inspect the cache.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify", abstract: "Re-hash every object; quarantine and report corrupted ones.")

        @OptionGroup var cache: CacheOption
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func run() throws {
            let lock = CacheLock()
            // Without the lock a concurrent `gc` would make deleted objects read as damaged.
            if FileManager.default.fileExists(atPath: cache.store.root) {
                try lock.acquire(path: cache.store.lockPath) { printError($0) }
            }
            defer { lock.release() }
            let v = CacheMaintenance(store: cache.store).verify()
            if json {
                printJSON(.map(["objects": .int(v.objects), "bytes": .int(Int(v.bytes)),
                                "ok": .bool(v.corrupt.isEmpty && v.corruptActions.isEmpty && v.quarantineFailures.isEmpty),
                                "corrupt": .list(v.corrupt.map(Value.string)), "dangling_actions": .list(v.dangling.map(Value.string)),
                                "corrupt_actions": .list(v.corruptActions.map(Value.string)),
                                "quarantine_failures": .list(v.quarantineFailures.map(Value.string))]))
            } else {
                let moved = "moved to \(cache.store.quarantineDir)"
                for d in v.corrupt {
                    print("corrupt object \(d): \(v.notQuarantined.contains(d) ? "NOT moved" : moved); the stage that made it will rerun")
                }
                for k in v.corruptActions {
                    print("corrupt action entry \(k): \(v.notQuarantined.contains(k) ? "NOT moved" : moved); its stage will rerun")
                }
                if !v.dangling.isEmpty { print("\(v.dangling.count) action entries refer to missing objects; their stages will rerun") }
                print("\(v.objects) objects, \(v.bytes) bytes verified; \(v.corrupt.count) corrupt, \(v.corruptActions.count) corrupt action entries")
            }
            for f in v.quarantineFailures { printError("error: \(f); remove it by hand") }
            if !v.quarantineFailures.isEmpty { throw Failure(code: Exit.internal) }
            if !v.corrupt.isEmpty || !v.corruptActions.isEmpty { throw Failure(code: Exit.failed) }
        }
    }
}
