import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write one self-contained HTML report of runs: the stage graph, curves, final metrics, stages.",
        discussion: """
            Without RUN, the last run of the pipeline (-p, default: \(defaultPipeline)). Several \
            runs, or the variants of a sweep, are overlaid in one chart per metric, with a legend \
            and a table of the parameters that differ. The file needs no network and no script.
            """)

    @Argument(help: "Runs: ids, unique prefixes, or 'last'.")
    var runs: [String] = []
    @Option(name: .shortAndLong, help: "Where to write the report.")
    var output = "report.html"
    @Option(name: [.short, .customLong("pipeline")], help: "Pipeline whose last run is reported (default: \(defaultPipeline)).")
    var pipelineFile: String?
    @OptionGroup var cache: CacheOption

    func run() throws {
        let ledger = try openLedger(cache)
        let reader = ExperimentReader(ledger: ledger, actions: ActionCache(store: cache.store))
        var chosen: [Ledger.Run] = []
        if runs.isEmpty {
            let file = try PipelineOptions.named(pipelineFile).file
            guard let last = try ledger.runs(limit: 10_000).first(where: { $0.pipeline == file }) else {
                throw UsageError("no run of \(file) in \(cache.path); run it first, or name a run (anneal runs lists them)")
            }
            chosen = [last]
        } else {
            for ref in runs {
                let r = try findRun(ref, in: ledger)
                if !chosen.contains(where: { $0.id == r.id }) { chosen.append(r) }
            }
        }
        // The graph comes from the pipeline file as it is now, if it still loads.
        let project = try? Workspace.project(try PipelineOptions.named(chosen.last!.pipeline), store: cache.store)
        let data = try ReportData.gather(runs: chosen, reader: reader, project: project)
        let html = ReportHTML.page(data, generated: Date())
        let path = Workspace.userPath(output)
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw StoreError.io("cannot create \(dir): \(error.localizedDescription)")
            }
        }
        try writeAtomically(html, to: path)
        let size = html.utf8.count
        print("wrote \(output) (\(size >= 1024 ? "\(size / 1024) KiB" : "\(size) bytes"); \(data.charts.count) chart\(data.charts.count == 1 ? "" : "s"), \(data.lines.count) line\(data.lines.count == 1 ? "" : "s"))")
    }
}
