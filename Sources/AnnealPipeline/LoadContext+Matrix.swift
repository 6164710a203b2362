/// `matrix:` sweeps, expanded before references are checked and the graph is built, so every
/// later step (parameters, keys, the scheduler) sees plain stages.
///
/// - A stage with `matrix: {KEY: [V, …], …}` becomes one stage per element of the cartesian
///   product, named as `StageVariant` says, in place of the stage and in product order
///   (first key slowest). A KEY is a parameter under `with` (dotted for nested ones:
///   `lora.rank`) or `params.NAME`, a pipeline param the variant sees in its own `${params.…}`.
/// - A stage reading a swept stage's output is expanded along: one variant per upstream
///   variant, same suffix, each reading its own upstream variant; transitively.
/// - `NAME: STAGE.OUTPUT[*]` takes every variant's output instead, as one list input with
///   members `NAME[0]`, `NAME[1]`, … in the sweep's order (a stage without a matrix gives a
///   list of one); that stage is not expanded.
extension LoadContext {
    /// At most this many variants per matrix: a typo such as a list of 1,000 steps would
    /// otherwise silently schedule 1,000 training runs.
    static let maxVariants = 256

    struct MatrixAxis {
        var key: String
        var path: [String]
        var isPipelineParam: Bool
        var values: [(value: Value, text: String, node: YAMLNode)]
    }

    mutating func expandMatrices(_ drafts: [StageDraft], matrices: [String: YAMLNode], globals: Globals) -> [StageDraft] {
        var variants: [String: [StageVariant]] = [:]
        var axesOf: [String: [MatrixAxis]] = [:]
        for d in drafts {
            guard let node = matrices[d.name] else { continue }
            guard let axes = parseMatrix(node, draft: d, globals: globals) else { continue }
            axesOf[d.name] = axes
            variants[d.name] = product(axes).enumerated().map { i, picks in
                StageVariant(base: d.name, sweep: d.name, index: i, assignments: zip(axes, picks).map { axis, pick in
                    .init(key: axis.key, value: axis.values[pick].value, text: axis.values[pick].text)
                })
            }
        }
        if variants.isEmpty, !drafts.contains(where: { $0.inputs.contains { Self.isListReference($0) } }) { return drafts }
        propagate(drafts, matrices: matrices, variants: &variants)

        var out: [StageDraft] = []
        for d in drafts {
            guard let vs = variants[d.name] else {
                var plain = d
                plain.inputs = expandInputs(d.inputs, variant: nil, variants: variants)
                out.append(plain)
                continue
            }
            for v in vs {
                var copy = d
                copy.name = v.base == v.sweep ? v.name : "\(d.name)@\(v.suffix)"
                copy.variant = StageVariant(base: d.name, sweep: v.sweep, index: v.index, assignments: v.assignments)
                copy.inputs = expandInputs(d.inputs, variant: v, variants: variants)
                if let axes = axesOf[d.name] { apply(v, axes: axes, to: &copy, globals: globals) }
                out.append(copy)
            }
        }
        return out
    }

    static func isListReference(_ i: InputSpec) -> Bool {
        if case .stage(_, let o) = i.source { return o.hasSuffix("[*]") }
        return false
    }

