/// Bounds on what anneal reads from files it did not write itself (and from those it did:
/// a lockfile or action entry can be edited or damaged). A file past a bound is refused with
/// its location rather than walked by recursive code until the stack runs out.
public enum Limits {
    /// Levels of nested lists and mappings in any YAML or JSON anneal reads.
    public static let depth = 256
    /// A lockfile records a stage's values under `stages.NAME.params`/`referenced`: a few
    /// levels deeper than the pipeline held them.
    public static let lockfileDepth = depth + 8
    /// `threads:` of a stage or plugin: enough for any machine, small enough that sums of
    /// them never overflow.
    public static let threads = 1...4096
    /// `tasks:` of a data-parallel stage (processes, each with `threads` cores).
    public static let tasks = 1...1024
}

/// Rejects bytes that are not clean UTF-8 text before a parser sees them, with the line and
/// column of the first bad one: libyaml's own reader errors carry no position.
enum TextCheck {
    static func firstProblem(in bytes: [UInt8], file: String) -> Diagnostic? {
        var line = 1, column = 1, i = 0
        func at(_ message: String, hint: String? = nil) -> Diagnostic {
            Diagnostic(SourceMark(file: file, line: line, column: column), message, hint: hint)
        }
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x20 && b < 0x7F {
                i += 1; column += 1
                continue
            }
            // LF, CRLF and a lone CR each end a line, as libyaml counts them.
            if b == 0x0A || (b == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A)) { i += 1; line += 1; column = 1; continue }
            if b == 0x09 || b == 0x0D { i += 1; column += 1; continue }
            if b == 0 { return at("NUL byte in the file", hint: "a text file holds no NUL bytes; is this a binary file?") }
            guard let (scalar, length) = decode(bytes, at: i) else {
                return at("invalid UTF-8 (byte 0x\(hex(b)))", hint: "save the file as UTF-8")
            }
            if !isPrintable(scalar) {
                let code = "U+" + String(repeating: "0", count: max(0, 4 - String(scalar, radix: 16).count)) + String(scalar, radix: 16, uppercase: true)
                return at("control character \(code) is not allowed in YAML", hint: "write it as an escape in a double-quoted string, e.g. \"\\u\(code.dropFirst(2))\"")
            }
            i += length; column += 1
        }
        return nil
    }

    /// YAML 1.2's printable set, less what the caller already accepted.
    private static func isPrintable(_ s: UInt32) -> Bool {
        s == 0x85 || (0xA0...0xD7FF).contains(s) || (0xE000...0xFFFD).contains(s) || (0x10000...0x10FFFF).contains(s)
    }

    private static func hex(_ b: UInt8) -> String {
        let h = String(b, radix: 16, uppercase: true)
        return h.count == 1 ? "0" + h : h
    }

    /// One well-formed UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF).
    private static func decode(_ bytes: [UInt8], at i: Int) -> (UInt32, Int)? {
        let b = bytes[i]
        let length: Int, low: UInt8, high: UInt8
        var scalar: UInt32
        switch b {
        case 0x00..<0x80: return (UInt32(b), 1)
        case 0xC2...0xDF: (length, low, high, scalar) = (2, 0x80, 0xBF, UInt32(b & 0x1F))
        case 0xE0: (length, low, high, scalar) = (3, 0xA0, 0xBF, 0)
        case 0xED: (length, low, high, scalar) = (3, 0x80, 0x9F, 0xD)
        case 0xE1...0xEF: (length, low, high, scalar) = (3, 0x80, 0xBF, UInt32(b & 0x0F))
        case 0xF0: (length, low, high, scalar) = (4, 0x90, 0xBF, 0)
        case 0xF4: (length, low, high, scalar) = (4, 0x80, 0x8F, 4)
        case 0xF1...0xF3: (length, low, high, scalar) = (4, 0x80, 0xBF, UInt32(b & 0x07))
        default: return nil
        }
        guard i + length <= bytes.count else { return nil }
        for k in 1..<length {
            let c = bytes[i + k]
            guard k == 1 ? (low...high).contains(c) : (0x80...0xBF).contains(c) else { return nil }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        return (scalar, length)
    }
}
