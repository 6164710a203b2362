import AnnealCompute

/// PPO's two losses (Schulman et al. 2017) on the response tokens of a minibatch, as tape
/// compositions: per-token tensors [N] where positions outside any response carry
/// advantage 0 and mask 0, and the means run over the `kept` response tokens only.
public enum PPOLoss {
    public struct PolicyStats: Sendable, Equatable {
        /// Share of response tokens where the clipped term was the larger (active) one.
        public var clipFraction: Double
        /// ½·mean((log π − log π_old)²), TRL's approxkl.
        public var approxKL: Double
        /// Mean ratio π/π_old over the response tokens.
        public var meanRatio: Double
    }

    /// The clipped surrogate: mean over kept tokens of max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε)),
    /// ρ = exp(log π − log π_old).
    public static func ppoLoss(_ tape: Tape, logProbs: Var, oldLogProbs: [Float], advantages: [Float], mask: [Float],
                               clip epsilon: Float) -> (loss: Var, stats: PolicyStats) {
        let N = tape.value(logProbs).count
        precondition(oldLogProbs.count == N && advantages.count == N && mask.count == N, "PPO loss inputs of different lengths")
        let kept = max(mask.reduce(0, +), 1)
        let ratio = tape.exp(tape.sub(logProbs, tape.constant(Tensor(shape: [N], values: oldLogProbs))))
        let negA = tape.constant(Tensor(shape: [N], values: zip(advantages, mask).map { -$0 * $1 }))
        let unclipped = tape.mul(negA, ratio)
        let clipped = tape.mul(negA, tape.clamp(ratio, min: 1 - epsilon, max: 1 + epsilon))
        let loss = tape.scale(tape.sum(tape.maximum(unclipped, clipped)), 1 / kept)
        let u = tape.value(unclipped), c = tape.value(clipped), r = tape.value(ratio), lp = tape.value(logProbs)
        var clippedCount = 0.0, kl = 0.0, ratios = 0.0
        for i in 0..<N where mask[i] > 0 {
            if c[i] > u[i] { clippedCount += 1 }
            let d = Double(lp[i]) - Double(oldLogProbs[i])
            kl += 0.5 * d * d
            ratios += Double(r[i])
        }
        let n = Double(kept)
        return (loss, PolicyStats(clipFraction: clippedCount / n, approxKL: kl / n, meanRatio: ratios / n))
    }

    /// The clipped value loss: ½·mean over kept tokens of max((V − R)², (V_clip − R)²),
    /// V_clip = V_old + clip(V − V_old, −ε_v, ε_v).
    public static func valueLoss(_ tape: Tape, values: Var, oldValues: [Float], returns: [Float], mask: [Float],
                                 clip epsilon: Float) -> Var {
        let N = tape.value(values).count
        precondition(oldValues.count == N && returns.count == N && mask.count == N, "value loss inputs of different lengths")
        let kept = max(mask.reduce(0, +), 1)
        let old = tape.constant(Tensor(shape: [N], values: oldValues))
        let target = tape.constant(Tensor(shape: [N], values: returns))
        let clippedValues = tape.add(old, tape.clamp(tape.sub(values, old), min: -epsilon, max: epsilon))
        let worst = tape.maximum(tape.square(tape.sub(values, target)), tape.square(tape.sub(clippedValues, target)))
        let masked = tape.mul(worst, tape.constant(Tensor(shape: [N], values: mask)))
        return tape.scale(tape.sum(masked), 0.5 / kept)
    }

    /// PPO-ptx's SFT term (Ouyang et al. 2022): the mean negative log-likelihood of reference
    /// answers' tokens. `logProbs` holds log p of every target and 0 off the answers
    /// (`GPT.tokenLogProbs`); `kept` counts the answer tokens.
    public static func ptxLoss(_ tape: Tape, logProbs: Var, kept: Int) -> Var {
        tape.scale(tape.sum(logProbs), -1 / Float(max(kept, 1)))
    }

    /// The minimised objective of a PPO update: policy + vfCoef·value (no value term without a
    /// critic) + ptx·SFT term (none when `sft` is nil).
    public static func total(_ tape: Tape, policy: Var, value: Var?, vfCoef: Float, sft: Var?, ptx: Float) -> Var {
        var loss = policy
        if let value { loss = tape.add(loss, tape.scale(value, vfCoef)) }
        if let sft { loss = tape.add(loss, tape.scale(sft, ptx)) }
        return loss
    }
}