    /// Each axis of the matrix, or nil (with diagnostics) when the matrix cannot be expanded.
    mutating func parseMatrix(_ node: YAMLNode, draft d: StageDraft, globals: Globals) -> [MatrixAxis]? {
        guard let pairs = node.pairs, !pairs.isEmpty else {
            error(node.mark, "'matrix' of stage '\(d.name)' must map parameters to lists of values, found \(node.pairs == nil ? node.kindName : "an empty mapping")",
                  hint: "e.g. matrix: {learning_rate: [1e-4, 3e-4]}")
            return nil
        }
        var axes: [MatrixAxis] = []
        var ok = true
        for p in pairs {
            let key = p.key.scalar ?? ""
            let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let isParam = path.first == "params" && path.count > 1
            if !checkMatrixKey(key, path: isParam ? Array(path.dropFirst()) : path, isParam: isParam, mark: p.key.mark, draft: d, globals: globals) {
                ok = false
            }
            guard let items = p.value.items, !items.isEmpty else {
                error(p.value.mark, "matrix key '\(key)' of stage '\(d.name)' must be a non-empty list of values, found \(p.value.items == nil ? p.value.kindName : "an empty list")")
                ok = false
                continue
            }
            var values: [(value: Value, text: String, node: YAMLNode)] = []
            for item in items {
                guard let text = item.scalar else {
                    error(item.mark, "matrix values must be scalars (numbers, strings, booleans), found \(item.kindName) in key '\(key)' of stage '\(d.name)'",
                          hint: "sweep a nested parameter by its dotted name, e.g. model.width: [64, 128]")
                    ok = false
                    continue
                }
                let value = item.value
                let escaped = StageVariant.escape(text)
                if let same = values.first(where: { Self.sameValue($0.value, value) }) {
                    error(item.mark, "matrix key '\(key)' of stage '\(d.name)' lists \(value.displayString) twice (first at \(same.node.mark))")
                    ok = false
                } else if let same = values.first(where: { $0.text == escaped }) {
                    error(item.mark, "matrix values \(same.value.typeName) '\(same.text)' and \(value.typeName) '\(text)' of key '\(key)' would give stage '\(d.name)' two variants named '\(d.name)@\(key)=\(escaped)'",
                          hint: "keep one of them")
                    ok = false
                } else {
                    values.append((value, escaped, item))
                }
            }
            axes.append(MatrixAxis(key: key, path: isParam ? Array(path.dropFirst()) : path, isPipelineParam: isParam, values: values))
        }
        guard ok else { return nil }
        var count = 1
        for a in axes {
            count = count.multipliedReportingOverflow(by: a.values.count).overflow ? Int.max : count * a.values.count
            if count > Self.maxVariants {
                let sizes = axes.map { "\($0.values.count)" }.joined(separator: " × ")
                error(node.mark, "the matrix of stage '\(d.name)' has \(sizes) combinations, more than \(Self.maxVariants) variants",
                      hint: "sweep fewer values, or split the sweep into several stages")
                return nil
            }
        }
        return axes
    }

