import AnnealPipeline
import Foundation

/// The memo on disk: a header, the SHA-256 of the body, then one tab-separated record per
/// line. Text fields escape `%`, tab, newline and NUL as `%25 %09 %0A %00`. Lines, not JSON:
/// a 1,000-stage memo parses in a fraction of the time of the action entries it stands for.
extension NoOpMemo {
    public func encoded() -> [UInt8] {
        var body = ""
        body.reserveCapacity(256 + stages.count * 200)
        func line(_ fields: [String]) { body += fields.joined(separator: "\t"); body += "\n" }
        func state(_ s: FileState) -> [String] { [String(s.device), String(s.inode), String(s.size), String(s.mtimeNs)] }
        line(["identity", Self.escape(identity)])
        line(["pipeline", pipelineDigest])
        line(["lock", lockDigest ?? "-"])
        line(["lockfile", Self.escape(lockfile)])
        line(["exe"] + state(executable))
        line(["fingerprint", Self.escape(fingerprint)])
        line(["executor", executor.map(Self.escape) ?? "-"])
        line(["params", Self.escape(params)])
        for i in inputs { line(["input"] + state(i.state) + [Self.escape(i.path)]) }
        for s in stages {
            let outputs = s.outputs.sorted { $0.key < $1.key }.map { "\(Self.escapeItem($0.key))=\($0.value.digest)=\($0.value.size)" }
            // Metrics by their bits: a cached stage's figures come back exactly.
            let metrics = s.metrics.sorted { $0.key < $1.key }.map { "\(Self.escapeItem($0.key))=\(String($0.value.bitPattern, radix: 16))" }
            line(["stage", Self.escape(s.name), s.key] + state(s.entry) + [outputs.joined(separator: ","), metrics.joined(separator: ",")])
        }
        for s in summaries { line(["summary", Self.escape(s.stage), Self.escape(s.file), Self.escape(s.path)]) }
        line(["end"])
        let bodyBytes = Array(body.utf8)
        return Array("\(Self.header)\nsum\t\(Digest.of(bodyBytes))\n".utf8) + bodyBytes
    }

