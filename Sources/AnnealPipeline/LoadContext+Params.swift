/// `${…}` interpolation and parameter validation against a stage's schema.
///
/// `${seed}`, `${name}` and `${params.a.b}` are resolved at load time; a scalar that is
/// exactly one such token takes the referenced value's type (`width: ${params.width}` stays
/// an int). `${inputs.x}` and `${outputs.x}` are checked here and left for the executor,
/// which replaces them with paths. `$${` writes a literal `${`.
extension LoadContext {
    mutating func interpolate(_ text: String, mark: SourceMark, globals: Globals,
                              io: (inputs: [String], outputs: [String])?, referenced: inout [String: Value]) -> Value {
        guard text.utf8.contains(UInt8(ascii: "$")), text.contains("${") else { return .string(text) }
        var out = ""
        var rest = Substring(text)
        var tokens = 0
        var single: Value?
        while let start = rest.range(of: "${") {
            if start.lowerBound > rest.startIndex, rest[rest.index(before: start.lowerBound)] == "$" {
                out += rest[..<rest.index(before: start.lowerBound)] + "${"
                rest = rest[start.upperBound...]
                continue
            }
            out += rest[..<start.lowerBound]
            let column = mark.column + text.distance(from: text.startIndex, to: start.lowerBound)
            let at = SourceMark(file: mark.file, line: mark.line, column: column)
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                error(at, "unterminated '${' (add the closing '}')")
                return .string(text)
            }
            let expr = String(rest[start.upperBound..<end].drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            tokens += 1
            let token = "${\(expr)}"
            if let v = lookup(expr, at: at, globals: globals, io: io, referenced: &referenced) {
                single = v
                out += v.displayString
            } else {
                single = nil
                out += token
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        if tokens == 1, let single, out == single.displayString, text.hasPrefix("${"), text.hasSuffix("}") { return single }
        return .string(out)
    }

    /// The value of one `${expr}`, or nil when it stays for the executor (or is an error).
    mutating func lookup(_ expr: String, at: SourceMark, globals: Globals,
                         io: (inputs: [String], outputs: [String])?, referenced: inout [String: Value]) -> Value? {
        let parts = expr.split(separator: ".").map(String.init)
        switch parts.first {
        case "seed" where parts.count == 1:
            referenced["seed"] = .int(globals.seed)
            return .int(globals.seed)
        case "name" where parts.count == 1:
            return .string(globals.name)
        case "params" where parts.count >= 2:
            var v: Value? = globals.params
            for (i, key) in parts.dropFirst().enumerated() {
                guard let next = v?[key] else {
                    let known = v?.mapValue?.keys.sorted() ?? []
                    let prefix = (["params"] + parts.dropFirst().prefix(i)).joined(separator: ".")
                    error(at, "unresolved interpolation '${\(expr)}': no '\(key)' under '\(prefix)'",
                          hint: closestMatch(to: key, in: known).map { "did you mean '${\(prefix).\($0)}'?" })
                    return nil
                }
                v = next
            }
            referenced[expr] = v
            return v
        case "inputs" where parts.count == 2, "outputs" where parts.count == 2:
            guard let io else {
                error(at, "'${\(expr)}' is only available in 'run' commands and plugin commands")
                return nil
            }
            let names = parts[0] == "inputs" ? io.inputs : io.outputs
            if !names.contains(parts[1]) {
                let hint = closestMatch(to: parts[1], in: names).map { "did you mean '${\(parts[0]).\($0)}'?" }
                error(at, "unresolved interpolation '${\(expr)}': the stage has no \(parts[0] == "inputs" ? "input" : "output") '\(parts[1])'",
                      hint: hint ?? "declared: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
            }
            return nil
        default:
            error(at, "unresolved interpolation '${\(expr)}'",
                  hint: "use ${seed}, ${name}, ${params.NAME}, ${inputs.NAME} or ${outputs.NAME}; write $${ for a literal ${")
            return nil
        }
    }

    /// A node's value with every scalar interpolated.
    mutating func resolvedValue(_ node: YAMLNode, globals: Globals, io: (inputs: [String], outputs: [String])?,
                                referenced: inout [String: Value]) -> Value {
        switch node.content {
        case .scalar(let s, _):
            return s.contains("${") ? interpolate(s, mark: node.mark, globals: globals, io: io, referenced: &referenced) : node.value
        case .sequence(let items):
            return .list(items.map { resolvedValue($0, globals: globals, io: io, referenced: &referenced) })
        case .mapping(let pairs):
            var m: [String: Value] = [:]
            for p in pairs { m[p.key.scalar ?? ""] = resolvedValue(p.value, globals: globals, io: io, referenced: &referenced) }
            return .map(m)
        }
    }

    /// Validates a `with:` block (or a nested map parameter) against declared specs: unknown
    /// keys, wrong types, values outside an allowed set, missing required ones; fills defaults.
    mutating func resolveParams(_ node: YAMLNode?, specs: [ParamSpec], path: String, owner: String, fallback: SourceMark,
                                globals: Globals, referenced: inout [String: Value]) -> Value {
        var out: [String: Value] = [:]
        let names = specs.map(\.name)
        for p in node?.pairs ?? [] {
            let key = p.key.scalar ?? ""
            guard let spec = specs.first(where: { $0.name == key }) else {
                error(p.key.mark, "unknown parameter '\(path).\(key)' of stage '\(owner)'",
                      hint: didYouMean(key, names) ?? (names.isEmpty ? "this stage takes no parameters" : "parameters: \(names.joined(separator: ", "))"))
                continue
            }
            if let fields = spec.fields, p.value.pairs != nil {
                out[key] = resolveParams(p.value, specs: fields, path: "\(path).\(key)", owner: owner, fallback: p.value.mark,
                                         globals: globals, referenced: &referenced)
                continue
            }
            let v = resolvedValue(p.value, globals: globals, io: nil, referenced: &referenced)
            guard spec.accepts(v) else {
                error(p.value.mark, "parameter '\(path).\(key)' of stage '\(owner)' must be \(article(spec.kind.rawValue)), found \(v.typeName) '\(v.displayString)'")
                continue
            }
            if let problem = spec.problem(with: v) {
                error(p.value.mark, "parameter '\(path).\(key)' of stage '\(owner)' \(problem.message)", hint: problem.hint)
                continue
            }
            if let r = spec.range, let d = v.doubleValue, !r.contains(d) {
                error(p.value.mark, "parameter '\(path).\(key)' of stage '\(owner)' must be in \(spec.rangeDescription!), found \(v.displayString)")
                continue
            }
            if let allowed = spec.allowed, spec.kind != .list, !allowed.contains(v.displayString) {
                error(p.value.mark, "parameter '\(path).\(key)' of stage '\(owner)' must be one of \(allowed.joined(separator: ", ")); found '\(v.displayString)'",
                      hint: didYouMean(v.displayString, allowed))
                continue
            }
            out[key] = spec.kind == .float && v.intValue != nil ? .double(Double(v.intValue!)) : v
        }
        for spec in specs where out[spec.name] == nil {
            if let fields = spec.fields, node?[spec.name] == nil {
                out[spec.name] = resolveParams(nil, specs: fields, path: "\(path).\(spec.name)", owner: owner, fallback: fallback,
                                               globals: globals, referenced: &referenced)
            } else if let d = spec.defaultValue {
                out[spec.name] = d
            } else if spec.isRequired, node?[spec.name] == nil {
                error(node?.mark ?? fallback, "stage '\(owner)' is missing required parameter '\(path).\(spec.name)'"
                      + (spec.summary.isEmpty ? "" : " (\(spec.summary))"))
            }
        }
        return .map(out)
    }
}

func article(_ word: String) -> String {
    (["a", "e", "i", "o", "u"].contains(word.prefix(1)) ? "an " : "a ") + word
}
