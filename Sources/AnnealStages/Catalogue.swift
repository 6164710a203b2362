/// The built-in stage kinds of this binary, in the order `anneal` lists them.
let builtinStages: [any BuiltinStage.Type] = [
    TinyWorldStage.self, CleanStage.self, DedupStage.self, TokenizeStage.self,
    PretrainStage.self, SFTStage.self, RewardStage.self, PPOStage.self, DPOStage.self, EvalStage.self,
]
