import AnnealPipeline
import Foundation

/// Executing one stage: the plugin protocol and the commit protocol.
///
/// Protocol (built-in, plugin and inline command stages alike), all through the environment:
/// `ANNEAL_INPUT_<NAME>` / `ANNEAL_OUTPUT_<NAME>` (upper-cased, `-` → `_`) and the JSON maps
/// `ANNEAL_INPUTS` / `ANNEAL_OUTPUTS` of read-only input paths and empty output directories
/// (over 64 KiB, the path of a file holding the map, as `ANNEAL_INPUTS_FILE` / `…_FILE`);
/// `ANNEAL_PARAMS`, a JSON file of the resolved parameters; `ANNEAL_SEED`, `ANNEAL_THREADS`,
/// `ANNEAL_STAGE`, `ANNEAL_KIND`, `ANNEAL_WORKSPACE`, `ANNEAL_RUN`; and
/// `ANNEAL_PROGRESS_FD` (3), where the stage may write JSON lines of progress and metrics;
/// `ANNEAL_STATE_DIR`, resume scratch kept for the same action key across attempts
/// (`Runner+State.swift`); for Swift plugins `ANNEAL_BIN`, `ANNEAL_PLUGIN_DIGEST` and
/// `ANNEAL_PLUGIN_BUILDS` (`SwiftPluginBuild`).
///
/// Commit: outputs are written into a private scratch directory; on exit 0 each output is
/// hashed and renamed into the objects, then the action entry is queued for the next durable
/// batch (`EntryWriter`). A crash at any point leaves at most an unreferenced scratch
/// directory, removed by the next run, and objects no entry names yet.
extension Runner {
    func launch(_ stage: StageSpec, facts: StageFacts, reasons: [String]) {
        reporter.report(.started(stage: stage.name, reasons: reasons))
        // A symlink swapped into a file input since it was hashed fails the stage (the
        // pipeline's data is wrong, not the runner) before the stage can read through it.
        do { try project.checkInputLinks(of: stage) } catch {
            deliver(StageResult(name: stage.name, status: .failed, reasons: reasons, facts: facts, error: error.description))
            return
        }
        let started = Date()
        let logDir = "\(project.store.logsDir)/\(runID)"
        do {
            if !logDirectoryMade {
                try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
                logDirectoryMade = true
            }
        } catch {
            var result = StageResult(name: stage.name, status: .failed, reasons: reasons, facts: facts,
                                     error: "stage '\(stage.name)' could not start: \(error)")
            result.isInternalFailure = true
            deliver(result)
            return
        }
        guard executor.holdsLocalCores else {
            // A cluster job: submitted from here, watched on a thread of its own.
            guard let begun = begin(stage, facts: facts, reasons: reasons, logDir: logDir) else { return }
            recordRunning(stage, facts: facts, reasons: reasons, started: started, log: begun.logPath)
            DispatchQueue.global().async { [self] in watch(begun, stage: stage, facts: facts, reasons: reasons, started: started) }
            return
        }
        // A local stage starts on its own thread: making its output directories and its log
        // and spawning it cost inode allocations and a vfork each, which would otherwise queue
        // up on the scheduler's thread. The resume state is claimed here, in launch order, so
        // two stages with one key share it as before.
        recordRunning(stage, facts: facts, reasons: reasons, started: started, log: "\(logDir)/\(stage.name).log")
        condition.lock()
        starting += 1
        condition.unlock()
        let state = Result { () throws(StoreError) in try project.store.makeStateDirectory(key: facts.key, from: stateSpares) }
        DispatchQueue.global().async { [self] in
            let begun = begin(stage, facts: facts, reasons: reasons, logDir: logDir, state: state)
            condition.lock()
            starting -= 1
            condition.broadcast()
            condition.unlock()
            if let begun { watch(begun, stage: stage, facts: facts, reasons: reasons, started: started) }
        }
    }

    /// A stage's `running` row, written with the scheduler's pass.
    private func recordRunning(_ stage: StageSpec, facts: StageFacts, reasons: [String], started: Date, log: String) {
        var row = StageResult(name: stage.name, status: .ran, reasons: reasons, facts: facts, log: log)
        row.started = started.timeIntervalSince1970
        pendingRecords.append(execution(row, status: "running"))
    }

