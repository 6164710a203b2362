import AnnealCompute
import AnnealModels
import Foundation
import Testing
@testable import AnnealTrain

/// PPO's pieces against values computed by hand.
@Suite struct PPOTests {
    func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test func klPenaltyAndTheScoreOnTheFinalToken() {
        let penalty = PPOAdvantages.klPenalty(logProbs: [-1, -2], referenceLogProbs: [-1.5, -1], beta: 0.1)
        #expect(close(penalty, [-0.05, 0.1]))
        let rewards = PPOAdvantages.rewards(score: 2, logProbs: [-1, -2], referenceLogProbs: [-1.5, -1], beta: 0.1)
        #expect(close(rewards, [-0.05, 2.1]))
    }

    /// δ_2 = 2 − 1.5 = 0.5; δ_1 = 0.9·1.5 − 1 = 0.35, A_1 = 0.35 + 0.72·0.5 = 0.71;
    /// δ_0 = 1 + 0.9·1 − 0.5 = 1.4, A_0 = 1.4 + 0.72·0.71 = 1.9112. Returns add V back.
    @Test func gaeOnASmallTrajectory() {
        let (a, r) = PPOAdvantages.advantages(rewards: [1, 0, 2], values: [0.5, 1, 1.5], gamma: 0.9, lambda: 0.8)
        #expect(close(a, [1.9112, 0.71, 0.5]))
        #expect(close(r, [2.4112, 1.71, 2.0]))
        // γ = λ = 1: the reward-to-go minus the value.
        let (mc, _) = PPOAdvantages.advantages(rewards: [1, 0, 2], values: [0.5, 1, 1.5], gamma: 1, lambda: 1)
        #expect(close(mc, [2.5, 1, 0.5]))
        // λ = 0: one-step TD errors.
        let (td, _) = PPOAdvantages.advantages(rewards: [1, 0, 2], values: [0.5, 1, 1.5], gamma: 0.9, lambda: 0)
        #expect(close(td, [1.4, 0.35, 0.5]))
    }

    /// Groups of 3: 1 − (2 + 6)/2 = −3, 2 − 7/2 = −1.5, 6 − 3/2 = 4.5; then 5 − (5 − 1)/2 = 3 twice and
    /// −1 − (5 + 5)/2 = −6. Group 1 keeps the scores.
    @Test func leaveOneOutBaselineSubtractsTheMeanOfThePromptsOtherSamples() {
        #expect(close(PPOAdvantages.leaveOneOut([1, 2, 6, 5, 5, -1], group: 3), [-3, -1.5, 4.5, 3, 3, -6]))
        #expect(close(PPOAdvantages.leaveOneOut([0.5, -0.5], group: 2), [1, -1]))
        #expect(PPOAdvantages.leaveOneOut([3, 1], group: 1) == [3, 1])
    }

    /// r = (1, 0, 2), γ 0.9: A_2 = 2, A_1 = 0 + 0.9·2 = 1.8, A_0 = 1 + 0.9·1.8 = 2.62 — GAE
    /// with λ = 1 and no values.
    @Test func rewardToGoIsGAEWithoutACritic() {
        #expect(close(PPOAdvantages.rewardToGo([1, 0, 2], gamma: 0.9), [2.62, 1.8, 2]))
        let (gae, _) = PPOAdvantages.advantages(rewards: [1, 0, 2], values: [0, 0, 0], gamma: 0.9, lambda: 1)
        #expect(close(PPOAdvantages.rewardToGo([1, 0, 2], gamma: 0.9), gae))
    }

    @Test func whiteningUsesTheUnbiasedVariance() {
        #expect(close(PPOAdvantages.whiten([1, 2, 3]), [-1, 0, 1]))
        #expect(close(PPOAdvantages.whiten([4]), [0]))
    }

