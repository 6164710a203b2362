import AnnealTrain
import Foundation

/// The files of output `curve`. Numbers are printed with fixed formats and nothing depends on
/// the clock, so a rerun gives the same bytes (`anneal repro` checks them).
enum CurveFiles {
    /// `step,lr,loss,smoothed_loss`, one row per step taken.
    static func csv(_ curve: LRRangeTest.Curve) -> String {
        var out = "step,lr,loss,smoothed_loss\n"
        for p in curve.points {
            out += "\(p.step),\(sci(p.learningRate)),\(fixed(p.loss, 6)),\(fixed(p.smoothedLoss, 6))\n"
        }
        return out
    }

    static func summary(_ curve: LRRangeTest.Curve, suggested: Double?, config: LRFind.Config) throws -> Data {
        struct Summary: Encodable {
            var suggestedLR: Double?
            var minLossLR: Double?
            var minSmoothedLoss: Double?
            var stepsRun: Int
            var diverged: Bool
            var config: LRFind.Config
            enum CodingKeys: String, CodingKey {
                case suggestedLR = "suggested_lr", minLossLR = "min_loss_lr", minSmoothedLoss = "min_smoothed_loss"
                case stepsRun = "steps_run", diverged, config
            }
        }
        let finite = { (d: Double?) in d.flatMap { $0.isFinite ? $0 : nil } }
        let s = Summary(suggestedLR: suggested, minLossLR: curve.minimum?.learningRate, minSmoothedLoss: finite(curve.minimum?.smoothedLoss),
                        stepsRun: curve.points.count, diverged: curve.hasDiverged, config: config)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(s) + Data("\n".utf8)
    }

    /// Loss (thin: each step; thick: smoothed) against lr on a log axis, the suggestion marked.
    static func svg(_ curve: LRRangeTest.Curve, suggested: Double?) -> String {
        let (W, H) = (720.0, 440.0)
        let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0)
        let points = curve.points.filter { $0.loss.isFinite && $0.smoothedLoss.isFinite }
        guard let first = points.first, let last = points.last, let lowest = curve.minimum else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"80\"><text x=\"10\" y=\"40\">no finite loss to plot</text></svg>\n"
        }
        // x: log10(lr) over the rates swept; y: from the lowest loss to 3× it (the blow-up is cut).
        let (x0, x1) = (log10(first.learningRate), max(log10(last.learningRate), log10(first.learningRate) + 1e-9))
        let yLow = min(lowest.smoothedLoss, points.map(\.loss).min()!) * 0.95
        let yHigh = max(min(points.map(\.loss).max()!, lowest.smoothedLoss * 3), yLow + 1e-6)
        func px(_ lr: Double) -> Double { left + (log10(lr) - x0) / (x1 - x0) * (W - left - right) }
        func py(_ loss: Double) -> Double { top + (1 - (min(loss, yHigh) - yLow) / (yHigh - yLow)) * (H - top - bottom) }
        func path(_ value: (LRRangeTest.Point) -> Double) -> String {
            points.map { "\(fixed(px($0.learningRate), 1)),\(fixed(py(value($0)), 1))" }.joined(separator: " ")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(W))" height="\(Int(H))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(left))" y="24" font-size="15">Learning-rate range test: loss against lr (\(points.count) steps)</text>
            <rect x="\(Int(left))" y="\(Int(top))" width="\(Int(W - left - right))" height="\(Int(H - top - bottom))" fill="none" stroke="#888"/>

            """
        for decade in Int(ceil(x0))...max(Int(ceil(x0)), Int(floor(x1))) {
            let x = fixed(px(pow(10, Double(decade))), 1)
            svg += "<line x1=\"\(x)\" y1=\"\(Int(top))\" x2=\"\(x)\" y2=\"\(Int(H - bottom))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(x)\" y=\"\(Int(H - bottom + 16))\" text-anchor=\"middle\">1e\(decade)</text>\n"
        }
        for i in 0...4 {
            let loss = yLow + (yHigh - yLow) * Double(i) / 4
            let y = fixed(py(loss), 1)
            svg += "<line x1=\"\(Int(left))\" y1=\"\(y)\" x2=\"\(Int(W - right))\" y2=\"\(y)\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(Int(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(fixed(loss, 2))</text>\n"
        }
        svg += "<text x=\"\(Int((W + left - right) / 2))\" y=\"\(Int(H - 12))\" text-anchor=\"middle\">learning rate (log scale)</text>\n"
        svg += "<text x=\"16\" y=\"\(Int((H - bottom + top) / 2))\" transform=\"rotate(-90 16 \(Int((H - bottom + top) / 2)))\" text-anchor=\"middle\">loss (nats/token)</text>\n"
        svg += "<polyline fill=\"none\" stroke=\"#9bc\" stroke-width=\"1\" points=\"\(path(\.loss))\"/>\n"
        svg += "<polyline fill=\"none\" stroke=\"#136\" stroke-width=\"2.5\" points=\"\(path(\.smoothedLoss))\"/>\n"
        if let suggested {
            let x = fixed(px(suggested), 1)
            svg += "<line x1=\"\(x)\" y1=\"\(Int(top))\" x2=\"\(x)\" y2=\"\(Int(H - bottom))\" stroke=\"#c33\" stroke-dasharray=\"5,4\"/>"
            svg += "<text x=\"\(x)\" y=\"\(Int(top + 16))\" fill=\"#c33\" dx=\"6\">suggested lr \(sci(suggested))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func fixed(_ d: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", d) }
    static func sci(_ d: Double) -> String { String(format: "%.4e", d) }
}
