import AnnealCompute
import AnnealModels
import AnnealText
import Foundation
import Testing
@testable import AnnealTrain

@Suite struct DPOTests {
    /// The policy's log-likelihoods, both DPO losses and every parameter gradient against
    /// Tests/Fixtures/make_dpo_fixture.py, and against central differences.
    @Test(arguments: DPOLoss.Kind.allCases)
    func lossMatchesPyTorchAndFiniteDifferences(kind: DPOLoss.Kind) throws {
        let dir = fixtures.appendingPathComponent("dpo_loss")
        let model = try Checkpoint.load(from: dir)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let counts = expected["counts"]!.array.map { Int($0) }
        let batch = DPOBatch(tokens: ints(expected["tokens"]!), targets: ints(expected["targets"]!), pairs: counts.count / 2,
                             targetCounts: counts)
        let refC = expected["ref_chosen.\(kind)"]!.array, refR = expected["ref_rejected.\(kind)"]!.array
        func loss(_ tape: Tape) -> (Var, Var, Var) {
            var rng = RNG(seed: 0)
            let (c, r) = DPOLoss.logLikelihoods(tape, model: model, batch: batch, kind: kind, training: false, rng: &rng)
            let l = DPOLoss.loss(tape, chosen: c, rejected: r, referenceChosen: refC, referenceRejected: refR, beta: 0.5,
                                 kind: kind, labelSmoothing: kind == .sigmoid ? 0.1 : 0)
            return (l, c, r)
        }
        let tape = Tape()
        let (l, c, r) = loss(tape)
        let ll = Tensor(shape: [2 * batch.pairs], values: tape.value(c).array + tape.value(r).array)
        #expect(relativeError(ll, expected["loglik.\(kind)"]!) < 1e-5)
        let want = expected["loss.\(kind)"]![0]
        #expect(abs(tape.value(l)[0] - want) / want < 1e-5, "loss \(tape.value(l)[0]) vs PyTorch \(want)")
        tape.backward(l)
        for (i, e) in model.params.entries.enumerated() {
            let err = relativeError(model.params.grad(i), expected["grad.\(kind).\(e.name)"]!)
            #expect(err < 1e-4, "gradient of \(e.name): relative error \(err)")
        }
        let fd = finiteDifferenceError(model) { loss($0).0 }
        #expect(fd < 5e-3, "finite differences: \(fd)")
    }

    /// By hand: at Δ = 0 sigmoid is log 2 and IPO 1/(4β²); the gradient of sigmoid DPO with
    /// respect to the chosen log-likelihood is −β·σ(−βΔ)/B, the rejected one the opposite.
    @Test func lossAtTheReferenceAndItsGradient() {
        let tape = Tape()
        let c = tape.variable(Tensor(shape: [2], values: [-5, -3]))
        let r = tape.variable(Tensor(shape: [2], values: [-6, -2]))
        let l = DPOLoss.loss(tape, chosen: c, rejected: r, referenceChosen: [-5, -3], referenceRejected: [-6, -2], beta: 0.1, kind: .sigmoid)
        #expect(abs(tape.value(l)[0] - Float(log(2.0))) < 1e-6)
        tape.backward(l)
        #expect(abs(tape.grad(c)![0] + 0.1 * 0.5 / 2) < 1e-7 && abs(tape.grad(r)![1] - 0.1 * 0.5 / 2) < 1e-7)
        let ipo = Tape()
        let x = ipo.variable(Tensor(shape: [1], values: [-1]))
        let y = ipo.variable(Tensor(shape: [1], values: [-2]))
        #expect(abs(ipo.value(DPOLoss.loss(ipo, chosen: x, rejected: y, referenceChosen: [-1], referenceRejected: [-2], beta: 0.5, kind: .ipo))[0] - 1) < 1e-6)
        // Δ = 1 = 1/(2β) is IPO's minimum, 0.
        let at = Tape()
        let a = at.variable(Tensor(shape: [1], values: [0]))
        let b = at.variable(Tensor(shape: [1], values: [-1]))
        #expect(at.value(DPOLoss.loss(at, chosen: a, rejected: b, referenceChosen: [0], referenceRejected: [0], beta: 0.5, kind: .ipo))[0] == 0)
    }

    /// By hand: sums −6 over 3 tokens and −2 over 4 → NLL per token 2 and 0.5, mean 1.25; its
    /// gradient with respect to each chosen sum is −1/(B·n_i) = −1/6 and −1/8. IPO's values
    /// are already per-token means: −(−2 − 0.5)/2.
    @Test func sftTermOnTheChosenAnswers() {
        let tape = Tape()
        let c = tape.variable(Tensor(shape: [2], values: [-6, -2]))
        let nll = DPOLoss.chosenNLL(tape, chosen: c, tokens: [3, 4], kind: .sigmoid)
        #expect(abs(tape.value(nll)[0] - 1.25) < 1e-6)
        tape.backward(nll)
        #expect(abs(tape.grad(c)![0] + 1.0 / 6) < 1e-6 && abs(tape.grad(c)![1] + 1.0 / 8) < 1e-6)
        let ipo = Tape()
        let x = ipo.variable(Tensor(shape: [2], values: [-2, -0.5]))
        #expect(abs(ipo.value(DPOLoss.chosenNLL(ipo, chosen: x, tokens: [3, 4], kind: .ipo))[0] - 1.25) < 1e-6)
    }

    @Test func implicitRewardsAccuracyAndMargin() {
        let m = DPOMetrics(chosen: [-1, -2, -3], rejected: [-4, -1, -3], referenceChosen: [-2, -2, -2], referenceRejected: [-2, -2, -3], beta: 0.5)
        // r_chosen = 0.5·(1, 0, −1), r_rejected = 0.5·(−2, 1, 0): wins 1 of 3.
        #expect(abs(m.rewardChosen - 0) < 1e-12 && abs(m.rewardRejected - (-1.0 / 6)) < 1e-12)
        #expect(abs(m.accuracy - 1.0 / 3) < 1e-12 && abs(m.margin - 1.0 / 6) < 1e-12)
        #expect(Set(m.values.keys) == ["reward_chosen", "reward_rejected", "accuracy", "margin"])
    }

    /// Rows: chosen then rejected, inputs and shifted targets with the prompt masked, padded.
    @Test func batchesMaskPromptsAndPadding() {
        let chosen = SFTExample(ids: [1, 2, 3, 4], isTarget: [false, false, true, true], source: "p:1")
        let rejected = SFTExample(ids: [1, 2, 5], isTarget: [false, false, true], source: "p:1")
        let b = DPOData.batch([DPOPair(chosen: chosen, rejected: rejected)], pad: 0)
        #expect(b.tokens == [1, 2, 3, 1, 2, 0])
        #expect(b.targets == [-100, 3, 4, -100, 5, -100])
        #expect(b.targetCounts == [2, 1] && b.rows == 2)
    }
}
