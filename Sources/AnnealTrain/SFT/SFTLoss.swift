import AnnealCompute
import AnnealModels

public enum SFTLoss {
    /// Mean next-token cross-entropy over the batch's kept targets only (assistant tokens):
    /// Σ nll / (number of kept targets), the pretraining loss with the mask carried by the
    /// -100 targets. Validate the batch first (`SFTBatch.validated`): with no kept target
    /// cross-entropy is 0 with zero gradients.
    public static func loss(_ tape: Tape, model: GPT, batch: SFTBatch, training: Bool, rng: inout RNG) -> Var {
        model.languageModelLoss(tape, tokens: batch.tokens, targets: batch.targets, batch: batch.rows,
                                training: training, rng: &rng)
    }
}
