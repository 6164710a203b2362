import CYAML

/// Parses YAML text with the system libyaml into a `YAMLNode` tree with 1-based marks.
///
/// Problems that do not stop parsing (duplicate keys) are collected; a syntax error ends
/// the parse, since libyaml cannot resume after one. Aliases are expanded by value, with a
/// budget on the total expanded size so a "billion laughs" file fails fast instead of
/// exhausting memory.
public struct YAMLParser {
    public static let expansionBudget = 100_000

    public let file: String

    public init(file: String) { self.file = file }

    public struct Result: Sendable {
        public var root: YAMLNode?
        public var diagnostics: [Diagnostic]
    }

    private struct Frame {
        var mark: SourceMark
        var anchor: String?
        var isMapping: Bool
        var children: [YAMLNode] = []
        var size = 1
    }

    public func parse(_ text: String) -> Result {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { bytes = [0x0A] }
        return bytes.withUnsafeBufferPointer { buffer in
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            defer { parser.deallocate() }
            guard yaml_parser_initialize(parser) == 1 else {
                return Result(root: nil, diagnostics: [Diagnostic(mark(0, 0), "cannot initialise the YAML parser")])
            }
            defer { yaml_parser_delete(parser) }
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            return run(parser)
        }
    }

    private func mark(_ line: Int, _ column: Int) -> SourceMark {
        SourceMark(file: file, line: line + 1, column: column + 1)
    }

    private func run(_ parser: UnsafeMutablePointer<yaml_parser_t>) -> Result {
        var diagnostics: [Diagnostic] = []
        var stack: [Frame] = []
        var anchors: [String: (node: YAMLNode, size: Int)] = [:]
        var expanded = 0
        var root: YAMLNode?
        var documents = 0

        func finish(_ node: YAMLNode, size: Int, anchor: String?) {
            if let anchor { anchors[anchor] = (node, size) }
            if stack.isEmpty { root = node; return }
            stack[stack.count - 1].children.append(node)
            stack[stack.count - 1].size += size
        }

        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) == 1 else {
                let p = parser.pointee
                let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = p.context.map { String(cString: $0) + ": " } ?? ""
                diagnostics.append(Diagnostic(mark(Int(p.problem_mark.line), Int(p.problem_mark.column)),
                                              "YAML syntax: \(context)\(problem)"))
                return Result(root: nil, diagnostics: diagnostics)
            }
            defer { yaml_event_delete(&event) }
            let m = mark(Int(event.start_mark.line), Int(event.start_mark.column))
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return Result(root: root, diagnostics: diagnostics)
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    diagnostics.append(Diagnostic(m, "a pipeline file holds one YAML document; found a second one here"))
                    return Result(root: root, diagnostics: diagnostics)
                }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
                let isPlain = s.style == YAML_PLAIN_SCALAR_STYLE
                let isQuoted = s.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || s.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                // A quoted scalar's mark points at its first character, not the quote, so
                // positions inside it (an interpolation token) land on the right column.
                let at = isQuoted ? SourceMark(file: file, line: m.line, column: m.column + 1) : m
                finish(YAMLNode(.scalar(text, isPlain: isPlain), mark: at), size: 1, anchor: Self.string(s.anchor))
            case YAML_SEQUENCE_START_EVENT:
                stack.append(Frame(mark: m, anchor: Self.string(event.data.sequence_start.anchor), isMapping: false))
            case YAML_MAPPING_START_EVENT:
                stack.append(Frame(mark: m, anchor: Self.string(event.data.mapping_start.anchor), isMapping: true))
            case YAML_SEQUENCE_END_EVENT:
                let f = stack.removeLast()
                finish(YAMLNode(.sequence(f.children), mark: f.mark), size: f.size, anchor: f.anchor)
            case YAML_MAPPING_END_EVENT:
                let f = stack.removeLast()
                var pairs: [YAMLNode.Pair] = []
                var seen: [String: SourceMark] = [:]
                var k = 0
                while k + 1 < f.children.count {
                    let key = f.children[k], value = f.children[k + 1]
                    if let name = key.scalar {
                        if let first = seen[name] {
                            diagnostics.append(Diagnostic(key.mark, "duplicate key '\(name)' (first defined at line \(first.line))"))
                        } else {
                            seen[name] = key.mark
                            pairs.append(YAMLNode.Pair(key: key, value: value))
                        }
                    } else {
                        diagnostics.append(Diagnostic(key.mark, "mapping keys must be scalars, found \(key.kindName)"))
                    }
                    k += 2
                }
                finish(YAMLNode(.mapping(pairs), mark: f.mark), size: f.size, anchor: f.anchor)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else {
                    diagnostics.append(Diagnostic(m, "unknown alias '*\(name)'"))
                    finish(YAMLNode(.scalar("", isPlain: true), mark: m), size: 1, anchor: nil)
                    continue
                }
                expanded += target.size
                if expanded > Self.expansionBudget {
                    diagnostics.append(Diagnostic(m, "aliases expand to more than \(Self.expansionBudget) nodes; refusing a possible alias bomb (expand '*\(name)' fewer times)"))
                    return Result(root: nil, diagnostics: diagnostics)
                }
                var copy = target.node
                copy.mark = m
                finish(copy, size: target.size, anchor: nil)
            default:
                break
            }
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}
