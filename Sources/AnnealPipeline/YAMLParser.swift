import CYAML

/// Parses YAML text with the system libyaml into a `YAMLNode` tree with 1-based marks.
///
/// Problems that do not stop parsing (duplicate keys) are collected; a syntax error ends
/// the parse, since libyaml cannot resume after one. Aliases are expanded by value, with a
/// budget on the total expanded size (nodes and bytes) so a "billion laughs" file fails fast
/// instead of exhausting memory. Nesting is limited to `Limits.depth`, so every later
/// recursive walk of the tree (conversion to `Value`, interpolation, JSON) stays shallow.
public struct YAMLParser {
    public static let expansionBudget = 100_000
    /// Bytes of scalar text that aliases may add, all aliases together.
    public static let expansionByteBudget = 64 << 20

    public let file: String
    /// Levels of lists and mappings; a lockfile holds pipeline values a few levels down, so
    /// it reads with `Limits.lockfileDepth`.
    public let maxDepth: Int

    public init(file: String, maxDepth: Int = Limits.depth) {
        self.file = file
        self.maxDepth = maxDepth
    }

    public struct Result: Sendable {
        public var root: YAMLNode?
        public var diagnostics: [Diagnostic]
        /// The text broke a limit (depth, alias budget) or is not clean UTF-8: it is hostile or
        /// broken, never to be read as a plain string instead (as `--set` does for bad YAML).
        public var isRefused = false
    }

    /// What a finished subtree weighs: nodes, scalar bytes and height, for the alias budgets
    /// and the depth limit (an alias grafts its whole subtree where it stands).
    private struct Weight {
        var nodes = 1
        var bytes = 0
        var height = 1
    }

    private struct Frame {
        var mark: SourceMark
        var anchor: String?
        var isMapping: Bool
        var children: [YAMLNode] = []
        var weight = Weight()
    }

    public func parse(_ text: String) -> Result {
        parse(bytes: Array(text.utf8))
    }

    /// The first invalid UTF-8 sequence, NUL or control character of `bytes`, at its line and
    /// column, or nil for clean text.
    public func encodingProblem(_ bytes: [UInt8]) -> Diagnostic? {
        TextCheck.firstProblem(in: bytes, file: file)
    }

    /// Parses raw file bytes: invalid UTF-8 and control characters are reported at their line
    /// and column before libyaml sees them (its own message for them has no position).
    public func parse(bytes input: [UInt8]) -> Result {
        if let problem = TextCheck.firstProblem(in: input, file: file) {
            return Result(root: nil, diagnostics: [problem], isRefused: true)
        }
        var bytes = input
        if bytes.isEmpty { bytes = [0x0A] }
        return bytes.withUnsafeBufferPointer { buffer in
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            defer { parser.deallocate() }
            guard yaml_parser_initialize(parser) == 1 else {
                return Result(root: nil, diagnostics: [Diagnostic(mark(0, 0), "cannot initialise the YAML parser")])
            }
            defer { yaml_parser_delete(parser) }
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            return Self.hintingListInputs(run(parser), source: input)
        }
    }

    /// `{models: sft.model[*]}` is a YAML error (no `[` in a plain scalar inside `{…}`); say how to write it.
    static func hintingListInputs(_ result: Result, source: [UInt8]) -> Result {
        var r = result
        guard let i = r.diagnostics.lastIndex(where: { $0.message.hasPrefix("YAML syntax") && $0.message.contains("flow") && $0.hint == nil }) else { return r }
        let line = String(decoding: source, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst(r.diagnostics[i].mark.line - 1).first
        if line?.contains("[*]") == true { r.diagnostics[i].hint = "inside {…}, quote a list input: {models: 'sft.model[*]'}" }
        return r
    }

    private func mark(_ line: Int, _ column: Int) -> SourceMark {
        SourceMark(file: file, line: line + 1, column: column + 1)
    }

    private func run(_ parser: UnsafeMutablePointer<yaml_parser_t>) -> Result {
        var diagnostics: [Diagnostic] = []
        var stack: [Frame] = []
        var anchors: [String: (node: YAMLNode, weight: Weight)] = [:]
        var expandedNodes = 0, expandedBytes = 0
        var root: YAMLNode?
        var documents = 0

        func finish(_ node: YAMLNode, weight: Weight, anchor: String?) {
            if let anchor { anchors[anchor] = (node, weight) }
            if stack.isEmpty { root = node; return }
            stack[stack.count - 1].children.append(node)
            stack[stack.count - 1].weight.nodes += weight.nodes
            stack[stack.count - 1].weight.bytes += weight.bytes
            stack[stack.count - 1].weight.height = max(stack[stack.count - 1].weight.height, weight.height + 1)
        }
        func refuse(_ d: Diagnostic) -> Result {
            Result(root: nil, diagnostics: diagnostics + [d], isRefused: true)
        }
        func tooDeep(_ m: SourceMark) -> Diagnostic {
            Diagnostic(m, "nesting deeper than \(maxDepth)", hint: "flatten the structure; anneal reads at most \(maxDepth) levels of lists and mappings")
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
                finish(YAMLNode(.scalar(text, isPlain: isPlain), mark: at), weight: Weight(bytes: Int(s.length), height: 0), anchor: Self.string(s.anchor))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard stack.count < maxDepth else { return refuse(tooDeep(m)) }
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                stack.append(Frame(mark: m, anchor: Self.string(anchor), isMapping: isMapping))
            case YAML_SEQUENCE_END_EVENT:
                let f = stack.removeLast()
                finish(YAMLNode(.sequence(f.children), mark: f.mark), weight: f.weight, anchor: f.anchor)
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
                finish(YAMLNode(.mapping(pairs), mark: f.mark), weight: f.weight, anchor: f.anchor)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else {
                    diagnostics.append(Diagnostic(m, "unknown alias '*\(name)'"))
                    finish(YAMLNode(.scalar("", isPlain: true), mark: m), weight: Weight(height: 0), anchor: nil)
                    continue
                }
                guard stack.count + target.weight.height <= maxDepth else { return refuse(tooDeep(m)) }
                expandedNodes += target.weight.nodes
                expandedBytes += target.weight.bytes
                if expandedNodes > Self.expansionBudget {
                    return refuse(Diagnostic(m, "aliases expand to more than \(Self.expansionBudget) nodes; refusing a possible alias bomb (expand '*\(name)' fewer times)"))
                }
                if expandedBytes > Self.expansionByteBudget {
                    return refuse(Diagnostic(m, "aliases expand to more than \(Self.expansionByteBudget >> 20) MiB of text; refusing a possible alias bomb (expand '*\(name)' fewer times)"))
                }
                var copy = target.node
                copy.mark = m
                finish(copy, weight: target.weight, anchor: nil)
            default:
                break
            }
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}
