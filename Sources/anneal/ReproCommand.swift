import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Repro: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro", abstract: "Rebuild every stage from scratch in a fresh store and compare each output with the lockfile.")

    @Argument(help: "Lockfile (default: the lockfile of the default pipeline, \(defaultPipeline)).")
    var lockfile: String?
    @OptionGroup var cache: CacheOption
    @Option(help: "Cores to keep busy at once (default: all).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Scratch store to rebuild in (default: a new temporary directory, removed afterwards).")
    var scratch: String?
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        guard let lockPath = lockfile.map(Workspace.userPath) ?? Workspace.defaultPipeline.map(Lockfile.path(forPipeline:)) else {
            throw Workspace.noDefaultPipeline
        }
        let ext = (lockPath as NSString).pathExtension
        if ext == "yaml" || ext == "yml" {
            // The hint uses the paths as the user typed them, wherever they are.
            let typed = lockfile ?? lockPath
            throw UsageError("repro takes a lockfile, not a pipeline: try `anneal repro \(Lockfile.path(forPipeline: typed))`"
                             + (FileManager.default.fileExists(atPath: Lockfile.path(forPipeline: lockPath)) ? "" : " after `anneal run \(typed)` has written it"))
        }
        guard FileManager.default.fileExists(atPath: lockPath) else { throw UsageError("no lockfile \(lockPath)") }
        let lock: Lockfile
        do { lock = try Lockfile.read(lockPath) } catch {
            // A pipeline under another name: YAML with stages but no lockfile schema.
            if let text = try? String(contentsOfFile: lockPath, encoding: .utf8),
               let root = YAMLParser(file: lockPath).parse(text).root, root["schema"] == nil, root["stages"] != nil {
                throw UsageError("\(lockfile ?? lockPath) is not a lockfile (it has no 'schema'); repro takes the .lock file `anneal run PIPELINE` writes next to its pipeline")
            }
            throw error
        }
        var pipelineFile = lock.pipeline
        if !FileManager.default.fileExists(atPath: pipelineFile) {
            // The lock records the path it was written with; next to the lock is the other natural place.
            let sibling = ((lockPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent((lock.pipeline as NSString).lastPathComponent)
            guard FileManager.default.fileExists(atPath: sibling) else { throw UsageError("the lockfile names pipeline \(lock.pipeline), which does not exist") }
            pipelineFile = sibling
        }
        Reproduction.removeAbandonedScratch(in: NSTemporaryDirectory())
        let scratchRoot = scratch.map(Workspace.userPath) ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("\(Reproduction.scratchPrefix)\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { if scratch == nil { ContentStore.removeTree(scratchRoot) } }
        let store = ContentStore(root: scratchRoot)
        try store.prepare()
        let scratchLock = CacheLock()
        try scratchLock.acquire(path: store.lockPath) { printError($0) }
        defer { scratchLock.release() }
        // The lock names its pipeline relative to the workspace, not to where the user is.
        if Workspace.invokedFrom != nil, !pipelineFile.hasPrefix("/") { pipelineFile = FileManager.default.currentDirectoryPath + "/" + pipelineFile }
        var options = try PipelineOptions.parse([pipelineFile])
        options.overrides = lock.overrides
        var project = try Workspace.project(options, store: store)
        // Swift plugins' binaries are built from sources the lock's keys cover: reuse them.
        project.pluginBuilds = cache.store.root + "/plugins-build"
        project.lockPath = lockPath
        if lock.compute != project.computeFingerprint {
            printError("note: the lock was written on \(lock.compute.canonicalJSON); this machine is \(project.computeFingerprint.canonicalJSON)")
        }
        let drift = Reproduction.declarationDrift(project: project, lock: lock)
        let report: Reproduction.Report
        if !drift.isEmpty {
            report = Reproduction.Report(stages: drift)
        } else {
            let ledger = try Ledger(path: store.ledgerPath)
            var runOptions = RunOptions(jobs: jobs)
            runOptions.forceAll = true
            runOptions.writeLockfile = false
            runOptions.command = "repro \(lockPath)"
            let runner = Runner(project: project, options: runOptions, reporter: ConsoleReporter(), ledger: ledger,
                                stats: StatCache(), lock: lock)
            let signals = SignalWatcher { runner.interrupt() }
            let summary = try runner.run()
            signals.stop()
            report = Reproduction.compare(summary, lock: lock, order: project.ordered.map(\.name), original: cache.store, rebuilt: store)
        }
        if json {
            printJSON(.map([
                "lockfile": .string(lockPath), "reproduced": .bool(report.isReproduced),
                "first_divergence": report.firstDivergence.map(Value.string) ?? .null,
                "stages": .list(report.stages.map { .map(["name": .string($0.name), "status": .string($0.verdict), "details": .list($0.details.map(Value.string))]) }),
            ]))
        } else {
            for s in report.stages {
                print("\(s.name): \(s.verdict)" + (s.details.isEmpty ? "" : "\n  " + s.details.joined(separator: "\n  ")))
            }
            if let first = report.firstDivergence {
                let detail = report.stages.first { $0.name == first }?.details.last ?? ""
                print("repro FAILED: stage '\(first)' diverges first (\(detail))")
            } else {
                print("reproduced: every output digest of \(report.stages.count) stages matches \(lockPath)")
            }
        }
        if !report.isReproduced { throw Failure(code: Exit.failed) }
    }
}
