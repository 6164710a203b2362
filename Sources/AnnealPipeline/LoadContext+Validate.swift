/// Checks of parameter values beyond their type: numeric bounds and allowed list items on
/// each `ParamSpec`, then each schema's validate hook over the resolved parameters (with the
/// upstream stages' parameters), so impossible hyperparameters fail at `anneal validate`,
/// all at once, before any stage spends compute.
extension ParamSpec {
    /// What is wrong with `value` (already of this parameter's type) besides its type.
    func problem(with value: Value) -> ParamProblem? {
        if let bounds, let x = value.doubleValue, !bounds.contains(x) {
            return ParamProblem(name, "must be \(bounds), found \(value.displayString)")
        }
        if let allowed, kind == .list, let items = value.listValue {
            for item in items where !allowed.contains(item.displayString) {
                return ParamProblem(name, "has '\(item.displayString)', which is not one of \(allowed.joined(separator: ", "))",
                                    hint: didYouMean(item.displayString, allowed))
            }
        }
        return nil
    }
}

extension LoadContext {
    /// Runs every schema's validate hook; each problem is placed at the parameter's value in
    /// `with:`, or at `with:` (or the stage) when the parameter was left at its default.
    mutating func checkParamRelations(_ stages: [StageSpec], drafts: [StageDraft]) {
        let byName = Dictionary(stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (stage, draft) in zip(stages, drafts) {
            guard let validate = draft.schema?.validate else { continue }
            var upstream: [String: Value] = [:]
            for input in stage.inputs {
                if case .stage(let s, _) = input.source, let u = byName[s], case .uses = u.action { upstream[input.name] = u.params }
            }
            for problem in validate(ParamContext(params: stage.params, upstream: upstream)) {
                var node = draft.withNode
                for part in problem.param.split(separator: ".") { node = node?[String(part)] }
                let mark = node?.mark ?? draft.withNode?.mark ?? draft.mark
                error(mark, "parameter 'with.\(problem.param)' of stage '\(stage.name)': \(problem.message)", hint: problem.hint)
            }
        }
    }
}
