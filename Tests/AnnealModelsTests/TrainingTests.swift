import AnnealCompute
import AnnealModels
import Testing

@Suite("training utilities")
struct TrainingTests {
    /// Two half-batches with seed 1/2 each accumulate the same gradient as the full batch.
    @Test func gradientAccumulationEqualsTheFullBatch() throws {
        let model = try GPT(config: GPTConfig(vocabSize: 32, contextLength: 8, width: 16, layers: 1, heads: 2))
        var rng = RNG(seed: 3)
        model.initializeWeights(rng: &rng)
        var data = RNG(seed: 4)
        let tokens = (0..<16).map { _ in Int32(data.nextInt(below: 32)) }
        let targets = (0..<16).map { _ in Int32(data.nextInt(below: 32)) }
        let tape = Tape()
        tape.backward(model.languageModelLoss(tape, tokens: tokens, targets: targets, batch: 2, rng: &rng))
        let full = model.params.grads.copy()
        model.params.zeroGrads()
        for half in [0..<8, 8..<16] {
            tape.reset()
            let loss = model.languageModelLoss(tape, tokens: Array(tokens[half]), targets: Array(targets[half]),
                                               batch: 1, rng: &rng)
            tape.backward(loss, seed: 0.5)
        }
        var worst: Float = 0, scale: Float = 0
        for i in 0..<full.count {
            worst = max(worst, abs(full[i] - model.params.grads[i]))
            scale = max(scale, abs(full[i]))
        }
        #expect(worst / scale < 1e-5)
    }

    @Test func frozenEntriesAreNotUpdated() {
        let params = ParameterSet([("a", [3], true), ("b", [3], true)])
        params.grads.fill(1)
        params.setFrozen(true) { $0 == "a" }
        var opt = AdamW(for: params)
        opt.update(params, lr: 0.1)
        #expect(params["a"].array == [0, 0, 0])
        #expect(params["b"].array.allSatisfy { $0 < 0 })
    }
}
