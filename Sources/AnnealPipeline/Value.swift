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
        // What `%.1f` prints for these (`-0.0` included), without Foundation's formatter.
        if d == d.rounded(), abs(d) < 1e15 { return (d.sign == .minus ? "-" : "") + String(Int(d.magnitude)) + ".0" }
        return "\(d)"
    }

    /// Sorted keys, no whitespace, shortest round-trip floats: the bytes hashed into action keys.
    public var canonicalJSON: String { String(decoding: canonicalJSONBytes, as: UTF8.self) }

    /// `canonicalJSON` as UTF-8, without the detour through a `String` (action keys hash these).
    public var canonicalJSONBytes: [UInt8] {
        var w = JSONWriter(indent: nil)
        w.write(self)
        return w.bytes
    }

    /// Indented JSON with sorted keys, for files users read (parameters, metadata).
    public var prettyJSON: String {
        var w = JSONWriter(indent: Array("  ".utf8))
        w.write(self)
        w.bytes.append(0x0A)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Also valid YAML, read back to the same string: lockfiles are written with it. So
    /// besides JSON's escapes it escapes what libyaml reads differently inside double quotes:
    /// DEL, the C1 controls and U+FFFE/U+FFFF (rejected), U+0085 (a line break, folded into a
    /// space), U+2028 and U+2029 (line breaks, which end a mapping key). Found by
    /// fuzz/run.sh lockfile. (`JSONWriter.quote` writes it.)
    public static func jsonQuoted(_ s: String) -> String {
        var w = JSONWriter(indent: nil)
        w.quote(s)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Parses one JSON text (stage metrics lines, parameter files). Nil if it is not JSON.
    public static func parseJSON(_ text: String) -> Value? { parseJSON(bytes: Array(text.utf8)) }

    public static func parseJSON(bytes: [UInt8]) -> Value? {
        var parser = JSONParser(bytes)
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
