import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Exp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exp", abstract: "Compare experiments: runs of a pipeline, or the variants of its sweeps.",
                                                    subcommands: [ExpShow.self])
}

/// The rows `exp show` prints: parameter columns that differ, then metric columns.
struct ExperimentTable {
    var mode: String
    var rows: [Experiment]
    var params: [String]
    var metrics: [String]
    /// The metric column the rows are sorted by, kept when columns are narrowed to headlines.
    var sortedBy: String?

    func param(_ row: Experiment, _ name: String) -> Value? {
        mode == "variants" ? row.matrix.first { $0.key == name }?.value : row.flatParams[name]
    }

    func sorted(by metric: String) throws -> ExperimentTable {
        let column = metrics.first { $0 == metric } ?? metrics.first { $0.hasSuffix("." + metric) }
        guard let column else {
            throw UsageError("no metric '\(metric)' to sort by; metrics: \(metrics.joined(separator: ", "))")
        }
        var t = self
        t.sortedBy = column
        // Stable: rows without the metric keep their order, last.
        t.rows = rows.enumerated().sorted { a, b in
            switch (a.element.flatMetrics[column], b.element.flatMetrics[column]) {
            case (let x?, let y?): x != y ? x < y : a.offset < b.offset
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.offset < b.offset
            }
        }.map(\.element)
        return t
    }

    var json: Value {
        .map(["mode": .string(mode), "params": .list(params.map(Value.string)), "metrics": .list(metrics.map(Value.string)),
              "rows": .list(rows.map { r in
                  var m: [String: Value] = [
                      "name": .string(r.label),
                      "params": .map(Dictionary(params.compactMap { p in param(r, p).map { (p, $0) } }, uniquingKeysWith: { a, _ in a })),
                      "metrics": .map(r.flatMetrics.filter { metrics.contains($0.key) }.mapValues(Value.double)),
                  ]
                  if let run = r.run { m["run"] = .string(run) }
                  return .map(m)
              })])
    }

    var cells: [[String]] {
        let header = [mode == "variants" ? "variant" : "run"] + params + metrics
        return [header] + rows.map { r in
            [r.label] + params.map { param(r, $0)?.displayString ?? "-" } + metrics.map { r.flatMetrics[$0].map(formatNumber) ?? "-" }
        }
    }

    var text: String {
        let c = cells
        let widths = c[0].indices.map { i in c.map { $0[i].count }.max() ?? 0 }
        return c.map { row in
            row.enumerated().map { i, cell in i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - cell.count) + cell }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
    var csv: String {
        cells.map { row in
            row.map { f in f.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f }
                .joined(separator: ",")
        }.joined(separator: "\n")
    }
}

struct ExpShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "One row per sweep variant (or, without a sweep, per run of the pipeline): the parameters that differ and the metrics.",
        discussion: """
            A pipeline with a `matrix:` gets one row per variant, from the results it holds now (a \
            stale variant shows '-'). Otherwise each of the last --runs runs of the pipeline is a \
            row, with the parameters it recorded. Metric columns are STAGE.METRIC, final values.
            """)

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cache: CacheOption
    @Option(help: "Sort rows by this metric, ascending (STAGE.METRIC, or METRIC when one stage has it).")
    var sort: String?
    @Option(help: "Without a sweep: how many recent runs.")
    var runs = 20
    @Flag(help: "Print one JSON object on stdout.")
    var json = false
    @Flag(help: "Print CSV on stdout.")
    var csv = false
    @Flag(help: "Every metric of every stage, not only each stage's headline metrics.")
    var allMetrics = false

    func validate() throws {
        if json && csv { throw ValidationError("choose one of --json and --csv") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let project = try Workspace.project(pipeline, store: cache.store)
        let reader = ExperimentReader(ledger: try openLedger(cache), actions: ActionCache(store: cache.store))
        var table = try Self.table(project, reader: reader, runs: runs)
        if let sort { table = try table.sorted(by: sort) }
        if !allMetrics { table.metrics = Self.headlineColumns(table.metrics, project: project, keeping: table.sortedBy) }
        if json { printJSON(table.json) } else { print(csv ? table.csv : table.text) }
    }

    static func table(_ project: Project, reader: ExperimentReader, runs limit: Int) throws -> ExperimentTable {
        let variants = try reader.variants(project)
        if !variants.isEmpty {
            let keys = variants.flatMap { $0.matrix.map(\.key) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            return ExperimentTable(mode: "variants", rows: variants, params: keys, metrics: metricColumns(variants))
        }
        let runs = try reader.ledger.runs(limit: 10_000).filter { $0.pipeline == project.pipelinePath }.prefix(limit).reversed()
        let rows = try runs.map { try reader.experiment(run: $0) }
        return ExperimentTable(mode: "runs", rows: rows, params: differingKeys(rows.map(\.flatParams)), metrics: metricColumns(rows))
    }

    /// The columns of each stage's headline metrics (its kind's `headline`; every metric of a
    /// stage whose kind names none), plus the sort column: a tinychat run reports ~200 metrics.
    static func headlineColumns(_ columns: [String], project: Project, keeping sortColumn: String?) -> [String] {
        columns.filter { column in
            guard column != sortColumn, let dot = column.firstIndex(of: ".") else { return true }
            let stage = String(column[..<dot]), metric = String(column[column.index(after: dot)...])
            guard let spec = project.spec.stages.first(where: { $0.name == stage || $0.name.hasPrefix(stage + "@") }),
                  let headline = project.kind(of: spec)?.schema.headline, !headline.isEmpty else { return true }
            return headline.contains(metric)
        }
    }

    /// Every metric some row has, stage by stage in pipeline order.
    static func metricColumns(_ rows: [Experiment]) -> [String] {
        var out: [String] = []
        for r in rows {
            for (k, s) in r.stages {
                for m in s.metrics.keys.sorted() where !out.contains("\(k).\(m)") { out.append("\(k).\(m)") }
            }
        }
        return out
    }
}
