/// A YAML document as a tree that remembers where every node came from, so every later
/// error can point at a line and column.
public struct YAMLNode: Sendable {
    public struct Pair: Sendable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public enum Content: Sendable {
        /// `isPlain` is false for quoted and block scalars: `"5"` is the string 5, not a number.
        case scalar(String, isPlain: Bool)
        case mapping([Pair])
        case sequence([YAMLNode])
    }

    public var content: Content
    public var mark: SourceMark

    public init(_ content: Content, mark: SourceMark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: String? {
        if case .scalar(let s, _) = content { return s }
        return nil
    }

    public var pairs: [Pair]? {
        if case .mapping(let p) = content { return p }
        return nil
    }

    public var items: [YAMLNode]? {
        if case .sequence(let s) = content { return s }
        return nil
    }

    public var kindName: String {
        switch content {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    public subscript(key: String) -> YAMLNode? {
        pairs?.first { $0.key.scalar == key }?.value
    }

    /// The value under YAML 1.2's core schema: plain scalars become null, bools, ints or floats
    /// when they look like one; quoted scalars stay strings.
    public var value: Value {
        switch content {
        case .scalar(let s, let isPlain):
            return isPlain ? YAMLNode.resolvePlain(s) : .string(s)
        case .sequence(let items):
            return .list(items.map(\.value))
        case .mapping(let pairs):
            var m: [String: Value] = [:]
            for p in pairs { m[p.key.scalar ?? p.key.value.displayString] = p.value.value }
            return .map(m)
        }
    }

    static func resolvePlain(_ s: String) -> Value {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if let i = Int(s) { return .int(i) }
        if s.hasPrefix("0x"), let i = Int(s.dropFirst(2), radix: 16) { return .int(i) }
        if s.hasPrefix("0o"), let i = Int(s.dropFirst(2), radix: 8) { return .int(i) }
        if s.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
           s.contains(where: \.isNumber), let d = Double(s) { return .double(d) }
        return .string(s)
    }
}
