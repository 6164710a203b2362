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
