import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Say which stages are fresh or stale, and why.")

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cache: CacheOption
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        // Nothing changed since the last full run (`NoOpMemo`): every stage fresh, said without
        // parsing the pipeline. A memo written by a local run speaks for any executor here.
        if let memo = NoOpFastPath.memo(pipeline, store: cache.store, executorOption: "local") {
            return Self.showFresh(memo, store: cache.store, json: json, pipeline: pipeline.file)
        }
        try Self.show(try Workspace.project(pipeline, store: cache.store), json: json, dryRun: false)
    }

    /// What `show` prints when every stage is fresh, from the memo.
    static func showFresh(_ memo: NoOpMemo, store: ContentStore, json: Bool, pipeline: String) {
        let jobs = inFlightJobs(store: store)
        let rows = memo.stages.map { Row(name: $0.name, isFresh: true, reasons: [], job: jobs["\($0.name) \($0.key)"]) }
        printRows(rows, pipeline: pipeline, json: json, dryRun: false)
    }

    static func show(_ project: Project, json: Bool, dryRun: Bool, only: Set<String>? = nil, force: Set<String> = []) throws {
        // Parsed only for the reasons of a stale stage; an unreadable one gives no reasons.
        let lock = LockSnapshot(path: project.lockPath) { _ in }
        let ledger = Workspace.existingLedger(project.store)
        let stats = try StatCache(ledger: ledger)
        let statuses = Planner(project: project, stats: stats).status(lock: lock, only: only, force: force)
        let jobs = inFlightJobs(store: project.store)
        let rows = statuses.map { s in
            Row(name: s.name, isFresh: s.isFresh, reasons: s.reasons, job: s.facts.flatMap { jobs["\(s.name) \($0.key)"] })
        }
        printRows(rows, pipeline: project.pipelinePath, json: json, dryRun: dryRun)
    }

    /// One stage's line of `status`, however it was decided (the planner or the no-op memo).
    struct Row {
        var name: String
        var isFresh: Bool
        var reasons: [String]
        /// The Slurm job a run has in flight for the stage's key, if any.
        var job: SlurmJobStatus?
    }

    /// Stages a Slurm run has in flight (docs/slurm.md), by "stage key".
    static func inFlightJobs(store: ContentStore) -> [String: SlurmJobStatus] {
        Dictionary(SlurmJobStatus.inFlight(store: store).map { ("\($0.stage) \($0.key)", $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func printRows(_ rows: [Row], pipeline: String, json: Bool, dryRun: Bool) {
        if json {
            printJSON(.map([
                "pipeline": .string(pipeline),
                "stages": .list(rows.map {
                    var m: [String: Value] = ["name": .string($0.name), "status": .string($0.isFresh ? "fresh" : "stale"),
                                              "reasons": .list($0.reasons.map(Value.string))]
                    if let j = $0.job { m["job"] = jobJSON(j) }
                    return .map(m)
                }),
            ]))
            return
        }
        let width = rows.map(\.name.count).max() ?? 0
        for s in rows {
            let name = s.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let verb = dryRun ? (s.isFresh ? "cached" : "would run") : (s.isFresh ? "fresh" : "stale")
            print("\(name)  \(verb)" + (s.reasons.isEmpty ? "" : ": " + s.reasons.joined(separator: "; "))
                  + (s.job.map { " [\($0.summary)]" } ?? ""))
        }
        let stale = rows.filter { !$0.isFresh }.count
        print(stale == 0 ? "everything is fresh" : "\(stale) of \(rows.count) stages \(dryRun ? "would run" : "stale")")
    }

    static func jobJSON(_ j: SlurmJobStatus) -> Value {
        .map(["id": .int(j.job), "state": .string(j.state), "reason": .string(j.reason),
              "queued_seconds": j.queuedSeconds.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
              "running_seconds": j.runningSeconds.map { .double(($0 * 1000).rounded() / 1000) } ?? .null])
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a pipeline file and report every problem with file:line:col.")

    @OptionGroup var pipeline: PipelineOptions

    func run() throws {
        let p = try Workspace.project(pipeline, store: ContentStore(root: "cache"))
        print("\(pipeline.file): valid, \(p.spec.stages.count) stage\(p.spec.stages.count == 1 ? "" : "s")")
    }
}

struct Dag: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dag", abstract: "Show the stage graph.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, dot, mermaid }

    @OptionGroup var pipeline: PipelineOptions
    @Option(help: "text, dot or mermaid.")
    var format: Format = .text

    func run() throws {
        let p = try Workspace.project(pipeline, store: ContentStore(root: "cache"))
        let stages = PipelineGraph.topologicalOrder(p.spec.stages)
        switch format {
        case .text:
            let sweepSizes = Dictionary(grouping: stages.compactMap(\.variant), by: \.base).mapValues(\.count)
            for s in stages {
                print("\(s.name) (\(s.kindName))" + (s.variant.map { Self.describe($0, of: sweepSizes[$0.base] ?? 0) } ?? ""))
                for i in s.inputs { print("  ← \(i.name): \(i.sourceDescription)") }
                if !s.outputs.isEmpty { print("  → \(s.outputs.joined(separator: ", "))") }
            }
        case .dot:
            print("digraph \(Value.jsonQuoted(p.spec.name)) {\n  rankdir=LR;")
            for s in stages where s.variant == nil { print("  \(Value.jsonQuoted(s.name)) [shape=box, label=\(Value.jsonQuoted("\(s.name)\n\(s.kindName)"))];") }
            // A sweep's variants in one box per stage as written, so the expansion reads at a glance.
            for (base, group) in Dictionary(grouping: stages.filter { $0.variant != nil }, by: \.baseName).sorted(by: { $0.key < $1.key }) {
                let v = group[0].variant!
                let label = v.base == v.sweep ? "\(base): matrix, \(group.count) variants" : "\(base): along \(v.sweep), \(group.count) variants"
                print("  subgraph \(Value.jsonQuoted("cluster_" + base)) {\n    label=\(Value.jsonQuoted(label));")
                for s in group { print("    \(Value.jsonQuoted(s.name)) [shape=box, label=\(Value.jsonQuoted("\(s.name)\n\(s.kindName)"))];") }
                print("  }")
            }
            for s in stages {
                for i in s.inputs {
                    switch i.source {
                    case .stage(let u, let o): print("  \(Value.jsonQuoted(u)) -> \(Value.jsonQuoted(s.name)) [label=\(Value.jsonQuoted("\(o) → \(i.name)"))];")
                    case .file(let f):
                        print("  \(Value.jsonQuoted("file:" + f)) [shape=note, label=\(Value.jsonQuoted(f))];")
                        print("  \(Value.jsonQuoted("file:" + f)) -> \(Value.jsonQuoted(s.name)) [label=\(Value.jsonQuoted(i.name))];")
                    }
                }
            }
            print("}")
        case .mermaid:
            print("graph LR")
            let id = { (n: String) in "s_" + n.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() + Self.disambiguator(n) }
            for s in stages { print("  \(id(s.name))[\"\(s.name)<br/>\(s.kindName)\"]") }
            for s in stages {
                for i in s.inputs {
                    switch i.source {
                    case .stage(let u, let o): print("  \(id(u)) -->|\(o)| \(id(s.name))")
                    case .file(let f): print("  \(id("file_" + f))[/\"\(f)\"/] -->|\(i.name)| \(id(s.name))")
                    }
                }
            }
        }
    }
}

extension Dag {
    /// Mermaid ids keep only letters, digits and `_`: a variant's name (`fit@lr=1e-4` and
    /// `fit@lr=1e+4` map alike) gets a stable FNV-1a hash of its bytes appended.
    static func disambiguator(_ name: String) -> String {
        guard name.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else { return "" }
        var h: UInt32 = 2_166_136_261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return "_" + String(h, radix: 16)
    }

    /// `  [matrix sft: 2/4]` or `  [along sft: 2/4]`.
    static func describe(_ v: StageVariant, of count: Int) -> String {
        "  [\(v.base == v.sweep ? "matrix" : "along") \(v.sweep): \(v.index + 1)/\(count)]"
    }
}

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "path", abstract: "Print where the bytes of STAGE.OUTPUT are.")

    @Argument(help: "STAGE.OUTPUT")
    var reference: String
    @Option(name: [.short, .customLong("pipeline")], help: "Pipeline file (default: \(defaultPipeline)).")
    var pipelineFile: String?
    @Option(name: .customLong("set"), help: "The same --set overrides as the run that made STAGE.OUTPUT.")
    var overrides: [String] = []
    @OptionGroup var cache: CacheOption

    func run() throws {
        let project = try Workspace.project(try PipelineOptions.named(pipelineFile, overrides: overrides), store: cache.store)
        print(try Self.resolve(reference, in: project))
    }

    /// The object directory of a fresh stage's output; a stale stage is an error, since its
    /// current output does not exist yet.
    static func resolve(_ reference: String, in project: Project) throws -> String {
        // At the last dot: output names have none, a variant's name may (`sft@lr=0.001`).
        let parts = reference.lastIndex(of: ".").map { [String(reference[..<$0]), String(reference[reference.index(after: $0)...])] } ?? [reference]
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw UsageError("expected STAGE.OUTPUT, found '\(reference)'") }
        guard let stage = project.spec.stage(named: parts[0]) else {
            throw UsageError("no stage '\(parts[0])' in \(project.pipelinePath)"
                             + (project.spec.stages.map(\.name).closest(to: parts[0]).map { "; did you mean '\($0)'?" } ?? ""))
        }
        guard stage.outputs.contains(parts[1]) else {
            throw UsageError("stage '\(stage.name)' has no output '\(parts[1])'"
                             + (stage.outputs.closest(to: parts[1]).map { "; did you mean '\(stage.name).\($0)'?" } ?? "; outputs: \(stage.outputs.joined(separator: ", "))"))
        }
        let ledger = Workspace.existingLedger(project.store)
        let statuses = Planner(project: project, stats: try StatCache(ledger: ledger)).status(lock: try? Workspace.readLock(project.lockPath))
        guard let s = statuses.first(where: { $0.name == stage.name }), s.isFresh, let d = s.entry?.outputs[parts[1]]?.digest else {
            let why = statuses.first { $0.name == stage.name }?.reasons.joined(separator: "; ") ?? ""
            printError("error: stage '\(stage.name)' is stale (\(why)); run `anneal run \(project.pipelinePath)` first")
            throw Failure(code: Exit.failed)
        }
        return project.store.objectPath(d)
    }
}
