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

extension SFTLoss {
    /// The backward seed of one micro-batch under gradient accumulation: its share of the
    /// step's kept targets, n_i / Σ n. Each micro-batch loss is a mean over its own targets, so
    /// seeding every one with 1/k would weigh a short answer's tokens more than a long one's
    /// (SFT masks make target counts vary); with these seeds the step's gradient is exactly
    /// the one of all its micro-batches as a single batch.
    public static func accumulationSeeds(_ microBatches: [SFTBatch]) -> [Float] {
        let total = microBatches.reduce(0) { $0 + $1.targetCount }
        precondition(total > 0, "no kept target in the step's micro-batches; validate them first")
        return microBatches.map { Float($0.targetCount) / Float(total) }
    }
}
