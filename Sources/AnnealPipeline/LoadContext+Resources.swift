/// `executor:` of a pipeline and `resources:` of a stage, checked at load like everything else,
/// so a typo fails `anneal validate` instead of a job submission minutes later.
extension LoadContext {
    public static let executors = ["local", "slurm"]

    mutating func executor(_ node: YAMLNode) -> String? {
        guard let s = node.scalar, Self.executors.contains(s) else {
            let found = node.scalar ?? node.kindName
            error(node.mark, "'executor' must be one of \(Self.executors.joined(separator: ", ")), found '\(found)'",
                  hint: node.scalar.flatMap { didYouMean($0, Self.executors) })
            return nil
        }
        return s
    }

    mutating func resources(_ node: YAMLNode, stage: String) -> StageResources {
        var r = StageResources()
        guard let pairs = node.pairs else {
            error(node.mark, "'resources' of stage '\(stage)' must be a mapping with keys \(StageResources.keys.joined(separator: ", ")), found \(node.kindName)")
            return r
        }
        checkKeys(pairs, allowed: StageResources.keys, what: "resource", of: " in stage '\(stage)'")
        if let n = node["cpus"] {
            if case .int(let c) = n.value, Limits.threads.contains(c) { r.cpus = c } else {
                error(n.mark, "'cpus' must be an integer in \(Limits.threads.lowerBound)...\(Limits.threads.upperBound), found \(n.scalar ?? n.kindName)")
            }
        }
        if let n = node["mem"] {
            if let s = n.scalar, StageResources.isMemory(s) { r.mem = s } else {
                error(n.mark, "'mem' must be a memory size such as 4000 (megabytes), 512M or 16G, found \(n.scalar.map { "'\($0)'" } ?? n.kindName)")
            }
        }
        if let n = node["time"] {
            // A plain 90 is minutes, as Slurm reads it; "1:30:00" must be quoted or it is still a plain scalar here.
            if let s = n.scalar, let secs = StageResources.seconds(ofTime: s), secs > 0 { r.time = s } else {
                error(n.mark, "'time' must be a Slurm time limit (minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S) above zero, found \(n.scalar.map { "'\($0)'" } ?? n.kindName)")
            }
        }
        for (key, extra) in [("partition", ""), ("gres", ":,")] {
            guard let n = node[key] else { continue }
            let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "_.-".contains(c) || extra.contains(c)) }
            if let s = n.scalar, !s.isEmpty, s.count <= 256, s.allSatisfy(allowed) {
                if key == "partition" { r.partition = s } else { r.gres = s }
            } else {
                error(n.mark, "'\(key)' must be a non-empty name of letters, digits and _.-\(extra.isEmpty ? "" : extra), found \(n.scalar.map { "'\($0)'" } ?? n.kindName)")
            }
        }
        return r
    }
}
