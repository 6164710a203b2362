/// The reward side of PPO for language models (Ziegler et al. 2019; Ouyang et al. 2022):
/// per-token rewards from the KL penalty and the reward model's score, generalized
/// advantage estimates, and whitening. Pure functions over one response's tokens.
public enum PPOAdvantages {
    /// The per-token KL penalty −β·(log π(a_t) − log π_ref(a_t)), the "kl" estimator of
    /// TRL and torchtune (its sum over a response estimates KL(π‖π_ref) in nats).
    public static func klPenalty(logProbs: [Float], referenceLogProbs: [Float], beta: Float) -> [Float] {
        precondition(logProbs.count == referenceLogProbs.count, "\(logProbs.count) log-probs, \(referenceLogProbs.count) reference ones")
        return zip(logProbs, referenceLogProbs).map { -beta * ($0 - $1) }
    }

    /// Per-token rewards of one response: the KL penalty everywhere, plus the reward
    /// model's `score` on the final token.
    public static func rewards(score: Float, logProbs: [Float], referenceLogProbs: [Float], beta: Float) -> [Float] {
        var r = klPenalty(logProbs: logProbs, referenceLogProbs: referenceLogProbs, beta: beta)
        precondition(!r.isEmpty, "a response has at least one token")
        r[r.count - 1] += score
        return r
    }

    /// GAE over one response: δ_t = r_t + γ·V_{t+1} − V_t with V_T = 0 (the episode ends
    /// with the response), A_t = δ_t + γλ·A_{t+1}; returns R_t = A_t + V_t are the value
    /// targets.
    public static func advantages(rewards: [Float], values: [Float], gamma: Float, lambda: Float)
        -> (advantages: [Float], returns: [Float]) {
        precondition(rewards.count == values.count, "\(rewards.count) rewards, \(values.count) values")
        var a = [Float](repeating: 0, count: rewards.count)
        var next: Float = 0, nextValue: Float = 0
        for t in rewards.indices.reversed() {
            let delta = rewards[t] + gamma * nextValue - values[t]
            next = delta + gamma * lambda * next
            a[t] = next
            nextValue = values[t]
        }
        return (a, zip(a, values).map { $0 + $1 })
    }

    /// RLOO's baseline (Kool et al. 2019; Ahmadian et al. 2024): `scores` hold `group`
    /// consecutive samples per prompt, and each score gets the mean of its prompt's *other*
    /// samples subtracted, s_i − Σ_{j≠i} s_j/(k − 1). Every prompt then has its own zero: an
    /// unsafe request whose every answer scores low no longer pushes all of them down, only
    /// those below its refusals. `group` 1 returns the scores unchanged (no other sample).
    public static func leaveOneOut(_ scores: [Float], group k: Int) -> [Float] {
        precondition(k >= 1 && scores.count % k == 0, "\(scores.count) scores are not groups of \(k)")
        guard k > 1 else { return scores }
        var out = scores
        for start in stride(from: 0, to: scores.count, by: k) {
            let sum = scores[start..<(start + k)].reduce(0.0) { $0 + Double($1) }
            for i in start..<(start + k) { out[i] = Float(Double(scores[i]) - (sum - Double(scores[i])) / Double(k - 1)) }
        }
        return out
    }

    /// Advantages without a critic (REINFORCE with the RLOO baseline, as OpenRLHF's `rloo`):
    /// the discounted reward-to-go A_t = Σ_{u≥t} γ^{u−t} r_u, which are also the returns.
    public static func rewardToGo(_ rewards: [Float], gamma: Float) -> [Float] {
        var out = rewards, next: Float = 0
        for t in rewards.indices.reversed() {
            next = rewards[t] + gamma * next
            out[t] = next
        }
        return out
    }

    /// (x − mean)/√(var + 1e-8) over every token of the batch, with the unbiased variance
    /// (TRL's `whiten`); a single token is only centred.
    public static func whiten(_ x: [Float]) -> [Float] {
        guard !x.isEmpty else { return [] }
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let squares = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
        let variance = x.count > 1 ? squares / (n - 1) : 0
        let scale = 1 / (variance + 1e-8).squareRoot()
        return x.map { Float((Double($0) - mean) * (x.count > 1 ? scale : 1)) }
    }
}

/// β of the KL penalty, fixed or adapted toward a target KL per response (Ziegler et al.
/// 2019's proportional controller, as TRL's AdaptiveKLController): e = clip(KL/target − 1,
/// −0.2, 0.2), β ← β·(1 + e·n/horizon) after each batch of n responses.
public struct KLController: Sendable, Equatable, Codable {
    public var beta: Double
    /// nil: β stays fixed.
    public var target: Double?
    public var horizon: Double

    public init(beta: Double, target: Double?, horizon: Double) {
        self.beta = beta
        self.target = target
        self.horizon = horizon
    }

    public mutating func update(observedKL: Double, responses n: Int) {
        guard let target, target > 0 else { return }
        let error = min(max(observedKL / target - 1, -0.2), 0.2)
        beta *= 1 + error * Double(n) / horizon
    }
}