    /// 1 and 1.0 are one value to a float parameter: two variants with the same key.
    static func sameValue(_ a: Value, _ b: Value) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    /// Whether the key names a parameter the stage has (a kind's declared one, anything under a
    /// `run` stage's `with`) or a declared pipeline param, and is not also set in `with:`.
    mutating func checkMatrixKey(_ key: String, path: [String], isParam: Bool, mark: SourceMark, draft d: StageDraft,
                                 globals: Globals) -> Bool {
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            error(mark, "matrix key '\(key)' of stage '\(d.name)' must be a parameter name, a dotted path (model.width) or params.NAME")
            return false
        }
        if isParam {
            var v: Value? = globals.params
            for (i, part) in path.enumerated() {
                guard let next = v?[part] else {
                    let prefix = (["params"] + path.prefix(i)).joined(separator: ".")
                    error(mark, "matrix key '\(key)' of stage '\(d.name)' names no pipeline param '\(prefix).\(part)'",
                          hint: closestMatch(to: part, in: v?.mapValue?.keys.sorted() ?? []).map { "did you mean '\(prefix).\($0)'?" }
                              ?? "declare it under the pipeline's 'params:'")
                    return false
                }
                v = next
            }
            return true
        }
        if let schema = d.schema {
            var specs = schema.params
            for (i, part) in path.enumerated() {
                guard let spec = specs.first(where: { $0.name == part }) else {
                    let prefix = (["with"] + path.prefix(i)).joined(separator: ".")
                    error(mark, "unknown parameter '\(prefix).\(part)' in the matrix of stage '\(d.name)'",
                          hint: didYouMean(part, specs.map(\.name)) ?? "parameters: \(specs.map(\.name).joined(separator: ", "))")
                    return false
                }
                if i < path.count - 1 {
                    guard let fields = spec.fields else {
                        error(mark, "parameter 'with.\(path.prefix(i + 1).joined(separator: "."))' of stage '\(d.name)' has no fields; matrix key '\(key)' cannot go inside it")
                        return false
                    }
                    specs = fields
                }
            }
        }
        var node = d.withNode
        for part in path { node = node?[part] }
        if let node {
            error(mark, "parameter 'with.\(key)' of stage '\(d.name)' is set both in 'with' (at \(node.mark)) and in 'matrix'",
                  hint: "remove it from 'with'")
            return false
        }
        return true
    }

    /// Indices into each axis for every combination, first axis slowest.
    func product(_ axes: [MatrixAxis]) -> [[Int]] {
        var out: [[Int]] = [[]]
        for a in axes { out = out.flatMap { prefix in a.values.indices.map { prefix + [$0] } } }
        return out
    }

    /// Gives every stage that reads a swept stage's output per variant the sweep's variants,
    /// until nothing changes. A stage reading two different sweeps, or reading one per variant
    /// while declaring its own matrix, is an error.
    mutating func propagate(_ drafts: [StageDraft], matrices: [String: YAMLNode], variants: inout [String: [StageVariant]]) {
        var reported = Set<String>()
        var changed = true
        while changed {
            changed = false
            for d in drafts {
                let swept = d.inputs.compactMap { i -> (InputSpec, String)? in
                    guard case .stage(let s, _) = i.source, !Self.isListReference(i), let v = variants[s]?.first else { return nil }
                    return (i, v.sweep)
                }
                guard let (first, sweep) = swept.first else { continue }
                if let other = swept.first(where: { $0.1 != sweep }) {
                    if reported.insert(d.name).inserted {
                        error(other.0.mark, "stage '\(d.name)' reads from two sweeps, '\(sweep)' and '\(other.1)'; it can follow only one",
                              hint: "take one sweep's outputs whole as a list: \(other.0.name): \(other.0.sourceDescription)[*]")
                    }
                    continue
                }
                if matrices[d.name] != nil {
                    if reported.insert(d.name).inserted {
                        error(first.mark, "stage '\(d.name)' has its own matrix and reads the sweep '\(sweep)' per variant",
                              hint: "take the sweep's outputs whole as a list: \(first.name): \(first.sourceDescription)[*]")
                    }
                    continue
                }
                guard variants[d.name] == nil, let upstream = variants[sweep] else { continue }
                variants[d.name] = upstream.map { StageVariant(base: d.name, sweep: $0.sweep, index: $0.index, assignments: $0.assignments) }
                changed = true
            }
        }
    }

    /// Per-variant references renamed to the variant's upstream; list references expanded to
    /// one member per upstream variant.
    func expandInputs(_ inputs: [InputSpec], variant: StageVariant?, variants: [String: [StageVariant]]) -> [InputSpec] {
        var out: [InputSpec] = []
        for i in inputs {
            guard case .stage(let s, let o) = i.source else { out.append(i); continue }
            if o.hasSuffix("[*]") {
                let output = String(o.dropLast(3))
                let members = variants[s].map { vs in vs.map { "\(s)@\($0.suffix)" } } ?? [s]
                for (n, m) in members.enumerated() {
                    out.append(InputSpec(name: InputSpec.memberName(i.name, n), source: .stage(m, output: output), mark: i.mark, list: i.name))
                }
            } else if let v = variant, let upstream = variants[s], upstream.first?.sweep == v.sweep {
                out.append(InputSpec(name: i.name, source: .stage("\(s)@\(v.suffix)", output: o), mark: i.mark, list: i.list))
            } else if let first = variants[s]?.first {
                // Reported by `propagate` (two sweeps, or a matrix of its own): name one variant
                // so the reference is not also reported as unknown.
                out.append(InputSpec(name: i.name, source: .stage("\(s)@\(first.suffix)", output: o), mark: i.mark, list: i.list))
            } else {
                out.append(i)
            }
        }
        return out
    }

    /// Writes a variant's values into its `with:` (at the matrix value's mark, so a bad value
    /// is reported there) and into its own copy of the pipeline params.
    func apply(_ v: StageVariant, axes: [MatrixAxis], to d: inout StageDraft, globals: Globals) {
        for (axis, assignment) in zip(axes, v.assignments) {
            guard let pick = axis.values.first(where: { $0.text == assignment.text }) else { continue }
            if axis.isPipelineParam {
                d.params = Self.setting(d.params ?? globals.params, axis.path[...], to: pick.value)
            } else {
                let base = d.withNode ?? YAMLNode(.mapping([]), mark: pick.node.mark)
                d.withNode = Self.setting(base, axis.path[...], to: pick.node)
            }
        }
    }

    static func setting(_ value: Value, _ path: ArraySlice<String>, to new: Value) -> Value {
        guard let key = path.first else { return new }
        var m = value.mapValue ?? [:]
        m[key] = setting(m[key] ?? .map([:]), path.dropFirst(), to: new)
        return .map(m)
    }

    static func setting(_ node: YAMLNode, _ path: ArraySlice<String>, to new: YAMLNode) -> YAMLNode {
        guard let key = path.first else { return new }
        var pairs = node.pairs ?? []
        if let i = pairs.firstIndex(where: { $0.key.scalar == key }) {
            pairs[i].value = setting(pairs[i].value, path.dropFirst(), to: new)
        } else {
            let empty = YAMLNode(.mapping([]), mark: new.mark)
            pairs.append(.init(key: YAMLNode(.scalar(key, isPlain: true), mark: new.mark), value: setting(empty, path.dropFirst(), to: new)))
        }
        var out = node
        out.content = .mapping(pairs)
        return out
    }
}
