import AnnealCompute
import AnnealModels
import Foundation
import Testing

@Suite("training utilities")
struct TrainingTests {
    /// k micro-batches, each on a freshly reset tape with seed 1/k, give the gradient of one
    /// batch of k× the size (with k = 4 a double count of any micro-batch would show).
    @Test(arguments: [2, 4])
    func microBatchesAccumulateToOneBatch(k: Int) throws {
        let model = try GPT(config: GPTConfig(vocabSize: 32, contextLength: 8, width: 16, layers: 2, heads: 2))
        var rng = RNG(seed: 5)
        model.initializeWeights(rng: &rng)
        var data = RNG(seed: 6)
        let tokens = (0..<(8 * k)).map { _ in Int32(data.nextInt(below: 32)) }
        let targets = (0..<(8 * k)).map { _ in Int32(data.nextInt(below: 32)) }
        let tape = Tape()
        tape.backward(model.languageModelLoss(tape, tokens: tokens, targets: targets, batch: k, rng: &rng))
        let full = model.params.grads.copy()
        model.params.zeroGrads()
        for i in 0..<k {
            tape.reset()
            let range = (8 * i)..<(8 * i + 8)
            let loss = model.languageModelLoss(tape, tokens: Array(tokens[range]), targets: Array(targets[range]),
                                               batch: 1, rng: &rng)
            tape.backward(loss, seed: 1 / Float(k))
        }
        var worst: Float = 0, scale: Float = 0
        for i in 0..<full.count {
            worst = max(worst, abs(full[i] - model.params.grads[i]))
            scale = max(scale, abs(full[i]))
        }
        #expect(worst / scale < 1e-5)
    }

    /// The documented trap: a second backward on a tape that was not reset would propagate
    /// the first micro-batch again, so it stops the process instead.
    @Test func secondBackwardWithoutResetStops() async {
        await #expect(processExitsWith: .failure) {
            let model = try GPT(config: GPTConfig(vocabSize: 16, contextLength: 4, width: 8, layers: 1, heads: 2))
            var rng = RNG(seed: 1)
            model.initializeWeights(rng: &rng)
            let tape = Tape()
            let a = model.languageModelLoss(tape, tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], batch: 1, rng: &rng)
            tape.backward(a)
            let b = model.languageModelLoss(tape, tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], batch: 1, rng: &rng)
            tape.backward(b)
        }
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

    /// LoRA + scalar head: 2 steps, save adapters and optimizer, load, 2 more steps equals
    /// 4 uninterrupted steps bit for bit (both parameter sets, schedule position, RNG).
    @Test func loraTrainingResumesExactly() throws {
        let dir = fixturesDirectory.appendingPathComponent("gpt_lora_score")
        let tokens: [Int32] = [5, 9, 2, 33, 4, 4, 0, 0, 7, 1, 60, 3, 12, 2, 9, 8]
        let schedule = LRSchedule(peak: 1e-2, warmupSteps: 2, totalSteps: 4)
        func run(_ model: GPT, _ opt: inout TrainingOptimizer, _ rng: inout RNG, steps: Int) {
            let tape = Tape()
            for _ in 0..<steps {
                tape.reset()
                opt.zeroGrads()
                let h = model.hidden(tape, tokens: tokens, batch: 2, training: true, rng: &rng)
                let r = model.scalar(tape, hidden: h, lastIndices: GPT.lastNonPadding(tokens, batch: 2, padToken: 0))
                let loss = tape.negate(tape.logSigmoid(tape.sub(tape.sliceRows(r, 0..<1), tape.sliceRows(r, 1..<2))))
                tape.backward(loss)
                _ = opt.step()
            }
        }
        let straight = try Checkpoint.load(from: dir)
        var optA = TrainingOptimizer(model: straight, schedule: schedule)
        var rngA = RNG(seed: 8)
        run(straight, &optA, &rngA, steps: 4)

        let first = try Checkpoint.load(from: dir)
        var optB = TrainingOptimizer(model: first, schedule: schedule)
        var rngB = RNG(seed: 8)
        run(first, &optB, &rngB, steps: 2)
        let saved = temporaryDirectory("lora-resume")
        try Checkpoint.save(first, to: saved)
        try optB.save(to: saved, rng: rngB)

        let resumed = try Checkpoint.load(from: saved)
        var optC = TrainingOptimizer(model: resumed, schedule: schedule)
        var rngC = try optC.load(from: saved)
        #expect(optC.stepsTaken == 2 && rngC == rngB)
        run(resumed, &optC, &rngC, steps: 2)
        #expect(resumed.lora!.params.values.array == straight.lora!.params.values.array)
        #expect(resumed.params.values.array == straight.params.values.array)
    }

    @Test func perTokenScalarsAgreeWithTheLastTokenHead() throws {
        let model = try Checkpoint.load(from: fixturesDirectory.appendingPathComponent("gpt_lora_score"))
        let tokens: [Int32] = [5, 9, 2, 33, 4, 4, 0, 0, 7, 1, 60, 3, 12, 2, 9, 8]
        let last = GPT.lastNonPadding(tokens, batch: 2, padToken: 0)
        #expect(last == [5, 7])
        let tape = Tape(recordsGradients: false)
        var rng = RNG(seed: 0)
        let h = model.hidden(tape, tokens: tokens, batch: 2, rng: &rng)
        let r = tape.value(model.scalar(tape, hidden: h, lastIndices: last))
        let all = tape.value(model.scalarPerToken(tape, hidden: h))
        #expect(all.shape == [16])
        #expect(abs(r[0] - all[5]) <= 1e-6 * abs(all[5]) && abs(r[1] - all[8 + 7]) <= 1e-6 * abs(all[15]))
    }

    /// A DPO-style loss built from the public pieces: −log σ(β·(Δchosen − Δrejected)) with a
    /// frozen reference model, checked for a finite loss and a gradient on the policy only.
    @Test func dpoLossFromSequenceLogProbs() throws {
        let dir = fixturesDirectory.appendingPathComponent("gpt")
        let policy = try Checkpoint.load(from: dir), reference = try Checkpoint.load(from: dir)
        reference.params.setFrozen(true)
        // Row 0 = chosen, row 1 = rejected; the first 3 positions are the prompt.
        let tokens: [Int32] = [1, 2, 3, 10, 11, 12, 0, 0, 1, 2, 3, 20, 21, 0, 0, 0]
        var targets = Array(tokens.dropFirst()) + [-100]
        for i in [0, 1, 6, 7, 8, 9, 13, 14, 15] { targets[i] = -100 }
        let tape = Tape()
        var rng = RNG(seed: 0)
        let pi = policy.sequenceLogProbs(tape, tokens: tokens, targets: targets, batch: 2, rng: &rng)
        let ref = reference.sequenceLogProbs(tape, tokens: tokens, targets: targets, batch: 2, rng: &rng)
        #expect(!tape.requiresGrad(ref))
        let delta = tape.sub(pi, ref)
        let margin = tape.sub(tape.sliceRows(delta, 0..<1), tape.sliceRows(delta, 1..<2))
        let loss = tape.mean(tape.negate(tape.logSigmoid(tape.scale(margin, 0.1))))
        #expect(abs(tape.value(loss)[0] - Float(log(2.0))) < 1e-6)  // identical models: margin 0
        tape.backward(loss)
        #expect(policy.params.grads.array.contains { $0 != 0 })
        #expect(reference.params.grads.array.allSatisfy { $0 == 0 })
    }
}
