/// Writes `Value`s as JSON straight into UTF-8 bytes: canonical (no whitespace) for action
/// keys, indented for files people read. Keys are sorted as Swift sorts strings, strings are
/// escaped as `Value.jsonQuoted` documents. A no-op run hashes a key per stage, so this runs
/// a thousand times per command and appends bytes, never intermediate strings.
struct JSONWriter {
    var bytes: [UInt8] = []
    let indent: [UInt8]?

    init(indent: [UInt8]?) {
        self.indent = indent
        bytes.reserveCapacity(256)
    }

    mutating func write(_ v: Value, level: Int = 0) {
        switch v {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .int(let i): append(String(i))
        case .double(let d): append(d.isFinite ? Value.format(d) : "null")
        case .string(let s): quote(s)
        case .list(let items):
            if items.isEmpty { append("[]"); return }
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(level + 1)
                write(item, level: level + 1)
            }
            newline(level)
            bytes.append(UInt8(ascii: "]"))
        case .map(let m):
            if m.isEmpty { append("{}"); return }
            bytes.append(UInt8(ascii: "{"))
            for (i, key) in m.keys.sorted().enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(level + 1)
                quote(key)
                bytes.append(UInt8(ascii: ":"))
                if indent != nil { bytes.append(UInt8(ascii: " ")) }
                write(m[key]!, level: level + 1)
            }
            newline(level)
            bytes.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func newline(_ level: Int) {
        guard let indent else { return }
        bytes.append(0x0A)
        for _ in 0..<level { bytes.append(contentsOf: indent) }
    }

    /// `s` in double quotes. Most strings need no escaping: one pass over the bytes against a
    /// table, then a single copy; only a string with a flagged byte goes scalar by scalar.
    mutating func quote(_ s: String) {
        var s = s
        let plain = s.withUTF8 { utf8 -> Bool in
            for b in utf8 where Self.flagged[Int(b)] { return false }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
        if !plain { quoteSlowly(s) }
    }

    /// Bytes that may need an escape: controls, `"`, `\`, DEL, and the lead bytes 0xC2, 0xE2
    /// and 0xEF, which start every multi-byte character escaped below.
    private static let flagged: [Bool] = (0...255).map { b in
        b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F || b == 0xC2 || b == 0xE2 || b == 0xEF
    }

    private mutating func quoteSlowly(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for u in s.unicodeScalars {
            switch u {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\r": append("\\r")
            case "\t": append("\\t")
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
                || u.value == 0xFFFE || u.value == 0xFFFF:
                append("\\u")
                let digits = Array("0123456789abcdef".utf8)
                for shift in stride(from: 12, through: 0, by: -4) { bytes.append(digits[Int(u.value >> UInt32(shift)) & 15]) }
            default: bytes.append(contentsOf: String(u).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