    /// A started stage: what `watch` waits on and commits from.
    struct Begun {
        var process: any StageRun
        var scratch: String
        var logPath: String
        var outputs: [String: String]
    }

    /// Prepares the stage's scratch, outputs, parameters and environment and starts it, then
    /// lists it as running. On failure the result is delivered and nil returned.
    private func begin(_ stage: StageSpec, facts: StageFacts, reasons: [String], logDir: String,
                       state: Result<String, StoreError>? = nil) -> Begun? {
        var scratch = ""
        let process: any StageRun
        var outputDirs: [String: String] = [:]
        var logPath = ""
        do {
            if let adopted = executor.adopt(stage: stage.name, key: facts.key) {
                // A job of a killed run still computing this very key: wait for it, never twice.
                scratch = adopted.scratch
                logPath = adopted.logPath
                for o in stage.outputs { outputDirs[o] = executor.outputDirectory(scratch: scratch, output: o) }
                process = adopted.run
                reporter.report(.progress(stage: stage.name, step: nil, total: nil, metrics: [:], message: adopted.note))
            } else {
                scratch = try executor.makeScratch(stage: stage.name, key: facts.key)
                for o in stage.outputs {
                    outputDirs[o] = executor.outputDirectory(scratch: scratch, output: o)
                    try Self.makeDirectory(outputDirs[o]!)
                }
                // Local scratch dies with the runner, so its files need no flush; a Slurm job's
                // directory outlives it (a queued job reads them after a power cut), so they do.
                let scratchOutlivesRunner = !executor.holdsLocalCores
                let paramsPath = "\(scratch)/params.json"
                try writePrivateFile(Array(stage.params.prettyJSON.utf8), to: paramsPath, durable: scratchOutlivesRunner)
                // Straight into the run's logs, so `anneal log RUN STAGE` reads it while the stage runs.
                logPath = "\(logDir)/\(stage.name).log"
                let inputs = project.inputPaths(of: stage, facts: facts.inputs)
                let argv = try commandLine(stage, inputs: inputs, outputs: outputDirs)
                var env = baseEnvironment
                env.merge(Self.inputEnvironment(stage, paths: inputs)) { _, new in new }
                for (k, v) in outputDirs { env["ANNEAL_OUTPUT_" + Self.envName(k)] = v }
                env["ANNEAL_OUTPUTS"] = Value.map(outputDirs.mapValues(Value.string)).canonicalJSON
                for name in ["ANNEAL_INPUTS", "ANNEAL_OUTPUTS"] {
                    guard let json = env[name], json.utf8.count > Self.largestInlineMap else { continue }
                    // Linux refuses to start a process with one environment string past 128 KiB
                    // (a join of a thousand inputs); such a map goes in a file beside params.json.
                    let file = "\(scratch)/\(name.dropFirst("ANNEAL_".count).lowercased()).json"
                    try writePrivateFile(Array(json.utf8), to: file, durable: scratchOutlivesRunner)
                    env[name] = nil
                    env[name + "_FILE"] = file
                }
                env["ANNEAL_PARAMS"] = paramsPath
                env["ANNEAL_SEED"] = stage.readsSeed ? String(stage.seed) : nil
                env["ANNEAL_THREADS"] = String(threadBudget(of: stage))
                env["ANNEAL_TASKS"] = stage.tasks > 1 ? String(stage.tasks) : nil
                env["ANNEAL_STAGE"] = stage.name
                env["ANNEAL_KIND"] = stage.kindName
                env["ANNEAL_WORKSPACE"] = project.workspace
                env["ANNEAL_RUN"] = runID
                env["ANNEAL_PROGRESS_FD"] = "3"
                env["ANNEAL_STATE_DIR"] = try state?.get() ?? project.store.makeStateDirectory(key: facts.key, from: stateSpares)
                if case .plugin(let dir, _, let digest)? = project.kind(of: stage)?.launch {
                    env["ANNEAL_PLUGIN_DIR"] = dir
                    env["ANNEAL_PLUGIN_DIGEST"] = digest  // what a Swift plugin's build must match
                }
                env["ANNEAL_BIN"] = project.builtinLauncher.first
                env["ANNEAL_PLUGIN_BUILDS"] = project.pluginBuildDirectory
                process = try executor.start(StageInvocation(
                    stage: stage.name, key: facts.key, pipeline: project.spec.name, argv: argv, environment: env,
                    directory: project.workspace, logPath: logPath, scratch: scratch, outputs: outputDirs,
                    threads: threadBudget(of: stage), tasks: stage.tasks, resources: stage.resources))
            }
        } catch {
            var result = StageResult(name: stage.name, status: .failed, reasons: reasons, facts: facts,
                                     error: "stage '\(stage.name)' could not start: \(error)")
            // Scratch space, pipes, spawning: the runner's own failure; a job the cluster refused
            // (its resources) is the stage's.
            if case .refused? = error as? StoreError {} else { result.isInternalFailure = true }
            if !scratch.isEmpty { ContentStore.removeTree(scratch) }
            deliver(result)
            return nil
        }
        condition.lock()
        running[stage.name] = process
        // An interrupt that came while this stage was being submitted did not see it.
        let missedInterrupt = interrupted
        condition.unlock()
        if missedInterrupt { process.stop(force: false) }
        return Begun(process: process, scratch: scratch, logPath: logPath, outputs: outputDirs)
    }

