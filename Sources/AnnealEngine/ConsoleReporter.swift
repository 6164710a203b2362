import Foundation

/// Shows a run on stderr: on a terminal, a live line per running stage (name, elapsed,
/// step/total, rate, ETA, last metric) redrawn in place; otherwise plain timestamped lines,
/// with progress at most every `quietInterval` seconds per stage, so logs stay readable.
public final class ConsoleReporter: RunReporter, @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal: Bool
    private let quietInterval: Double
    private var live: [String: Live] = [:]
    private var order: [String] = []
    private var drawnLines = 0
    private var lastDraw = 0.0

    private struct Live {
        var started: Double
        var step: Int?
        var total: Int?
        var firstStep: (Int, Double)?
        var metrics: [String: Double] = [:]
        var message: String?
        var lastPrinted = 0.0
    }

    public init(isTerminal: Bool = isatty(2) == 1, quietInterval: Double = 10) {
        self.isTerminal = isTerminal
        self.quietInterval = quietInterval
    }

    public func report(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        switch event {
        case .waiting(let message):
            emit(message)
        case .started(let stage, let reasons):
            live[stage] = Live(started: now)
            order.append(stage)
            emit("▶ \(stage)" + (reasons.isEmpty ? "" : " (\(Self.summary(of: reasons)))"))
        case .progress(let stage, let step, let total, let metrics, let message):
            guard var l = live[stage] else { return }
            if let step { l.step = step; if l.firstStep == nil { l.firstStep = (step, now) } }
            if let total { l.total = total }
            l.metrics.merge(metrics) { _, b in b }
            if let message { l.message = message }
            if !isTerminal, now - l.lastPrinted >= quietInterval {
                l.lastPrinted = now
                live[stage] = l
                emit("  \(describe(stage, l, now))")
            } else {
                live[stage] = l
            }
            if isTerminal, now - lastDraw > 0.1 { redraw(now) }
        case .finished(let r):
            for line in finished(r) { emit(line) }
        }
    }

    /// Finished stages (a no-op run's thousand cached ones) written in one go.
    public func report(batch: [RunEvent]) {
        guard batch.allSatisfy({ if case .finished = $0 { true } else { false } }) else { return batch.forEach(report) }
        lock.lock()
        defer { lock.unlock() }
        emit(batch.flatMap { event -> [String] in
            guard case .finished(let r) = event else { return [] }
            return finished(r)
        })
    }

    /// Forgets a finished stage's live line; its lines to print.
    private func finished(_ r: StageResult) -> [String] {
        live[r.name] = nil
        order.removeAll { $0 == r.name }
        let mark = ["ran": "✓", "cached": "·", "failed": "✗", "skipped": "-", "interrupted": "!"][r.status.rawValue] ?? "?"
        var line = "\(mark) \(r.name) \(r.status.rawValue)"
        if r.status == .ran { line += String(format: " in %.1fs", r.seconds) }
        if r.status == .ran { for name in r.headline { if let v = r.metrics[name] { line += "  \(name) \(Self.short(v))" } } }
        if r.status == .skipped, let why = r.reasons.first { line += " (\(why))" }
        return [line] + (r.error.map { ["  " + $0.replacingOccurrences(of: "\n", with: "\n  ")] } ?? [])
    }

    private func describe(_ stage: String, _ l: Live, _ now: Double) -> String {
        var parts = [stage, Self.duration(now - l.started)]
        if let step = l.step {
            parts.append(l.total.map { "step \(step)/\($0)" } ?? "step \(step)")
            if let (s0, t0) = l.firstStep, step > s0, now > t0 {
                // Steps come from the stage: in Double, no difference of them can overflow.
                let rate = (Double(step) - Double(s0)) / (now - t0)
                parts.append(String(format: "%.1f steps/s", rate))
                if let total = l.total, rate > 0 { parts.append("ETA " + Self.duration((Double(total) - Double(step)) / rate)) }
            }
        }
        for (k, v) in l.metrics.sorted(by: { $0.key < $1.key }).prefix(3) { parts.append("\(k) \(Self.short(v))") }
        if let m = l.message { parts.append(m) }
        return parts.joined(separator: "  ")
    }

    private func emit(_ line: String) { emit([line]) }

    private func emit(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        if isTerminal {
            clearLive()
            FileHandle.standardError.write(Data(lines.map { $0 + "\n" }.joined().utf8))
            redraw(Date().timeIntervalSince1970)
        } else {
            let clock = "[\(Self.clock())] "
            FileHandle.standardError.write(Data(lines.map { clock + $0 + "\n" }.joined().utf8))
        }
    }

    private func clearLive() {
        guard drawnLines > 0 else { return }
        FileHandle.standardError.write(Data(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawnLines).utf8))
        drawnLines = 0
    }

    private func redraw(_ now: Double) {
        clearLive()
        // A live line that wrapped would take two rows, and the cursor-up that clears it one.
        let width = Self.terminalWidth()
        let lines = order.compactMap { name in live[name].map { Self.fit("  ⋯ " + describe(name, $0, now), width: width) } }
        if !lines.isEmpty { FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8)) }
        drawnLines = lines.count
        lastDraw = now
    }

    /// The terminal's columns (TIOCGWINSZ on `fd`), else `$COLUMNS`, else 80.
    static func terminalWidth(fd: Int32 = 2, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        var size = winsize()
        if withUnsafeMutablePointer(to: &size, { ioctl(fd, UInt(TIOCGWINSZ), $0) }) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let c = environment["COLUMNS"].flatMap(Int.init), c > 0 { return c }
        return 80
    }

    /// `line` cut to fit in `width` columns, with `…` where it was cut; the last column stays
    /// free so that a full line never makes the terminal wrap.
    static func fit(_ line: String, width: Int) -> String {
        let room = max(1, width - 1)
        return line.count <= room ? line : String(line.prefix(room - 1)) + "…"
    }

    /// The first `limit` reasons and how many were left out: `a; b; c; +2 more`.
    public static func summary(of reasons: [String], limit: Int = 3) -> String {
        let shown = reasons.prefix(limit).joined(separator: "; ")
        return reasons.count > limit ? shown + "; +\(reasons.count - limit) more" : shown
    }

    /// Local wall-clock time as HH:mm:ss (a DateFormatter per line cost 40% of a no-op run).
    static func clock() -> String {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, abs(s) < 1e12 else { return "?" }
        return s < 60 ? String(format: "%.1fs", s) : s < 3600 ? "\(Int(s) / 60)m\(String(format: "%02d", Int(s) % 60))s"
            : "\(Int(s) / 3600)h\(String(format: "%02d", Int(s) % 3600 / 60))m"
    }

    /// A metric for people: integers as integers, anything else to 4 significant digits, with
    /// no exponent from 1,000 up (12345.678 → 12350, 0.123456 → 0.1235).
    static func short(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        if abs(v) >= 1000, abs(v) < 1e15 {
            let unit = pow(10, floor(log10(abs(v))) - 3)
            return String(Int((v / unit).rounded() * unit))
        }
        return String(format: "%.4g", v)
    }
}
