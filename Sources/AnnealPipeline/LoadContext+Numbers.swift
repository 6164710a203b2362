/// Integers the runner does arithmetic with are bounded here, at validate time, so no sum or
/// conversion later can overflow on a number from a file.
extension LoadContext {
    /// `threads:` of a stage: an integer in `Limits.threads`.
    mutating func threads(_ node: YAMLNode) -> Int? {
        switch Limits.threads(of: node) {
        case .success(let n): return n
        case .failure(let d): diagnostics.append(d); return nil
        }
    }

    /// `tasks:` of a stage: an integer in `Limits.tasks`, above 1 only for a kind that trains
    /// data-parallel (`StageSchema.dataParallel`).
    mutating func tasks(_ node: YAMLNode, stage: String, schema: StageSchema?, action: StageSpec.Action) -> Int? {
        guard case .int(let n) = node.value, Limits.tasks.contains(n) else {
            error(node.mark, "'tasks' must be an integer in \(Limits.tasks.lowerBound)...\(Limits.tasks.upperBound), found \(node.scalar ?? node.kindName)")
            return nil
        }
        if n > 1, schema?.dataParallel != true {
            let kind: String
            if case .uses(let k) = action { kind = "kind '\(k)'" } else { kind = "a 'run' command" }
            let parallel = loader.catalog.dataParallelKinds
            error(node.mark, "stage '\(stage)' (\(kind)) cannot run as \(n) tasks: only data-parallel training stages can",
                  hint: parallel.isEmpty ? "remove 'tasks'" : "remove 'tasks'; kinds that can: \(parallel.joined(separator: ", "))")
            return nil
        }
        return n
    }

    /// `seed:` of the pipeline or a stage: a 64-bit signed integer.
    mutating func seed(_ node: YAMLNode) -> Int? {
        if case .int(let n) = node.value { return n }
        if Self.looksIntegral(node) {
            error(node.mark, "'seed' must fit in a 64-bit signed integer (\(Int.min)...\(Int.max)), found \(node.scalar ?? "")")
        } else {
            error(node.mark, "'seed' must be an integer, found \(node.value.typeName)")
        }
        return nil
    }

    /// A plain scalar written as an integer too large for Int (it resolved to a float).
    static func looksIntegral(_ node: YAMLNode) -> Bool {
        guard case .scalar(let s, true) = node.content else { return false }
        let digits = s.first == "-" || s.first == "+" ? s.dropFirst() : Substring(s)
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }
}

extension Limits {
    /// `threads:` of a stage or a plugin manifest, or the diagnostic to report.
    public static func threads(of node: YAMLNode) -> Result<Int, Diagnostic> {
        if case .int(let n) = node.value, threads.contains(n) { return .success(n) }
        let found = node.scalar ?? node.kindName
        return .failure(Diagnostic(node.mark, "'threads' must be an integer in \(threads.lowerBound)...\(threads.upperBound), found \(found)"))
    }
}