    /// Waits for a started stage, passing its progress on, then commits it and delivers its result.
    private func watch(_ begun: Begun, stage: StageSpec, facts: StageFacts, reasons: [String], started: Date) {
        let process = begun.process
        let logPath = begun.logPath
        let scratch = begun.scratch
        let outputDirectories = begun.outputs

        var metrics: [String: Double] = [:]
        var lastReported: [String] = []
        var points: [Ledger.MetricPoint] = []
        var flushed = Date()
        let end = process.finish { report in
            if !report.metrics.isEmpty { lastReported = report.metrics.keys.sorted() }
            for (k, v) in report.metrics {
                metrics[k] = v
                points.append(Ledger.MetricPoint(step: report.step, name: k, value: v))
            }
            // In batches, but at least once a second, so `metrics --watch` follows a slow stage.
            if points.count >= 256 || (!points.isEmpty && Date().timeIntervalSince(flushed) >= 1) {
                try? ledger.record(run: runID, stage: stage.name, points: points)
                points = []
                flushed = Date()
            }
            reporter.report(.progress(stage: stage.name, step: report.step, total: report.total, metrics: report.metrics,
                                      message: report.message))
        }
        try? ledger.record(run: runID, stage: stage.name, points: points)
        let log: String? = logPath
        var result = StageResult(name: stage.name, status: .ran, reasons: reasons, seconds: Date().timeIntervalSince(started),
                                 facts: facts, exitCode: end.code, log: log, metrics: metrics)
        result.started = started.timeIntervalSince1970
        let code = end.code
        let declared = project.kind(of: stage)?.schema.headline ?? []
        result.headline = (declared.isEmpty ? lastReported : declared).filter { metrics[$0] != nil }
        if code != 0 || end.reason != nil {
            result.status = isInterrupted ? .interrupted : .failed
            result.error = "stage '\(stage.name)' "
                + (end.reason ?? (code > 128 ? "was killed by signal \(code - 128)" : "failed with exit code \(code)"))
                + Self.tail(of: log, run: runID, stage: stage.name)
        } else {
            commitOutputs(outputDirectories, of: stage, into: &result)
            if let queued = end.queued, let ended = end.ended {
                // The price of running it as a job, measured where it is paid (docs/slurm.md).
                Self.appendNote(String(format: "anneal: submit to start %.2fs, end to commit %.2fs", queued,
                                       Date().timeIntervalSince1970 - ended), to: logPath)
            }
        }
        removeScratch(scratch)
        deliver(result)
    }

