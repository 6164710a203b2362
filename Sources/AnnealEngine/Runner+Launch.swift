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
/// (`Runner+State.swift`).
///
/// Commit: outputs are written into a private scratch directory; on exit 0 each output is
/// hashed and renamed into the objects, then the action entry is written. A crash at any
/// point leaves at most an unreferenced scratch directory, removed by the next run.
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
        let scratch: String
        let process: StageProcess
        var outputDirs: [String: String] = [:]
        let logPath: String
        do {
            scratch = try project.store.makeScratch(stage: stage.name)
            for o in stage.outputs {
                outputDirs[o] = "\(scratch)/out/\(o)"
                try FileManager.default.createDirectory(atPath: outputDirs[o]!, withIntermediateDirectories: true)
            }
            let paramsPath = "\(scratch)/params.json"
            try writeAtomically(stage.params.prettyJSON, to: paramsPath)
            // Straight into the run's logs, so `anneal log RUN STAGE` reads it while the stage runs.
            let logDir = "\(project.store.logsDir)/\(runID)"
            try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
            logPath = "\(logDir)/\(stage.name).log"
            let inputs = project.inputPaths(of: stage, facts: facts.inputs)
            let argv = try commandLine(stage, inputs: inputs, outputs: outputDirs)
            var env = ProcessInfo.processInfo.environment
            for (k, v) in inputs { env["ANNEAL_INPUT_" + Self.envName(k)] = v }
            for (k, v) in outputDirs { env["ANNEAL_OUTPUT_" + Self.envName(k)] = v }
            for (name, paths) in [("ANNEAL_INPUTS", inputs), ("ANNEAL_OUTPUTS", outputDirs)] {
                let json = Value.map(paths.mapValues(Value.string)).canonicalJSON
                if json.utf8.count <= Self.largestInlineMap {
                    env[name] = json
                } else {
                    // Linux refuses to start a process with one environment string past 128 KiB
                    // (a join of a thousand inputs); such a map goes in a file beside params.json.
                    let file = "\(scratch)/\(name.dropFirst("ANNEAL_".count).lowercased()).json"
                    try writeAtomically(json, to: file)
                    env[name + "_FILE"] = file
                }
            }
            env["ANNEAL_PARAMS"] = paramsPath
            env["ANNEAL_SEED"] = stage.readsSeed ? String(stage.seed) : nil
            env["ANNEAL_THREADS"] = String(threadBudget(of: stage))
            env["ANNEAL_STAGE"] = stage.name
            env["ANNEAL_KIND"] = stage.kindName
            env["ANNEAL_WORKSPACE"] = project.workspace
            env["ANNEAL_RUN"] = runID
            env["ANNEAL_PROGRESS_FD"] = "3"
            env["ANNEAL_STATE_DIR"] = try project.store.makeStateDirectory(key: facts.key)
            if case .plugin(let dir, _, _)? = project.kind(of: stage)?.launch { env["ANNEAL_PLUGIN_DIR"] = dir }
            process = try StageProcess(argv: argv, environment: env, directory: project.workspace, logPath: logPath)
        } catch {
            var result = StageResult(name: stage.name, status: .failed, reasons: reasons, facts: facts,
                                     error: "stage '\(stage.name)' could not start: \(error)")
            result.isInternalFailure = true  // scratch space, pipes, spawning: the runner's own failure
            deliver(result)
            return
        }
        condition.lock()
        running[stage.name] = process
        condition.unlock()
        record(StageResult(name: stage.name, status: .ran, reasons: reasons, log: logPath), started: started.timeIntervalSince1970, status: "running")

        let outputDirectories = outputDirs
        DispatchQueue.global().async { [self] in
            var metrics: [String: Double] = [:]
            var lastReported: [String] = []
            var points: [Ledger.MetricPoint] = []
            let code = process.wait { report in
                if !report.metrics.isEmpty { lastReported = report.metrics.keys.sorted() }
                for (k, v) in report.metrics {
                    metrics[k] = v
                    points.append(Ledger.MetricPoint(step: report.step, name: k, value: v))
                }
                if points.count >= 256 { try? ledger.record(run: runID, stage: stage.name, points: points); points = [] }
                reporter.report(.progress(stage: stage.name, step: report.step, total: report.total, metrics: report.metrics,
                                          message: report.message))
            }
            try? ledger.record(run: runID, stage: stage.name, points: points)
            let log: String? = logPath
            var result = StageResult(name: stage.name, status: .ran, reasons: reasons, seconds: Date().timeIntervalSince(started),
                                     facts: facts, exitCode: code, log: log, metrics: metrics)
            let declared = project.kind(of: stage)?.schema.headline ?? []
            result.headline = (declared.isEmpty ? lastReported : declared).filter { metrics[$0] != nil }
            if code != 0 {
                result.status = isInterrupted ? .interrupted : .failed
                result.error = "stage '\(stage.name)' \(code > 128 ? "was killed by signal \(code - 128)" : "failed with exit code \(code)")"
                    + Self.tail(of: log, run: runID, stage: stage.name)
            } else {
                commitOutputs(outputDirectories, of: stage, into: &result)
            }
            ContentStore.removeTree(scratch)
            record(result, started: started.timeIntervalSince1970, status: result.status.rawValue)
            deliver(result)
        }
    }

    /// The commit protocol's second half: each output checked, hashed and stored, then the
    /// action entry. A bad output fails the stage; an I/O error also marks a store failure.
    private func commitOutputs(_ directories: [String: String], of stage: StageSpec, into result: inout StageResult) {
        do {
            var outs: [String: OutputFact] = [:]
            let forced = options.forceAll || options.force.contains(stage.name)
            for (name, dir) in directories.sorted(by: { $0.key < $1.key }) {
                let tree = try project.store.commit(directory: dir, output: name, replacingDamaged: forced)
                outs[name] = OutputFact(digest: tree.digest, size: tree.size)
            }
            result.facts!.outputs = outs
            try actions.record(ActionEntry(key: result.facts!.key, stage: stage.name, outputs: outs, metrics: result.metrics,
                                           seconds: result.seconds))
            // Committed: a resumable stage's checkpoints are no longer needed.
            project.store.removeStateDirectory(key: result.facts!.key)
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

    private func deliver(_ result: StageResult) {
        condition.lock()
        running[result.name] = nil
        finished.append(result)
        condition.broadcast()
        condition.unlock()
    }

    func record(_ r: StageResult, started: Double, status: String) {
        try? ledger.record(Ledger.Execution(runID: runID, stage: r.name, status: status, key: r.facts?.key, started: started,
                                            finished: status == "running" ? nil : Date().timeIntervalSince1970,
                                            exitCode: r.exitCode.map(Int.init), error: r.error, log: r.log))
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
                case ("inputs", 2): return inputs[parts[1]].map(Value.string)
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

    /// `ANNEAL_INPUTS` and `ANNEAL_OUTPUTS` up to this many bytes are passed in the environment,
    /// larger ones as `ANNEAL_INPUTS_FILE` / `ANNEAL_OUTPUTS_FILE` (Linux: 128 KiB per string).
    static let largestInlineMap = 64 * 1024
}
