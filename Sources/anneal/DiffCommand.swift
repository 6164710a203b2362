import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Compare two runs, lockfiles or sweep variants: parameters that differ, stages whose keys differ, metric deltas.",
        discussion: """
            A and B are each a run (id, unique prefix, or 'last'), a lockfile (a path ending in \
            .lock), or a variant of the pipeline's sweep (its name, e.g. fit@lr=0.1, or its \
            suffix, lr=0.1). Variants are compared stage by stage under the names the file gives \
            the stages.
            """)

    @Argument(help: "Run, lockfile or variant.")
    var a: String
    @Argument(help: "Run, lockfile or variant.")
    var b: String
    @Option(name: [.short, .customLong("pipeline")], help: "Pipeline whose variants are named (default: \(defaultPipeline)).")
    var pipelineFile: String?
    @OptionGroup var cache: CacheOption
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let reader = ExperimentReader(ledger: try openLedger(cache), actions: ActionCache(store: cache.store))
        var variants: [Experiment]?
        func resolve(_ ref: String) throws -> Experiment {
            if ref.hasSuffix(".lock"), FileManager.default.fileExists(atPath: Workspace.userPath(ref)) {
                return try reader.experiment(lockfile: Workspace.userPath(ref))
            }
            if ref.contains("=") {
                if variants == nil {
                    variants = try reader.variants(try Workspace.project(try PipelineOptions.named(pipelineFile), store: cache.store))
                }
                let suffix = ref.split(separator: "@", maxSplits: 1).last.map(String.init) ?? ref
                if let v = variants!.first(where: { $0.label == suffix }) { return v }
                throw UsageError("no variant '\(ref)' in the pipeline's sweeps"
                                 + (variants!.map(\.label).closest(to: suffix).map { "; did you mean '\($0)'?" } ?? "; variants: \(variants!.map(\.label).joined(separator: ", "))"))
            }
            return try reader.experiment(run: try findRun(ref, in: reader.ledger))
        }
        let x = try resolve(a), y = try resolve(b)
        let d = ExperimentDiff(x, y)
        if json { printJSON(d.json) } else { print(d.text) }
    }
}

struct ExperimentDiff {
    var a: Experiment
    var b: Experiment
    var params: [(name: String, a: Value?, b: Value?)] = []
    var stages: [(name: String, a: String?, b: String?)] = []
    var metrics: [(name: String, a: Double?, b: Double?)] = []

    init(_ a: Experiment, _ b: Experiment) {
        self.a = a
        self.b = b
        let pa = a.flatParams, pb = b.flatParams
        params = Set(pa.keys).union(pb.keys).sorted().filter { pa[$0] != pb[$0] }.map { ($0, pa[$0], pb[$0]) }
        var names = a.stages.map(\.key)
        for k in b.stages.map(\.key) where !names.contains(k) { names.append(k) }
        stages = names.compactMap { n in
            let ka = a.stage(n)?.key, kb = b.stage(n)?.key
            return ka == kb ? nil : (n, ka, kb)
        }
        let ma = a.flatMetrics, mb = b.flatMetrics
        var metricNames: [String] = []
        for n in names {
            let own = Set((a.stage(n)?.metrics.keys.map { "\(n).\($0)" } ?? []) + (b.stage(n)?.metrics.keys.map { "\(n).\($0)" } ?? []))
            metricNames += own.sorted()
        }
        metrics = metricNames.map { ($0, ma[$0], mb[$0]) }
    }

    var json: Value {
        func opt(_ v: Value?) -> Value { v ?? .null }
        return .map([
            "a": .string(a.label), "b": .string(b.label),
            "params": .list(params.map { .map(["name": .string($0.name), "a": opt($0.a), "b": opt($0.b)]) }),
            "stages": .list(stages.map { .map(["name": .string($0.name), "a": opt($0.a.map(Value.string)), "b": opt($0.b.map(Value.string))]) }),
            "metrics": .list(metrics.map { m in
                .map(["name": .string(m.name), "a": opt(m.a.map(Value.double)), "b": opt(m.b.map(Value.double)),
                      "delta": opt(m.a.flatMap { x in m.b.map { Value.double($0 - x) } })])
            }),
        ])
    }

    var text: String {
        var out = ["a: \(a.label)", "b: \(b.label)", ""]
        out.append(params.isEmpty ? "parameters: the same" : "parameters that differ:")
        for p in params { out.append("  \(p.name): \(p.a?.displayString ?? "(none)") → \(p.b?.displayString ?? "(none)")") }
        out.append(stages.isEmpty ? "stage keys: the same" : "stages whose keys differ:")
        for s in stages { out.append("  \(s.name): \(s.a.map { String($0.prefix(12)) } ?? "(none)") → \(s.b.map { String($0.prefix(12)) } ?? "(none)")") }
        out.append(metrics.isEmpty ? "metrics: none recorded" : "metrics:")
        for m in metrics {
            let delta = m.a.flatMap { x in m.b.map { y in (y - x >= 0 ? "+" : "") + formatNumber(y - x) } }
            out.append("  \(m.name): \(m.a.map(formatNumber) ?? "-") → \(m.b.map(formatNumber) ?? "-")" + (delta.map { "  (\($0))" } ?? ""))
        }
        return out.joined(separator: "\n")
    }
}
