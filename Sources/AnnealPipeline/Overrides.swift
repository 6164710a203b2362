/// `--set stages.sft.with.lr=1e-4`: command-line overrides applied to the YAML tree before
/// validation, so an override is checked exactly like the file it changes.
extension LoadContext {
    mutating func applyOverride(_ text: String, to root: YAMLNode) -> YAMLNode {
        let mark = SourceMark.commandLine(text)
        guard let eq = text.firstIndex(of: "=") else {
            error(mark, "an override is KEY=VALUE, e.g. stages.sft.with.lr=1e-4")
            return root
        }
        let path = text[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            error(mark, "an override's key is a dotted path like stages.NAME.with.KEY or params.NAME")
            return root
        }
        guard ["stages", "params", "seed", "name"].contains(path[0]) else {
            error(mark, "overrides start with stages., params., seed or name; found '\(path[0])'",
                  hint: didYouMean(path[0], ["stages", "params", "seed", "name"]))
            return root
        }
        guard path.count <= Limits.depth else {
            error(mark, "an override's key nests deeper than \(Limits.depth)")
            return root
        }
        let valueText = String(text[text.index(after: eq)...])
        let parsed = YAMLParser(file: mark.file).parse(valueText)
        if parsed.isRefused, let problem = parsed.diagnostics.last {
            // A value past a limit is refused, never taken as a plain string instead.
            error(mark, problem.message, hint: problem.hint)
            return root
        }
        var value = parsed.root ?? YAMLNode(.scalar(valueText, isPlain: false), mark: mark)
        if !parsed.diagnostics.isEmpty || value.pairs != nil && valueText.first != "{" {
            value = YAMLNode(.scalar(valueText, isPlain: false), mark: mark)
        }
        guard path.count + Self.height(value) <= Limits.depth else {
            error(mark, "nesting deeper than \(Limits.depth)", hint: "the key's \(path.count) levels and the value's together")
            return root
        }
        value = remark(value, mark)
        if path[0] == "stages", path.count >= 2, root["stages"]?[path[1]] == nil {
            let names = root["stages"]?.pairs?.compactMap(\.key.scalar) ?? []
            error(mark, "override names no stage '\(path[1])'", hint: didYouMean(path[1], names))
            return root
        }
        if path[0] == "params", path.count >= 2, !declaresParam(path.dropFirst(), in: root["params"], mark: mark) { return root }
        return set(root, path[...], to: value, mark: mark)
    }

    /// An override of a pipeline param changes a value the file declares; a new name is
    /// almost always a typo, which would otherwise change nothing and go unnoticed.
    private mutating func declaresParam(_ path: ArraySlice<String>, in params: YAMLNode?, mark: SourceMark) -> Bool {
        var node = params
        var prefix = "params"
        for key in path {
            guard let pairs = node?.pairs else { return true }  // `set` reports a non-mapping
            let names = pairs.compactMap(\.key.scalar)
            guard let next = node?[key] else {
                error(mark, "override names no pipeline param '\(prefix).\(key)'",
                      hint: closestMatch(to: key, in: names).map { "did you mean '\(prefix).\($0)'?" }
                          ?? (names.isEmpty ? "'\(prefix)' declares none" : "declared: \(names.map { prefix + "." + $0 }.joined(separator: ", "))"))
                return false
            }
            node = next
            prefix += "." + key
        }
        return true
    }

    /// Levels of lists and mappings in `node`; the parser has bounded it.
    static func height(_ node: YAMLNode) -> Int {
        switch node.content {
        case .scalar: 0
        case .sequence(let items): 1 + (items.map(height).max() ?? 0)
        case .mapping(let pairs): 1 + (pairs.map { height($0.value) }.max() ?? 0)
        }
    }

    private func remark(_ node: YAMLNode, _ mark: SourceMark) -> YAMLNode {
        var n = node
        n.mark = mark
        switch n.content {
        case .scalar: break
        case .sequence(let items): n.content = .sequence(items.map { remark($0, mark) })
        case .mapping(let pairs): n.content = .mapping(pairs.map { .init(key: remark($0.key, mark), value: remark($0.value, mark)) })
        }
        return n
    }

    private mutating func set(_ node: YAMLNode, _ path: ArraySlice<String>, to value: YAMLNode, mark: SourceMark) -> YAMLNode {
        guard let key = path.first else { return value }
        guard var pairs = node.pairs else {
            error(mark, "cannot set '\(key)' inside \(node.kindName) (at \(node.mark))")
            return node
        }
        if let i = pairs.firstIndex(where: { $0.key.scalar == key }) {
            pairs[i].value = set(pairs[i].value, path.dropFirst(), to: value, mark: mark)
        } else {
            let empty = YAMLNode(.mapping([]), mark: mark)
            pairs.append(.init(key: YAMLNode(.scalar(key, isPlain: true), mark: mark),
                               value: set(empty, path.dropFirst(), to: value, mark: mark)))
        }
        var out = node
        out.content = .mapping(pairs)
        return out
    }
}
