import Foundation

/// A parameter value: what a YAML scalar, list or mapping resolves to, and what a stage
/// receives as JSON. Maps keep no order: the canonical encoding sorts keys, so two files
/// that differ only in key order give the same action key.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    case map([String: Value])

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "string"
        case .list: "list"
        case .map: "map"
        }
    }

    public subscript(key: String) -> Value? {
        if case .map(let m) = self { return m[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var mapValue: [String: Value]? { if case .map(let m) = self { m } else { nil } }
    public var listValue: [Value]? { if case .list(let l) = self { l } else { nil } }

    /// How the value reads in messages and in interpolated commands: scalars bare, the rest JSON.
    public var displayString: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): Value.format(d)
        case .string(let s): s
        case .list, .map: canonicalJSON
        }
    }

    static func format(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// Sorted keys, no whitespace, shortest round-trip floats: the bytes hashed into action keys.
    public var canonicalJSON: String {
        var out = ""
        writeJSON(into: &out, indent: nil, level: 0)
        return out
    }

    /// Indented JSON with sorted keys, for files users read (parameters, metadata).
    public var prettyJSON: String {
        var out = ""
        writeJSON(into: &out, indent: "  ", level: 0)
        return out + "\n"
    }

    func writeJSON(into out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? Value.format(d) : "null"
        case .string(let s): out += Value.jsonQuoted(s)
        case .list(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                Value.newline(&out, indent, level + 1)
                item.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            Value.newline(&out, indent, level)
            out += "]"
        case .map(let m):
            if m.isEmpty { out += "{}"; return }
            out += "{"
            for (i, key) in m.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Value.newline(&out, indent, level + 1)
                out += Value.jsonQuoted(key) + (indent == nil ? ":" : ": ")
                m[key]!.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            Value.newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ level: Int) {
        guard let indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }

    /// Also valid YAML, read back to the same string: lockfiles are written with it. So
    /// besides JSON's escapes it escapes what libyaml reads differently inside double quotes:
    /// DEL, the C1 controls and U+FFFE/U+FFFF (rejected), U+0085 (a line break, folded into a
    /// space), U+2028 and U+2029 (line breaks, which end a mapping key). Found by
    /// fuzz/run.sh lockfile.
    public static func jsonQuoted(_ s: String) -> String {
        // Most strings need no escaping: one scan of the bytes, then a single append. Lead
        // bytes 0xC2, 0xE2 and 0xEF start every multi-byte character escaped below.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0x7F
            || $0 == 0xC2 || $0 == 0xE2 || $0 == 0xEF }) {
            return "\"" + s + "\""
        }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
                || u.value == 0xFFFE || u.value == 0xFFFF:
                out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Parses one JSON text (stage metrics lines, parameter files). Nil if it is not JSON.
    public static func parseJSON(_ text: String) -> Value? {
        var parser = JSONParser(Array(text.utf8))
        guard let v = parser.parseValue() else { return nil }
        parser.skipSpace()
        return parser.atEnd ? v : nil
    }

    /// Flattens nested maps into dotted paths (`model.width`) for per-parameter comparisons.
    public func flattened(prefix: String = "") -> [String: Value] {
        guard case .map(let m) = self, !m.isEmpty else { return prefix.isEmpty ? [:] : [prefix: self] }
        var out: [String: Value] = [:]
        for (k, v) in m {
            out.merge(v.flattened(prefix: prefix.isEmpty ? k : "\(prefix).\(k)")) { a, _ in a }
        }
        return out
    }
}
