import AnnealCompute
import AnnealModels

/// The pairwise loss of reward models (Ouyang et al. 2022; the margin as in Llama 2):
/// mean over pairs of −log σ(r_c − r_r − m). It is log 2 when the rewards tie, falls
/// towards 0 as the chosen answer wins by more than the margin.
public enum BradleyTerry {
    /// `chosen`, `rejected`: rewards [B]; `margins`: one per pair (nil: 0).
    public static func loss(_ tape: Tape, chosen: Var, rejected: Var, margins: [Float]? = nil) -> Var {
        let B = tape.value(chosen).count
        precondition(tape.value(rejected).count == B, "\(B) chosen rewards, \(tape.value(rejected).count) rejected")
        var difference = tape.sub(chosen, rejected)
        if let margins {
            precondition(margins.count == B, "\(margins.count) margins for \(B) pairs")
            difference = tape.sub(difference, tape.constant(Tensor(shape: [B], values: margins)))
        }
        return tape.negate(tape.mean(tape.logSigmoid(difference)))
    }

    /// The same margin for every pair (the stage's `margin` parameter).
    public static func loss(_ tape: Tape, chosen: Var, rejected: Var, margin: Float) -> Var {
        let B = tape.value(chosen).count
        return loss(tape, chosen: chosen, rejected: rejected, margins: margin == 0 ? nil : [Float](repeating: margin, count: B))
    }

    /// The scalar head's rewards for a batch: one forward pass over chosen and rejected
    /// rows together, read at each row's last real token.
    public static func rewards(_ tape: Tape, model: GPT, batch: RewardBatch, training: Bool,
                               rng: inout RNG) -> (chosen: Var, rejected: Var) {
        let h = model.hidden(tape, tokens: batch.tokens, batch: 2 * batch.pairs, training: training, rng: &rng)
        let r = tape.reshape(model.scalar(tape, hidden: h, lastIndices: batch.lastIndices), [2 * batch.pairs, 1])
        let B = batch.pairs
        return (tape.reshape(tape.sliceRows(r, 0..<B), [B]), tape.reshape(tape.sliceRows(r, B..<(2 * B)), [B]))
    }
}
