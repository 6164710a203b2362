import Foundation

/// The report's pictures as inline SVG: a line chart per metric and the stage graph.
enum ReportSVG {
    /// Distinct under the common colour-vision deficiencies (Okabe–Ito), then darker shades.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
                          "#004C7A", "#8F3F00", "#006B4F", "#8A4F72"]

    static func color(_ i: Int) -> String { palette[i % palette.count] }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Coordinates with at most 4 significant digits past what a pixel needs.
    static func px(_ v: Double) -> String { String(format: "%.1f", v) }

    /// About `count` round tick values (1, 2 or 5 × 10^k apart) covering lo...hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var t = ceil(lo / step) * step
        while t <= hi + step * 1e-9, out.count < 50 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%.3g", v)
    }

    /// One metric's curves, steps on x. Non-finite values are left out of the path.
    static func chart(_ c: ReportData.Chart, lines: [ReportData.Line]) -> String {
        let (w, h) = (520.0, 240.0)
        let (left, right, top, bottom) = (58.0, 14.0, 12.0, 34.0)
        let points = c.series.flatMap(\.points).filter { $0.1.isFinite }
        var (x0, x1) = (points.map(\.0).min() ?? 0, points.map(\.0).max() ?? 1)
        var (y0, y1) = (points.map(\.1).min() ?? 0, points.map(\.1).max() ?? 1)
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 { (y0, y1) = (y0 - max(abs(y0) * 0.1, 1e-6), y1 + max(abs(y1) * 0.1, 1e-6)) }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - pad, y1 + pad)
        func sx(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (w - left - right) }
        func sy(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * (h - top - bottom) }

        var svg = "<svg class=\"chart\" data-metric=\"\(escape(c.id))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"\(escape(c.id)) by step\">"
        svg += "<rect class=\"plot\" x=\"\(px(left))\" y=\"\(px(top))\" width=\"\(px(w - left - right))\" height=\"\(px(h - top - bottom))\"/>"
        for t in ticks(y0, y1) {
            svg += "<line class=\"grid\" x1=\"\(px(left))\" x2=\"\(px(w - right))\" y1=\"\(px(sy(t)))\" y2=\"\(px(sy(t)))\"/>"
            svg += "<text class=\"tick\" x=\"\(px(left - 6))\" y=\"\(px(sy(t) + 4))\" text-anchor=\"end\">\(label(t))</text>"
        }
        for t in ticks(x0, x1) {
            svg += "<text class=\"tick\" x=\"\(px(sx(t)))\" y=\"\(px(h - bottom + 16))\" text-anchor=\"middle\">\(label(t))</text>"
        }
        svg += "<text class=\"axis\" x=\"\(px(w - right))\" y=\"\(px(h - 4))\" text-anchor=\"end\">step</text>"
        for s in c.series {
            var d = ""
            var pen = "M"
            for (x, y) in s.points {
                guard y.isFinite else { pen = "M"; continue }
                d += "\(pen)\(px(sx(x))) \(px(sy(y)))"
                pen = "L"
            }
            let name = lines.indices.contains(s.line) ? lines[s.line].label : ""
            svg += "<path class=\"series\" data-line=\"\(escape(name))\" d=\"\(d)\" stroke=\"\(color(lines.indices.contains(s.line) ? lines[s.line].color : s.line))\"><title>\(escape(name))</title></path>"
        }
        return svg + "</svg>"
    }

    /// The stage graph, left to right: a stage's column is its longest path from a source;
    /// within a column, file order. Edges are curves from an output's right edge.
    static func dag(_ nodes: [ReportData.Node]) -> String {
        let names = Set(nodes.map(\.name))
        var layer: [String: Int] = [:]
        func depth(_ n: ReportData.Node, _ seen: Set<String>) -> Int {
            if let d = layer[n.name] { return d }
            let ups = n.upstream.filter { names.contains($0) && !seen.contains($0) }
            let d = ups.compactMap { u in nodes.first { $0.name == u } }.map { depth($0, seen.union([n.name])) + 1 }.max() ?? 0
            layer[n.name] = d
            return d
        }
        for n in nodes { _ = depth(n, []) }
        let columns = (layer.values.max() ?? 0) + 1
        var byColumn = [[ReportData.Node]](repeating: [], count: columns)
        for n in nodes { byColumn[layer[n.name]!].append(n) }
        let rowHeight = 46.0, boxHeight = 34.0, gap = 56.0
        // A 12px monospace name is about 7.3px a character, the 10px kind line about 6px.
        let widths = byColumn.map { col in
            min(440, max(90, (col.map { max(Double($0.name.count) * 7.4, Double($0.kind.count + $0.status.count + 3) * 6.2) }.max() ?? 60) + 18))
        }
        var xs: [Double] = []
        var x = 10.0
        for w in widths { xs.append(x); x += w + gap }
        let height = Double(byColumn.map(\.count).max() ?? 1) * rowHeight + 10
        var pos: [String: (x: Double, y: Double, w: Double)] = [:]
        for (c, col) in byColumn.enumerated() {
            let offset = (height - Double(col.count) * rowHeight) / 2
            for (r, n) in col.enumerated() { pos[n.name] = (xs[c], offset + Double(r) * rowHeight + 6, widths[c]) }
        }
        let width = x - gap + 10
        var svg = "<svg id=\"dag\" class=\"dag\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"stage graph\">"
        for n in nodes {
            guard let to = pos[n.name] else { continue }
            for u in n.upstream {
                guard let from = pos[u] else { continue }
                let (ax, ay) = (from.x + from.w, from.y + boxHeight / 2), (bx, by) = (to.x, to.y + boxHeight / 2)
                let mid = (ax + bx) / 2
                svg += "<path class=\"edge\" d=\"M\(px(ax)) \(px(ay)) C\(px(mid)) \(px(ay)) \(px(mid)) \(px(by)) \(px(bx)) \(px(by))\"/>"
            }
        }
        for n in nodes {
            guard let p = pos[n.name] else { continue }
            let status = n.status.replacingOccurrences(of: " ", with: "-")
            svg += "<g class=\"dag-node status-\(escape(status))\" data-stage=\"\(escape(n.name))\"><title>\(escape(n.name)): \(escape(n.status))</title>"
            svg += "<rect x=\"\(px(p.x))\" y=\"\(px(p.y))\" width=\"\(px(p.w))\" height=\"\(px(boxHeight))\" rx=\"5\"/>"
            svg += "<text x=\"\(px(p.x + 8))\" y=\"\(px(p.y + 14))\" class=\"name\">\(escape(n.name))</text>"
            svg += "<text x=\"\(px(p.x + 8))\" y=\"\(px(p.y + 27))\" class=\"kind\">\(escape(n.kind)) · \(escape(n.status))</text></g>"
        }
        return svg + "</svg>"
    }
}
