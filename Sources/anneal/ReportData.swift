import AnnealEngine
import AnnealPipeline
import Foundation

/// What `anneal report` draws, gathered from the ledger and the action cache before any HTML
/// is written. A *line* is what a legend names: a run, a sweep variant, or (for several runs
/// of a sweep) a run's variant. Stages are compared under the names the file gives them, so
/// the four `fit@…` variants are four lines of the one `fit` chart.
struct ReportData {
    struct Node {
        var name: String
        var kind: String
        var status: String
        var upstream: [String]
    }

    struct Line {
        var label: String
        var color: Int
    }

    struct Series {
        var line: Int
        /// (step, value), steps increasing; a point without a step takes its index.
        var points: [(Double, Double)]
    }

    struct Chart {
        /// `fit.loss`.
        var id: String
        var stage: String
        var metric: String
        var series: [Series]
    }

    /// One stage's final metrics per line; `X_ci_low.G` and `X_ci_high.G` are shown with `X.G`.
    struct Table {
        var stage: String
        var columns: [String]
        var rows: [(line: Int, cells: [String: (value: Double, low: Double?, high: Double?)])]
    }

    struct StageRow {
        var line: Int
        var run: String
        var stage: StageSnapshot
    }

    var title: String
    var runs: [Ledger.Run]
    var nodes: [Node] = []
    var lines: [Line] = []
    var charts: [Chart] = []
    var tables: [Table] = []
    var stageRows: [StageRow] = []
    /// Parameters that differ between lines: name → value per line.
    var params: [(name: String, values: [Value?])] = []

    /// `fit` for `fit@lr=0.1`.
    static func split(_ name: String) -> (base: String, suffix: String?) {
        guard let at = name.firstIndex(of: "@") else { return (name, nil) }
        return (String(name[..<at]), String(name[name.index(after: at)...]))
    }
}

extension ReportData {
    static func gather(runs: [Ledger.Run], reader: ExperimentReader, project: Project?) throws -> ReportData {
        let experiments = try runs.map { try reader.experiment(run: $0) }
        var data = ReportData(title: project?.spec.name ?? runs.last?.pipeline ?? "report", runs: runs)
        let several = runs.count > 1
        var lineIndex: [String: Int] = [:]
        var lineParams: [[String: Value]] = []
        var series: [String: [Series]] = [:]
        var finals: [String: [(Int, [String: Double])]] = [:]
        var chartOrder: [String] = []

        var isVariant: [Bool] = []
        for (r, e) in zip(runs, experiments) {
            var shared: [String: Value] = [:]
            for (name, s) in e.stages where split(name).suffix == nil {
                for (k, v) in s.params { shared["\(name).\(k)"] = v }
            }
            for (name, s) in e.stages {
                let (base, suffix) = split(name)
                // A stage outside the sweep is drawn once per run, under the run's id.
                let label = suffix.map { several ? r.id + " " + $0 : $0 } ?? r.id
                let line: Int
                if let i = lineIndex[label] {
                    line = i
                } else {
                    line = data.lines.count
                    lineIndex[label] = line
                    data.lines.append(Line(label: label, color: line))
                    lineParams.append(shared)
                    isVariant.append(suffix != nil)
                }
                for (k, v) in s.params { lineParams[line]["\(base).\(k)"] = v }
                data.stageRows.append(StageRow(line: line, run: r.id, stage: s))
                try addSeries(of: s, base: base, line: line, reader: reader, into: &series, finals: &finals, order: &chartOrder)
            }
        }
        // Variants take the first colours; a run's own line (its stages outside the sweep) the rest.
        let order = data.lines.indices.sorted { (isVariant[$0] ? 0 : 1, $0) < (isVariant[$1] ? 0 : 1, $1) }
        for (rank, i) in order.enumerated() { data.lines[i].color = rank }
        for id in chartOrder {
            let dot = id.firstIndex(of: "\u{1}")!
            data.charts.append(Chart(id: id.replacingOccurrences(of: "\u{1}", with: "."), stage: String(id[..<dot]),
                                     metric: String(id[id.index(after: dot)...]), series: series[id]!))
        }
        // Comparisons first: the charts that overlay several runs or variants, then the rest.
        data.charts = data.charts.enumerated().sorted { a, b in
            (a.element.series.count > 1 ? 0 : 1, a.offset) < (b.element.series.count > 1 ? 0 : 1, b.offset)
        }.map(\.element)
        data.tables = finals.keys.sorted { a, b in
            (chartOrder.firstIndex { $0.hasPrefix(a + "\u{1}") } ?? .max, a) < (chartOrder.firstIndex { $0.hasPrefix(b + "\u{1}") } ?? .max, b)
        }.map { table(stage: $0, rows: finals[$0]!) }
        // With a sweep, the variants are what differ; a run's own line holds only shared stages.
        let compared = isVariant.contains(true) ? lineParams.indices.filter { isVariant[$0] } : Array(lineParams.indices)
        data.params = differingKeys(compared.map { lineParams[$0] }).map { k in (k, lineParams.indices.map { compared.contains($0) ? lineParams[$0][k] : nil }) }
        data.nodes = graph(project: project, last: experiments.last)
        return data
    }

