import AnnealCompute
import AnnealModels

/// Direct preference optimisation (Rafailov et al. 2023) against a frozen reference. With
/// Δ = [log π(y_w) − log π_ref(y_w)] − [log π(y_l) − log π_ref(y_l)]:
///
///   sigmoid: −(1 − ε)·log σ(βΔ) − ε·log σ(−βΔ)   (ε: label smoothing, cDPO; 0 = plain DPO)
///   ipo:     (Δ̄ − 1/(2β))², Δ̄ from log-likelihoods averaged per answer token (Azar et al. 2023)
///
/// both averaged over pairs. The loss is log 2 for sigmoid (1/(4β²) for IPO) while the
/// policy equals the reference.
public enum DPOLoss {
    public enum Kind: String, CaseIterable, Sendable {
        case sigmoid, ipo
    }

    /// `chosen`, `rejected`: the policy's log-likelihoods [B] (sums, or per-token means for
    /// IPO — see `logLikelihoods`); `referenceChosen`, `referenceRejected` the reference's,
    /// computed the same way.
    public static func loss(_ tape: Tape, chosen: Var, rejected: Var, referenceChosen: [Float], referenceRejected: [Float],
                            beta: Float, kind: Kind, labelSmoothing: Float = 0) -> Var {
        let B = tape.value(chosen).count
        precondition(tape.value(rejected).count == B && referenceChosen.count == B && referenceRejected.count == B,
                     "DPO needs as many chosen as rejected log-likelihoods, policy and reference")
        precondition(beta > 0, "β must be positive")
        let referenceMargin = zip(referenceChosen, referenceRejected).map { $0 - $1 }
        let delta = tape.sub(tape.sub(chosen, rejected), tape.constant(Tensor(shape: [B], values: referenceMargin)))
        switch kind {
        case .sigmoid:
            let z = tape.scale(delta, beta)
            var perPair = tape.scale(tape.logSigmoid(z), -(1 - labelSmoothing))
            if labelSmoothing > 0 {
                perPair = tape.add(perPair, tape.scale(tape.logSigmoid(tape.negate(z)), -labelSmoothing))
            }
            return tape.mean(perPair)
        case .ipo:
            return tape.mean(tape.square(tape.addScalar(delta, -1 / (2 * beta))))
        }
    }

    /// The SFT term some DPO recipes add to keep the chosen answers likely (LLaMA-Factory's
    /// `pref_ftx`, RPO of Pang et al. 2024): the chosen answers' negative log-likelihood per
    /// answer token, averaged over pairs. `chosen` are `logLikelihoods`' chosen values — sums
    /// over `tokens` answer tokens for sigmoid, already per-token means for IPO. DPO alone only
    /// moves the margin, so a refusal that is the rejected side of some pairs and the chosen
    /// side of others can fall on both (docs/alignment.md).
    public static func chosenNLL(_ tape: Tape, chosen: Var, tokens: [Int], kind: Kind) -> Var {
        let B = tape.value(chosen).count
        precondition(tokens.count == B, "\(B) chosen log-likelihoods, \(tokens.count) token counts")
        let divisors = kind == .ipo ? [Float](repeating: 1, count: B) : tokens.map { Float(max($0, 1)) }
        return tape.negate(tape.mean(tape.div(chosen, tape.constant(Tensor(shape: [B], values: divisors)))))
    }

    /// The policy's log-likelihood of every row of `batch` [2B] — sums over answer tokens
    /// for sigmoid, means for IPO — split into chosen [B] and rejected [B].
    public static func logLikelihoods(_ tape: Tape, model: GPT, batch: DPOBatch, kind: Kind, training: Bool,
                                      rng: inout RNG) -> (chosen: Var, rejected: Var) {
        var rows = model.sequenceLogProbs(tape, tokens: batch.tokens, targets: batch.targets, batch: batch.rows,
                                          training: training, rng: &rng)
        if kind == .ipo {
            let counts = batch.targetCounts.map { Float(max($0, 1)) }
            rows = tape.div(rows, tape.constant(Tensor(shape: [batch.rows], values: counts)))
        }
        let column = tape.reshape(rows, [batch.rows, 1])
        let B = batch.pairs
        return (tape.reshape(tape.sliceRows(column, 0..<B), [B]), tape.reshape(tape.sliceRows(column, B..<(2 * B)), [B]))
    }

    /// The same for a model that does not train (the reference): plain numbers.
    public static func referenceLogLikelihoods(_ model: GPT, batch: DPOBatch, kind: Kind) -> (chosen: [Float], rejected: [Float]) {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        let r = logLikelihoods(tape, model: model, batch: batch, kind: kind, training: false, rng: &unused)
        return (tape.value(r.chosen).array, tape.value(r.rejected).array)
    }
}

/// DPO's implicit rewards r = β·(log π − log π_ref) of chosen and rejected answers, the
/// stage's `reward_chosen`, `reward_rejected`, `accuracy` (share of pairs where the chosen
/// reward is higher; a tie is a miss) and `margin` (mean r_chosen − r_rejected).
public struct DPOMetrics: Sendable, Equatable {
    public var rewardChosen: Double
    public var rewardRejected: Double
    public var accuracy: Double
    public var margin: Double
    public var pairs: Int

    public init(chosen: [Float], rejected: [Float], referenceChosen: [Float], referenceRejected: [Float], beta: Float) {
        let n = chosen.count
        precondition(n > 0 && rejected.count == n && referenceChosen.count == n && referenceRejected.count == n,
                     "DPO metrics need the same number (at least one) of each log-likelihood")
        let rc = (0..<n).map { Double(beta) * (Double(chosen[$0]) - Double(referenceChosen[$0])) }
        let rr = (0..<n).map { Double(beta) * (Double(rejected[$0]) - Double(referenceRejected[$0])) }
        pairs = n
        rewardChosen = rc.reduce(0, +) / Double(n)
        rewardRejected = rr.reduce(0, +) / Double(n)
        accuracy = Double(zip(rc, rr).filter { $0 > $1 }.count) / Double(n)
        margin = rewardChosen - rewardRejected
    }

    public var values: [String: Double] {
        ["reward_chosen": rewardChosen, "reward_rejected": rewardRejected, "accuracy": accuracy, "margin": margin]
    }
}
