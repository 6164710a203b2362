import AnnealEngine
import Foundation

/// `anneal metrics STAGE --watch`: follows the stage's next (or current) execution through
/// the ledger until it ends. On a terminal it redraws two lines — the latest value of every
/// metric, and a sparkline of the loss — twice a second; otherwise it prints one line per new
/// step, so a log or a pipe gets a plain record.
struct MetricsWatch {
    var stage: String
    var ledgerPath: String
    var interval = 0.5

    static let bars = Array("▁▂▃▄▅▆▇█")

    /// The last `width` values as bars between their own minimum and maximum.
    static func sparkline(_ values: [Double], width: Int = 40) -> String {
        let v = values.suffix(width).filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return "" }
        return String(v.map { hi > lo ? bars[min(bars.count - 1, Int((($0 - lo) / (hi - lo)) * Double(bars.count - 1) + 0.5))] : bars[0] })
    }

    static func line(_ series: [String: [(Int?, Double)]]) -> String {
        let step = series.values.compactMap { $0.last?.0 }.max()
        let values = series.sorted { $0.key < $1.key }.compactMap { k, pts in pts.last.map { "\(k) \(formatNumber($0.1))" } }
        return (step.map { "step \($0)  " } ?? "") + values.joined(separator: "  ")
    }

    func run() throws {
        let started = Date().timeIntervalSince1970
        let tty = isatty(STDOUT_FILENO) == 1
        var ledger: Ledger?
        var drawn = 0
        var lastStep: Int? = nil
        var announced = false
        while true {
            if ledger == nil, FileManager.default.fileExists(atPath: ledgerPath) { ledger = try Ledger(path: ledgerPath) }
            // The current execution, or the next one: a finished one from before the watch began is history.
            if let ledger, let e = try ledger.latestExecution(stage: stage), e.status == "running" || (e.started ?? 0) >= started - 1 {
                let series = try ledger.series(run: e.runID, stage: stage)
                let loss = series["loss"] ?? series.sorted { $0.key < $1.key }.first?.value ?? []
                let step = series.values.compactMap { $0.last?.0 }.max()
                let done = e.status != "running"
                let head = "\(stage)  \(done ? e.status : "running")  " + Self.line(series)
                let spark = loss.isEmpty ? "" : "\(series["loss"] != nil ? "loss" : "") \(Self.sparkline(loss.map(\.1)))"
                if tty {
                    let width = terminalWidth()
                    var out = drawn > 0 ? "\r\u{1B}[\(drawn)A" : ""
                    for l in [head, spark] { out += "\r\u{1B}[K" + String(l.prefix(width)) + "\n" }
                    FileHandle.standardOutput.write(Data(out.utf8))
                    drawn = 2
                } else if step != lastStep || done {
                    Self.emit((done ? "\(stage) \(e.status): " : "\(stage) ") + Self.line(series))
                }
                lastStep = step
                if done { return }
            } else if !announced {
                Self.emit("waiting for \(stage) to start…")
                announced = true
            }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    /// Unbuffered, so a pipe sees each line as it happens.
    static func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    func terminalWidth() -> Int {
        var w = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 { return Int(w.ws_col) }
        return Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 100
    }
}
