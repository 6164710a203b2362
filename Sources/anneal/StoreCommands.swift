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
    static let configuration = CommandConfiguration(abstract: "List recent runs.")

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

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a run's stages, or one stage's output log.")

    @Argument(help: "Run id, a prefix of one, or 'last'.")
    var runID: String
    @Argument(help: "Stage whose log to print.")
    var stage: String?
    @OptionGroup var cache: CacheOption

    func run() throws {
        let ledger = try openLedger(cache)
        guard let r = try ledger.findRun(runID) else { throw UsageError("no run '\(runID)' (see `anneal runs`)") }
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
        guard let e = ex.first(where: { $0.stage == stage }) else {
            throw UsageError("run \(r.id) has no stage '\(stage)'" + (ex.map(\.stage).closest(to: stage).map { "; did you mean '\($0)'?" } ?? ""))
        }
        guard let path = e.log, let data = FileManager.default.contents(atPath: path) else {
            print("(stage '\(stage)' was \(e.status) in run \(r.id): no log)")
            return
        }
        FileHandle.standardOutput.write(data)
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the latest metrics by stage, or one stage's series.")

    @Argument(help: "Stage whose metric series to print.")
    var stage: String?
    @OptionGroup var cache: CacheOption
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let ledger = try openLedger(cache)
        if let stage {
            let series = try ledger.series(stage: stage)
            if json {
                printJSON(.map(["stage": .string(stage), "series": .map(series.mapValues { pts in
                    .list(pts.map { .map(["step": $0.0.map(Value.int) ?? .null, "value": .double($0.1)]) })
                })]))
                return
            }
            for (name, pts) in series.sorted(by: { $0.key < $1.key }) {
                print(name)
                for (step, v) in pts { print("  \(step.map(String.init) ?? "-")\t\(v)") }
            }
            if series.isEmpty { print("no metrics for stage '\(stage)'") }
            return
        }
        let latest = try ledger.latestMetrics()
        if json {
            printJSON(.map(["stages": .map(latest.mapValues { .map($0.mapValues(Value.double)) })]))
            return
        }
        for (s, m) in latest.sorted(by: { $0.key < $1.key }) {
            print("\(s): " + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "  "))
        }
        if latest.isEmpty { print("no metrics recorded yet") }
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
        cache.store.removeDeadScratch()
        try ledger.markAbandonedRuns()
        let c = try CacheMaintenance(store: cache.store).collect(ledger: ledger, keepRuns: keepRuns, dryRun: dryRun)
        if json {
            printJSON(.map(["dry_run": .bool(dryRun), "actions": .list(c.actions.map(Value.string)),
                            "objects": .list(c.objects.map(Value.string)), "bytes": .int(Int(c.bytes)), "kept_objects": .int(c.keptObjects)]))
            return
        }
        for o in c.objects { print("\(dryRun ? "would remove" : "removed") object \(o)") }
        print("\(dryRun ? "would remove" : "removed") \(c.objects.count) objects (\(c.bytes) bytes) and \(c.actions.count) action entries; kept \(c.keptObjects) objects")
    }
}

struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the cache.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash every object; quarantine and report corrupted ones.")

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