    /// The commit protocol's second half: each output checked, hashed and stored, then the
    /// action entry queued. A bad output fails the stage; an I/O error also marks a store failure.
    private func commitOutputs(_ directories: [String: String], of stage: StageSpec, into result: inout StageResult) {
        do {
            var outs: [String: OutputFact] = [:]
            let forced = options.forceAll || options.force.contains(stage.name)
            for (name, dir) in directories.sorted(by: { $0.key < $1.key }) {
                let tree = try project.store.commit(directory: dir, output: name, replacingDamaged: forced)
                outs[name] = OutputFact(digest: tree.digest, size: tree.size)
            }
            result.facts!.outputs = outs
            // The entry is written behind the batch's durability point, and the resume state
            // removed after it (`EntryWriter`); the stages after this one read the objects now.
            entries.add(ActionEntry(key: result.facts!.key, stage: stage.name, outputs: outs, metrics: result.metrics,
                                    seconds: result.seconds))
        } catch {
            result.status = .failed
            if case .output(let why) = error {
                result.error = "stage '\(stage.name)': \(why)"
            } else {
                result.error = "stage '\(stage.name)': cannot store its outputs: \(error)"
                result.isInternalFailure = true
            }
        }
    }

    /// An attempt's scratch once it is over: a local one goes back to the spares with its
    /// `params.json` (`SpareDirectories`), unless it holds anything else.
    private func removeScratch(_ scratch: String) {
        guard executor.holdsLocalCores else { return ContentStore.removeTree(scratch) }
        spares.recycle(scratch)
    }

    /// `mkdir`, or with its parents if they are missing (a Slurm job directory's `out/`).
    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o777) != 0 else { return }
        guard errno == ENOENT else { throw StoreError.system(errno, "cannot create \(path)") }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    private func deliver(_ result: StageResult) {
        condition.lock()
        running[result.name] = nil
        finished.append(result)
        condition.broadcast()
        condition.unlock()
    }

    /// The argv that runs the stage: inline commands and plugins through `/bin/sh -c`,
    /// built-ins through the `anneal` binary itself. Paths enter the command quoted for where
    /// their token stands (`CommandTemplate`), so a path with a space or a `$(…)` in its name
    /// stays one literal word.
    private func commandLine(_ stage: StageSpec, inputs: [String: String], outputs: [String: String]) throws(StoreError) -> [String] {
        func expand(_ template: String, plugin: String?) -> String {
            CommandTemplate.expand(template, keepEscapes: false) { expr, _ in
                let parts = expr.split(separator: ".", maxSplits: 1).map(String.init)
                switch (parts.first, parts.count) {
                case ("inputs", 2): return Self.inputValue(parts[1], stage: stage, paths: inputs)
                case ("outputs", 2): return outputs[parts[1]].map(Value.string)
                case ("plugin", 1): return plugin.map(Value.string)
                default: return nil
                }
            }
        }
        switch stage.action {
        case .command(let c):
            return ["/bin/sh", "-c", expand(c, plugin: nil)]
        case .uses(let k):
            switch project.registry.kinds[k]?.launch {
            case .plugin(let dir, let c, _)?: return ["/bin/sh", "-c", expand(c, plugin: dir)]
            case .builtin?: return project.builtinLauncher + [k]
            case nil: throw .io("unknown stage kind '\(k)'")
            }
        }
    }

    /// The last lines of a failed stage's log, and the command that prints all of it.
    static func tail(of log: String?, run: String, stage: String, lines count: Int = 10) -> String {
        guard let log, let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { return "" }
        let shown = lines.suffix(count)
        return "; last \(shown.count == lines.count ? "lines" : "\(shown.count) of \(lines.count) lines") of its log:\n"
            + shown.map { "    " + $0 }.joined(separator: "\n") + "\n  whole log: anneal log \(run) \(stage)"
    }

    static func envName(_ s: String) -> String { EnvironmentName.of(s) }

    /// Appends a line of the runner's own to a stage log.
    static func appendNote(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// `ANNEAL_INPUTS` and `ANNEAL_OUTPUTS` up to this many bytes are passed in the environment,
    /// larger ones as `ANNEAL_INPUTS_FILE` / `ANNEAL_OUTPUTS_FILE` (Linux: 128 KiB per string).
    static let largestInlineMap = 64 * 1024
}
