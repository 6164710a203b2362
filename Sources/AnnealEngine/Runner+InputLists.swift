import AnnealPipeline

/// List inputs (`models: sft.model[*]`) in the stage protocol. Each member is an ordinary
/// input named `models[0]`, `models[1]`, … (hashed, keyed and materialised like any other);
/// the stage sees the list as:
/// - `ANNEAL_INPUTS`: `"models": [PATH, …]` in member order, instead of one entry per member;
/// - `ANNEAL_INPUT_MODELS`: the paths, one per line; `ANNEAL_INPUT_MODELS_0`, `_1`, …: each;
/// - `${inputs.models}` in a command: one quoted word per path (`${inputs.models[0]}` one).
extension Runner {
    static func inputEnvironment(_ stage: StageSpec, paths: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        let lists = stage.inputLists
        var json: [String: Value] = [:]
        for i in stage.inputs {
            guard let path = paths[i.name] else { continue }
            if let list = i.list, let index = lists[list]?.firstIndex(of: i.name) {
                env["ANNEAL_INPUT_" + envName(list) + "_\(index)"] = path
            } else {
                env["ANNEAL_INPUT_" + envName(i.name)] = path
                json[i.name] = .string(path)
            }
        }
        for (list, members) in lists {
            let listPaths = members.compactMap { paths[$0] }
            env["ANNEAL_INPUT_" + envName(list)] = listPaths.joined(separator: "\n")
            json[list] = .list(listPaths.map(Value.string))
        }
        env["ANNEAL_INPUTS"] = Value.map(json).canonicalJSON
        return env
    }

    /// The value of `${inputs.NAME}` at launch: a path, or a list input's paths.
    static func inputValue(_ name: String, stage: StageSpec, paths: [String: String]) -> Value? {
        if let p = paths[name] { return .string(p) }
        guard let members = stage.inputLists[name] else { return nil }
        return .list(members.compactMap { paths[$0] }.map(Value.string))
    }
}