    /// Token 0: ρ = 1, A = 2 → −2. Token 1: ρ = 1.5, A = 1 → max(−1.5, −1.2) = −1.2, the
    /// clipped term (no gradient). Token 2 is masked. Loss (−2 − 1.2)/2 = −1.6.
    @Test func clippedSurrogateOnKnownRatios() {
        let tape = Tape()
        let lp = tape.variable(Tensor(shape: [3], values: [0, logf(1.5), 0.3]))
        let (loss, stats) = PPOLoss.ppoLoss(tape, logProbs: lp, oldLogProbs: [0, 0, 0], advantages: [2, 1, 5], mask: [1, 1, 0], clip: 0.2)
        #expect(abs(tape.value(loss)[0] + 1.6) < 1e-5)
        #expect(stats.clipFraction == 0.5)
        #expect(abs(stats.approxKL - 0.5 * pow(log(1.5), 2) / 2) < 1e-6)
        #expect(abs(stats.meanRatio - 1.25) < 1e-6)
        tape.backward(loss)
        #expect(close(tape.grad(lp)!.array, [-1, 0, 0]))
        // A negative advantage with ρ = 1.5: max(1.5, 1.2) keeps the unclipped term, and its
        // gradient −A·ρ/kept.
        let t2 = Tape()
        let lp2 = t2.variable(Tensor(shape: [2], values: [0, logf(1.5)]))
        let (l2, s2) = PPOLoss.ppoLoss(t2, logProbs: lp2, oldLogProbs: [0, 0], advantages: [2, -1], mask: [1, 1], clip: 0.2)
        #expect(abs(t2.value(l2)[0] + 0.25) < 1e-5 && s2.clipFraction == 0)
        t2.backward(l2)
        #expect(close(t2.grad(lp2)!.array, [-1, 0.75]))
    }

    /// Per token max((V − R)², (V_clip − R)²): 1, 1 and 0.64 (V_clip = 1.3 wins), so
    /// ½·2.64/3 = 0.44; the clipped token has no gradient.
    @Test func clippedValueLoss() {
        let tape = Tape()
        let v = tape.variable(Tensor(shape: [4], values: [1, 2, 1, 9]))
        let loss = PPOLoss.valueLoss(tape, values: v, oldValues: [1.5, 1.5, 1.5, 0], returns: [2, 1, 0.5, 0], mask: [1, 1, 1, 0], clip: 0.2)
        #expect(abs(tape.value(loss)[0] - 0.44) < 1e-5)
        tape.backward(loss)
        #expect(close(tape.grad(v)!.array, [-1.0 / 3, 1.0 / 3, 0, 0]))
    }

    /// e = clip(KL/target − 1, ±0.2); β·(1 + e·n/horizon).
    @Test func adaptiveBeta() {
        var kl = KLController(beta: 0.1, target: 6, horizon: 10_000)
        kl.update(observedKL: 12, responses: 64)
        #expect(abs(kl.beta - 0.1 * (1 + 0.2 * 64 / 10_000)) < 1e-15)
        kl = KLController(beta: 0.1, target: 6, horizon: 10_000)
        kl.update(observedKL: 6.6, responses: 64)
        #expect(abs(kl.beta - 0.1 * (1 + 0.1 * 64 / 10_000)) < 1e-15)
        kl.beta = 0.1
        kl.update(observedKL: 0, responses: 100)
        #expect(abs(kl.beta - 0.1 * (1 - 0.2 * 100 / 10_000)) < 1e-15)
        var fixed = KLController(beta: 0.1, target: nil, horizon: 10_000)
        fixed.update(observedKL: 50, responses: 64)
        #expect(fixed.beta == 0.1)
    }

