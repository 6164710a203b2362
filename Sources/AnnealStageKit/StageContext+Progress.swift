import Foundation

extension StageContext {
    /// Writes one progress line on `ANNEAL_PROGRESS_FD`: `{"step", "total", "metrics",
    /// "message"}`, each part optional. The runner shows step/total, rate and ETA live,
    /// records every metric in the ledger (`anneal metrics`) and keeps the last value of each
    /// in the action cache. Non-finite values are written as `null`, which the runner skips.
    /// Without a progress descriptor (a stage started by hand) it does nothing.
    public func report(step: Int? = nil, total: Int? = nil, metrics: [String: Double] = [:], message: String? = nil) {
        guard let fd = progressFD else { return }
        var fields: [String] = []
        if !metrics.isEmpty {
            let pairs = metrics.keys.sorted().map { "\(Self.quoted($0)):\(Self.number(metrics[$0]!))" }
            fields.append("\"metrics\":{\(pairs.joined(separator: ","))}")
        }
        if let message { fields.append("\"message\":\(Self.quoted(message))") }
        if let step { fields.append("\"step\":\(step)") }
        if let total { fields.append("\"total\":\(total)") }
        let line = Array(("{" + fields.joined(separator: ",") + "}\n").utf8)
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }  // the runner stopped reading: progress is best effort
                offset += n
            }
        }
    }

    /// A line for the stage's log (stderr) that the runner also shows as progress.
    /// Only the leader logs: the log is one for all of a stage's tasks.
    public func log(_ line: String) {
        guard isLeader else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
        report(message: line)
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
