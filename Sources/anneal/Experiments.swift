import AnnealEngine
import AnnealPipeline
import Foundation

/// One stage of a compared experiment, as `exp show`, `diff` and `report` read it.
struct StageSnapshot {
    /// The stage's name in its pipeline (`fit@learning_rate=0.02,batch_size=4`).
    var name: String
    var kind: String = ""
    /// Dotted parameter names (`with.lr`, `params.width`, `seed`) → values.
    var params: [String: Value] = [:]
    var key: String?
    var status: String = ""
    var seconds: Double?
    var reasons: [String] = []
    var error: String?
    /// Final value of each metric of the result.
    var metrics: [String: Double] = [:]
    /// The run whose execution produced the result: where its metric series are.
    var producerRun: String?
    var inputs: [(name: String, from: String)] = []
}

/// A run, a lockfile or a sweep variant, with its stages keyed by a name comparable across
/// experiments: variants of one sweep are compared by the stage's name as written (`fit`).
struct Experiment {
    var label: String
    var run: String?
    /// The variant's matrix values, in the matrix's order.
    var matrix: [(key: String, value: Value)] = []
    var stages: [(key: String, stage: StageSnapshot)] = []

    func stage(_ key: String) -> StageSnapshot? { stages.first { $0.key == key }?.stage }

    /// `STAGE.with.lr` → value over every stage, for comparisons.
    var flatParams: [String: Value] {
        var out: [String: Value] = [:]
        for (k, s) in stages { for (p, v) in s.params { out["\(k).\(p)"] = v } }
        return out
    }

    var flatMetrics: [String: Double] {
        var out: [String: Double] = [:]
        for (k, s) in stages { for (m, v) in s.metrics { out["\(k).\(m)"] = v } }
        return out
    }
}

/// Where experiments come from: the ledger, the action cache, lockfiles and the pipeline.
struct ExperimentReader {
    var ledger: Ledger
    var actions: ActionCache

    /// A run as the ledger recorded it. Cached stages take their metrics from the action entry
    /// and their series from the run that produced it.
    func experiment(run r: Ledger.Run) throws -> Experiment {
        let recorded = r.params.flatMap(Value.parseJSON)?["stages"]?.mapValue ?? [:]
        var stages: [(String, StageSnapshot)] = []
        for e in try ledger.executions(run: r.id) {
            var s = StageSnapshot(name: e.stage, key: e.key, status: e.status, reasons: e.reasons, error: e.error)
            if let rec = recorded[e.stage] {
                s.params = RunParameters.flatten(stage: rec)
                s.kind = rec["kind"]?.stringValue ?? ""
            }
            if let a = e.started, let b = e.finished { s.seconds = b - a }
            if e.status == "ran" {
                s.producerRun = r.id
                s.metrics = try ledger.series(run: r.id, stage: e.stage).compactMapValues { $0.last?.1 }
            } else if e.status == "cached", let key = e.key {
                s.metrics = actions.rawEntry(key)?.metrics ?? [:]
                s.producerRun = try ledger.lastCompletedExecution(key: key)?.runID
            } else if e.status == "failed" || e.status == "interrupted" {
                s.producerRun = r.id
                s.metrics = try ledger.series(run: r.id, stage: e.stage).compactMapValues { $0.last?.1 }
            }
            stages.append((e.stage, s))
        }
        return Experiment(label: r.id, run: r.id, stages: stages)
    }

    /// The stages a lockfile records, with the metrics of their cached results.
    func experiment(lockfile path: String) throws -> Experiment {
        let lock = try Lockfile.read(path, verifyKeys: false)
        var stages: [(String, StageSnapshot)] = []
        for (name, f) in lock.stages.sorted(by: { $0.key < $1.key }) {
            var s = StageSnapshot(name: name, kind: f.kind, key: f.key, status: "locked")
            for (k, v) in f.params.flattened() { s.params["with." + k] = v }
            for (k, v) in f.referenced where k != "seed" { s.params[k] = v }
            if let seed = f.seed { s.params["seed"] = .int(seed) }
            s.metrics = actions.rawEntry(f.key)?.metrics ?? [:]
            s.producerRun = try ledger.lastCompletedExecution(key: f.key)?.runID
            stages.append((name, s))
        }
        return Experiment(label: path, stages: stages)
    }

    /// One experiment per variant of each sweep of the pipeline, from the results it holds
    /// now (stale variants have no metrics), in the sweep's order.
    func variants(_ project: Project) throws -> [Experiment] {
        let lock = try? Workspace.readLock(project.lockPath)
        let statuses = Planner(project: project, stats: try StatCache(ledger: ledger)).status(lock: lock ?? nil)
        let byName = Dictionary(statuses.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [Experiment] = []
        var index: [String: Int] = [:]
        for spec in project.spec.stages {
            guard let v = spec.variant else { continue }
            let id = "\(v.sweep)#\(v.index)"
            if index[id] == nil {
                index[id] = out.count
                out.append(Experiment(label: v.suffix, matrix: v.assignments.map { ($0.key, $0.value) }))
            }
            var s = StageSnapshot(name: spec.name, kind: spec.kindName)
            s.params = RunParameters.flatten(stage: RunParameters.record(spec))
            if let st = byName[spec.name] {
                s.key = st.facts?.key ?? st.entry?.key
                s.status = st.isFresh ? "fresh" : "stale"
                s.reasons = st.reasons
                if st.isFresh, let entry = st.entry {
                    s.metrics = entry.metrics
                    s.seconds = entry.seconds
                    s.producerRun = try ledger.lastCompletedExecution(key: entry.key)?.runID
                }
            }
            out[index[id]!].stages.append((v.base, s))
        }
        return out
    }
}

/// Numbers as the tables print them: integers as integers, else 4 significant digits.
func formatNumber(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
    let s = String(format: "%.4g", d)
    return s
}

/// Columns that vary between the given rows: a value missing from a row counts as a difference.
func differingKeys(_ rows: [[String: Value]]) -> [String] {
    let keys = Set(rows.flatMap(\.keys))
    return keys.filter { k in Set(rows.map { $0[k] }).count > 1 }.sorted()
}
