/// How input and output names become environment variables of the stage protocol
/// (`ANNEAL_INPUT_<NAME>`, `ANNEAL_OUTPUT_<NAME>`): upper-cased, every character but letters
/// and digits turned into `_`. Two names of a stage that map to one variable are a
/// validation error, so a stage never gets one of two paths by chance.
public enum EnvironmentName {
    public static func of(_ name: String) -> String {
        name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}

extension LoadContext {
    /// Inputs at their marks; a command stage's outputs at theirs, a kind's at its `uses`.
    mutating func checkEnvironmentClashes(_ d: StageDraft, _ node: YAMLNode) {
        checkEnvironmentClashes(d.inputs.map { ($0.name, $0.mark) }, what: "input", stage: d.name)
        if d.schema == nil, let items = node["outputs"]?.items {
            let declared = items.compactMap { item in item.scalar.map { ($0, item.mark) } }
            checkEnvironmentClashes(declared.filter { d.outputs.contains($0.0) }, what: "output", stage: d.name)
        } else {
            checkEnvironmentClashes(d.outputs.map { ($0, node["uses"]?.mark ?? node.mark) }, what: "output", stage: d.name)
        }
    }

    /// Reports each name (with its mark) whose variable an earlier name of the list already has.
    mutating func checkEnvironmentClashes(_ names: [(name: String, mark: SourceMark)], what: String, stage: String) {
        var seen: [String: String] = [:]
        let prefix = what == "input" ? "ANNEAL_INPUT_" : "ANNEAL_OUTPUT_"
        for (name, mark) in names {
            let v = EnvironmentName.of(name)
            if let first = seen[v], first != name {
                error(mark, "\(what) '\(name)' of stage '\(stage)' and \(what) '\(first)' would both be passed as \(prefix)\(v)",
                      hint: "rename one of them")
            } else {
                seen[v] = name
            }
        }
    }
}
