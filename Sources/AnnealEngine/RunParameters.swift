import AnnealPipeline

/// What a run was asked to compute, as the ledger keeps it (`runs.params`): the pipeline's
/// seed, params and `--set` overrides, and per stage its resolved `with`, the pipeline values
/// it refers to, its seed, and for a sweep's variant its matrix values. One canonical JSON
/// text per run, written with the run's first row: no extra write, even on a no-op run.
///
/// `{"pipeline": {"name", "seed", "params", "overrides"}, "stages": {NAME: {"with",
/// "referenced", "seed", "kind", "matrix"?: {KEY: VALUE}, "sweep"?: STAGE, "base"?: STAGE}}}`
public enum RunParameters {
    public static func record(_ spec: PipelineSpec, overrides: [String]) -> Value {
        var stages: [String: Value] = [:]
        for s in spec.stages { stages[s.name] = record(s) }
        return .map([
            "pipeline": .map(["name": .string(spec.name), "seed": .int(spec.seed), "params": spec.params,
                              "overrides": .list(overrides.map(Value.string))]),
            "stages": .map(stages),
        ])
    }

    public static func record(_ s: StageSpec) -> Value {
        var m: [String: Value] = ["with": s.params, "referenced": .map(s.referencedParams), "kind": .string(s.kindName),
                                  "seed": s.readsSeed ? .int(s.seed) : .null]
        if let v = s.variant {
            m["matrix"] = .map(Dictionary(v.assignments.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
            m["sweep"] = .string(v.sweep)
            m["base"] = .string(v.base)
        }
        return .map(m)
    }

    /// Dotted parameter names → values of one recorded stage: `with.lr`, `params.width`, `seed`.
    public static func flatten(stage: Value) -> [String: Value] {
        var out: [String: Value] = [:]
        for (k, v) in stage["with"]?.flattened() ?? [:] { out["with." + k] = v }
        for (k, v) in stage["referenced"]?.mapValue ?? [:] where k != "seed" { out[k] = v }
        if let seed = stage["seed"], seed != .null { out["seed"] = seed }
        return out
    }
}