    @Test func batchLayoutPutsEachResponseTokenWhereItIsPredicted() {
        let batch = PPOBatch([Rollout(prompt: [1, 2], response: [3, 4], ended: true), Rollout(prompt: [1], response: [5], ended: true)], pad: 0)
        #expect(batch.tokens == [1, 2, 3, 1, 0, 0])
        #expect(batch.targets == [-100, 3, 4, 5, -100, -100])
        #expect(batch.positions == [[1, 2], [3]])
        #expect(batch.mask == [0, 1, 1, 1, 0, 0])
        #expect(batch.scatter([[7, 8], [9]]) == [0, 7, 8, 9, 0, 0])
        #expect(batch.gather([0, 7, 8, 9, 0, 0]) == [[7, 8], [9]])
    }

    /// With a rollout temperature, log π is that of logits / T, the distribution the tokens were
    /// drawn from (by hand: log-softmax of the scaled logits at the predicting position).
    @Test func logProbsUseTheRolloutTemperature() throws {
        let model = try GPT(config: GPTConfig(vocabSize: 12, contextLength: 16, width: 8, layers: 1, heads: 2))
        var init_ = RNG(seed: 3)
        model.initializeWeights(rng: &init_)
        let batch = PPOBatch([Rollout(prompt: [1, 2], response: [3], ended: true)], pad: 0)
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        let h = model.hidden(tape, tokens: batch.tokens, batch: 1, training: false, rng: &unused)
        let logits = tape.value(model.logits(tape, hidden: h)).array
        let row = Array(logits[12..<24]).map { Double($0) / 0.5 }  // position 1 predicts token 3
        let top = row.max()!
        let expected = row[3] - top - log(row.reduce(0.0) { $0 + exp($1 - top) })
        let lp = tape.value(PPOForward.evaluate(tape, model: model, batch: batch, temperature: 0.5, rng: &unused).logProbs).array
        #expect(abs(Double(lp[1]) - expected) < 1e-4, "\(lp[1]) vs \(expected)")
        let plain = tape.value(PPOForward.evaluate(tape, model: model, batch: batch, rng: &unused).logProbs).array
        #expect(abs(Double(plain[1]) - expected) > 1e-3, "temperature 1 is another distribution")
    }

    @Test func rolloutsAreSeededAndMarkTheirEnd() throws {
        let model = try GPT(config: GPTConfig(vocabSize: 12, contextLength: 16, width: 8, layers: 1, heads: 2))
        var init_ = RNG(seed: 3)
        model.initializeWeights(rng: &init_)
        let options = SamplingOptions(temperature: 1, maxTokens: 6, stopTokens: [4])
        var a = RNG(seed: 9), b = RNG(seed: 9)
        let x = PPORollout.rollout(model, prompts: [[1, 2], [3], [5, 6, 7]], options: options, rng: &a)
        let y = PPORollout.rollout(model, prompts: [[1, 2], [3], [5, 6, 7]], options: options, rng: &b)
        #expect(x == y)
        for r in x {
            #expect(!r.response.isEmpty && r.response.count <= 6)
            #expect(r.ended == (r.response.last == 4))
            #expect(r.ended || r.response.count == 6)
        }
        // Each epoch's minibatches cover every rollout once; the next epoch reorders them.
        let e0 = PPOBatching.minibatches(rollouts: 10, size: 4, iteration: 3, epoch: 0, seed: 1)
        let e1 = PPOBatching.minibatches(rollouts: 10, size: 4, iteration: 3, epoch: 1, seed: 1)
        #expect(e0.map(\.count) == [4, 4, 2] && e0.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(e0 != e1 && e1.flatMap { $0 }.sorted() == Array(0..<10))
    }