    /// Nil for anything but a whole, intact memo of this format.
    public static func parse(_ bytes: [UInt8]) -> NoOpMemo? {
        let head = Array((header + "\nsum\t").utf8)
        guard bytes.count > head.count + 65, bytes.starts(with: head), bytes[head.count + 64] == 0x0A else { return nil }
        let sum = String(decoding: bytes[head.count..<head.count + 64], as: UTF8.self)
        let bodyStart = head.count + 65
        guard Digest.of(bytes[bodyStart...]) == sum else { return nil }
        var memo = NoOpMemo(identity: "", pipelineDigest: "", lockDigest: nil, lockfile: "", executable: .init(device: 0, inode: 0, size: 0, mtimeNs: 0),
                            fingerprint: "", executor: nil, params: "", inputs: [], stages: [], summaries: [])
        var seen: Set<String> = []
        var ended = false
        // Byte ranges of one line's fields: a 1,000-stage memo is read field by field without
        // a String per field (only names, keys and digests become Strings).
        var fields: [Range<Int>] = []
        fields.reserveCapacity(8)
        return bytes.withUnsafeBufferPointer { buf -> NoOpMemo? in
            func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: buf[r]), as: UTF8.self) }
            func int(_ r: Range<Int>) -> Int64? {
                var v: Int64 = 0
                var i = r.lowerBound
                let negative = i < r.upperBound && buf[i] == 0x2D
                if negative { i += 1 }
                guard i < r.upperBound, r.count <= 20 else { return nil }
                while i < r.upperBound {
                    let d = buf[i] &- 0x30
                    guard d < 10 else { return nil }
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int64(d))
                    guard !o1, !o2 else { return nil }
                    v = a
                    i += 1
                }
                return negative ? -v : v
            }
            func state(_ at: Int) -> FileState? {
                guard let d = int(fields[at]), let n = int(fields[at + 1]), let s = int(fields[at + 2]), let m = int(fields[at + 3]) else { return nil }
                return FileState(device: d, inode: n, size: s, mtimeNs: m)
            }
            /// `a=b=c,d=e`: the `=`-separated parts of each `,`-separated item.
            func items(_ r: Range<Int>) -> [[Range<Int>]] {
                guard !r.isEmpty else { return [] }
                var out: [[Range<Int>]] = [[]]
                var f = r.lowerBound
                for i in r.lowerBound...r.upperBound where i == r.upperBound || buf[i] == 0x2C || buf[i] == 0x3D {
                    out[out.count - 1].append(f..<i)
                    if i < r.upperBound, buf[i] == 0x2C { out.append([]) }
                    f = i + 1
                }
                return out
            }
            func isDigest(_ r: Range<Int>) -> Bool {
                r.count == 64 && buf[r].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
            }
            var lineStart = bodyStart
            while lineStart < buf.count {
                var lineEnd = lineStart
                while lineEnd < buf.count, buf[lineEnd] != 0x0A { lineEnd += 1 }
                guard lineEnd < buf.count, !ended else { return nil }  // every line ends in a newline; none after `end`
                fields.removeAll(keepingCapacity: true)
                var f = lineStart
                for i in lineStart...lineEnd where i == lineEnd || buf[i] == 0x09 {
                    fields.append(f..<i)
                    f = i + 1
                }
                let tag = text(fields[0])
                switch (tag, fields.count) {
                case ("stage", 9):
                    guard isDigest(fields[2]), let entry = state(3) else { return nil }
                    var outputs: [String: OutputFact] = [:]
                    for item in items(fields[7]) {
                        guard item.count == 3, isDigest(item[1]), let size = int(item[2]) else { return nil }
                        outputs[unescape(text(item[0]))] = OutputFact(digest: text(item[1]), size: size)
                    }
                    var metrics: [String: Double] = [:]
                    for item in items(fields[8]) {
                        guard item.count == 2, item[1].count <= 16, let bits = UInt64(text(item[1]), radix: 16) else { return nil }
                        metrics[unescape(text(item[0]))] = Double(bitPattern: bits)
                    }
                    memo.stages.append(Stage(name: unescape(text(fields[1])), key: text(fields[2]), entry: entry, outputs: outputs, metrics: metrics))
                case ("identity", 2): memo.identity = unescape(text(fields[1]))
                case ("pipeline", 2) where isDigest(fields[1]): memo.pipelineDigest = text(fields[1])
                case ("lock", 2) where isDigest(fields[1]) || text(fields[1]) == "-":
                    memo.lockDigest = isDigest(fields[1]) ? text(fields[1]) : nil
                case ("lockfile", 2): memo.lockfile = unescape(text(fields[1]))
                case ("exe", 5):
                    guard let s = state(1) else { return nil }
                    memo.executable = s
                case ("fingerprint", 2): memo.fingerprint = unescape(text(fields[1]))
                case ("executor", 2): memo.executor = text(fields[1]) == "-" ? nil : unescape(text(fields[1]))
                case ("params", 2): memo.params = unescape(text(fields[1]))
                case ("input", 6):
                    guard let s = state(1) else { return nil }
                    memo.inputs.append(Input(path: unescape(text(fields[5])), state: s))
                case ("summary", 4):
                    memo.summaries.append(Summary(stage: unescape(text(fields[1])), file: unescape(text(fields[2])), path: unescape(text(fields[3]))))
                case ("end", 1): ended = true
                default: return nil
                }
                if tag != "stage", tag != "input", tag != "summary", tag != "end", !seen.insert(tag).inserted { return nil }
                lineStart = lineEnd + 1
            }
            guard ended, seen.count == 8 else { return nil }
            return memo
        }
    }

    // Escaping works on UTF-8 bytes, not Characters: a `%` or a digit followed by a
    // combining mark is one Character, so a Character-wise unescape missed escapes that a
    // scalar-wise escape had written (found by the fuzzer). Only ASCII bytes are replaced
    // by ASCII, so valid UTF-8 stays valid.
    static func escape(_ s: String) -> String { escape(s, separators: false) }

    /// `escape`, and the separators of an item list (`,` and `=`).
    static func escapeItem(_ s: String) -> String { escape(s, separators: true) }

    private static func escape(_ s: String, separators: Bool) -> String {
        func special(_ b: UInt8) -> Bool { b == 0x25 || b == 0x09 || b == 0x0A || b == 0 || (separators && (b == 0x2C || b == 0x3D)) }
        guard s.utf8.contains(where: special) else { return s }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 8)
        for b in s.utf8 {
            if special(b) { out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]] } else { out.append(b) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The inverse of `escape`/`escapeItem`; a `%` not starting one of their codes is kept.
    static func unescape(_ s: String) -> String {
        guard s.utf8.contains(0x25) else { return s }
        let bytes = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let b = decoded(bytes[i + 1], bytes[i + 2]) {
                out.append(b)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func decoded(_ hi: UInt8, _ lo: UInt8) -> UInt8? {
        switch (hi, lo) {
        case (0x32, 0x35): 0x25  // %25
        case (0x30, 0x39): 0x09  // %09
        case (0x30, 0x41): 0x0A  // %0A
        case (0x30, 0x30): 0x00  // %00
        case (0x32, 0x43): 0x2C  // %2C
        case (0x33, 0x44): 0x3D  // %3D
        default: nil
        }
    }
}