    /// Curves (two or more points) become charts; every metric's last value goes to its stage's table.
    private static func addSeries(of s: StageSnapshot, base: String, line: Int, reader: ExperimentReader,
                                  into series: inout [String: [Series]], finals: inout [String: [(Int, [String: Double])]],
                                  order: inout [String]) throws {
        var last = s.metrics
        if let run = s.producerRun {
            for (metric, points) in try reader.ledger.series(run: run, stage: s.name).sorted(by: { $0.key < $1.key }) {
                last[metric] = points.last?.1 ?? last[metric]
                guard points.count >= 2 else { continue }
                let id = base + "\u{1}" + metric
                if series[id] == nil { order.append(id) }
                let xy = points.enumerated().map { i, p in (Double(p.0 ?? i), p.1) }
                series[id, default: []].append(Series(line: line, points: downsample(xy)))
            }
        }
        if !last.isEmpty { finals[base, default: []].append((line, last)) }
    }

    private static func table(stage: String, rows: [(Int, [String: Double])]) -> Table {
        var columns: [String] = []
        var out: [(line: Int, cells: [String: (value: Double, low: Double?, high: Double?)])] = []
        for (line, metrics) in rows {
            var cells: [String: (value: Double, low: Double?, high: Double?)] = [:]
            for (name, v) in metrics where interval(name) == nil {
                cells[name] = (v, metrics[bound(name, "low")], metrics[bound(name, "high")])
                if !columns.contains(name) { columns.append(name) }
            }
            out.append((line, cells))
        }
        return Table(stage: stage, columns: columns.sorted(), rows: out)
    }

    /// `win_rate_ci_low.vs_mean` → `win_rate.vs_mean`; nil for a metric that is no bound.
    static func interval(_ name: String) -> String? {
        let (head, tail) = name.firstIndex(of: ".").map { (String(name[..<$0]), String(name[$0...])) } ?? (name, "")
        for b in ["_ci_low", "_ci_high"] where head.hasSuffix(b) { return String(head.dropLast(b.count)) + tail }
        return nil
    }

    static func bound(_ name: String, _ which: String) -> String {
        let (head, tail) = name.firstIndex(of: ".").map { (String(name[..<$0]), String(name[$0...])) } ?? (name, "")
        return head + "_ci_" + which + tail
    }

    /// At most 2 × 300 points per curve: the minimum and the maximum of each of 300 buckets, in
    /// step order, so spikes survive and a 100,000-step series stays a small path.
    static func downsample(_ points: [(Double, Double)], buckets: Int = 300) -> [(Double, Double)] {
        guard points.count > 2 * buckets else { return points }
        var out: [(Double, Double)] = []
        out.reserveCapacity(2 * buckets)
        for b in 0..<buckets {
            let lo = b * points.count / buckets, hi = (b + 1) * points.count / buckets
            var mi = lo, ma = lo
            for i in lo..<hi {
                if points[i].1 < points[mi].1 { mi = i }
                if points[i].1 > points[ma].1 { ma = i }
            }
            out.append(points[min(mi, ma)])
            if mi != ma { out.append(points[max(mi, ma)]) }
        }
        return out
    }

    /// The pipeline's stages with their edges, coloured by the last run's statuses; without a
    /// loadable pipeline, the run's stages alone.
    private static func graph(project: Project?, last: Experiment?) -> [Node] {
        let status = Dictionary((last?.stages ?? []).map { ($0.key, $0.stage.status) }, uniquingKeysWith: { a, _ in a })
        if let project {
            return project.spec.stages.map { Node(name: $0.name, kind: $0.kindName, status: status[$0.name] ?? "not run", upstream: $0.upstreamStages) }
        }
        return (last?.stages ?? []).map { Node(name: $0.key, kind: $0.stage.kind, status: $0.stage.status, upstream: []) }
    }
}