    /// PPO-ptx's objective on the values above: policy −1.6 (clippedSurrogateOnKnownRatios),
    /// value 0.44 (clippedValueLoss) and an SFT term −(−1 − 2 − 0.5)/3 = 7/6 over three answer
    /// tokens (the 0 is off the answers): −1.6 + 0.1·0.44 + 0.5·7/6 = −0.972667. Gradients:
    /// the policy's [−1, 0, 0], the value's 0.1·[−1/3, 1/3, 0, 0], and −0.5/3 on every SFT entry.
    @Test func ptxCombinedLossAndGradientByHand() {
        let tape = Tape()
        let lp = tape.variable(Tensor(shape: [3], values: [0, logf(1.5), 0.3]))
        let v = tape.variable(Tensor(shape: [4], values: [1, 2, 1, 9]))
        let s = tape.variable(Tensor(shape: [4], values: [-1, -2, 0, -0.5]))
        let pg = PPOLoss.ppoLoss(tape, logProbs: lp, oldLogProbs: [0, 0, 0], advantages: [2, 1, 5], mask: [1, 1, 0], clip: 0.2).loss
        let vf = PPOLoss.valueLoss(tape, values: v, oldValues: [1.5, 1.5, 1.5, 0], returns: [2, 1, 0.5, 0], mask: [1, 1, 1, 0], clip: 0.2)
        let sft = PPOLoss.ptxLoss(tape, logProbs: s, kept: 3)
        #expect(abs(tape.value(sft)[0] - 7.0 / 6) < 1e-6)
        let loss = PPOLoss.total(tape, policy: pg, value: vf, vfCoef: 0.1, sft: sft, ptx: 0.5)
        #expect(abs(tape.value(loss)[0] + 0.972667) < 1e-5)
        tape.backward(loss)
        #expect(close(tape.grad(lp)!.array, [-1, 0, 0]))
        #expect(close(tape.grad(v)!.array, [-0.1 / 3, 0.1 / 3, 0, 0]))
        #expect(close(tape.grad(s)!.array, [Float](repeating: -0.5 / 3, count: 4)))
        // Without a critic or an SFT term the objective is the policy loss alone.
        let t2 = Tape()
        let lp2 = t2.variable(Tensor(shape: [3], values: [0, logf(1.5), 0.3]))
        let pg2 = PPOLoss.ppoLoss(t2, logProbs: lp2, oldLogProbs: [0, 0, 0], advantages: [2, 1, 5], mask: [1, 1, 0], clip: 0.2).loss
        #expect(abs(t2.value(PPOLoss.total(t2, policy: pg2, value: nil, vfCoef: 0.1, sft: nil, ptx: 0.5))[0] + 1.6) < 1e-5)
    }

    /// On a model, the SFT term over rows built as SFT builds them is SFT's loss — the mean
    /// cross-entropy over the answer tokens — with the same weight gradients.
    @Test func ptxTermIsSFTsLossOnTheAnswers() throws {
        let model = try GPT(config: GPTConfig(vocabSize: 12, contextLength: 16, width: 8, layers: 1, heads: 2))
        var init_ = RNG(seed: 5)
        model.initializeWeights(rng: &init_)
        let examples = [SFTExample(ids: [1, 2, 3, 4, 5], isTarget: [false, false, false, true, true], source: "a:1"),
                        SFTExample(ids: [1, 6, 7], isTarget: [false, false, true], source: "a:2")]
        let rows = SFTBatching.rows(examples, blockSize: 4, pad: 0, layout: .padding)
        let b = SFTBatching.batch(rows, Array(rows.indices))
        #expect(b.targetCount == 3)
        var unused = RNG(seed: 0)
        model.params.zeroGrads()
        let t1 = Tape()
        let ptx = PPOLoss.ptxLoss(t1, logProbs: model.tokenLogProbs(t1, tokens: b.tokens, targets: b.targets, batch: b.rows, rng: &unused),
                                  kept: b.targetCount)
        t1.backward(ptx)
        let ptxGrads = model.params.grads.array
        model.params.zeroGrads()
        let t2 = Tape()
        let ce = SFTLoss.loss(t2, model: model, batch: b, training: false, rng: &unused)
        t2.backward(ce)
        let ceGrads = model.params.grads.array
        #expect(abs(t1.value(ptx)[0] - t2.value(ce)[0]) < 1e-5)
        #expect(ptxGrads.contains { $0 != 0 })
        #expect(close(ptxGrads, ceGrads, 1e-5))
    }
}
