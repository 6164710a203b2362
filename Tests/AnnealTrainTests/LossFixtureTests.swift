import AnnealCompute
import AnnealModels
import Foundation
import Testing
@testable import AnnealTrain

/// Tests/Fixtures, found from this source file.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

func ints(_ t: Tensor) -> [Int32] { t.array.map { Int32($0) } }

/// max |a − b| / max |b| over a tensor, the scale floored at 1e-3: some gradients are 0 up
/// to rounding (ln_f.bias shifts a pair's two rewards alike, so Bradley-Terry cancels it).
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    var diff: Float = 0, scale: Float = 0
    for i in 0..<b.count {
        diff = max(diff, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return diff / max(scale, 1e-3)
}

/// Central differences of `loss` for a few entries of every parameter tensor, against the
/// tape's gradients; returns the worst error relative to the largest gradient checked.
func finiteDifferenceError(_ model: GPT, eps: Float = 1e-2, perTensor: Int = 3,
                           _ loss: (Tape) -> Var) -> Float {
    let tape = Tape()
    model.params.zeroGrads()
    tape.backward(loss(tape))
    var worst: Float = 0, scale: Float = 1e-6
    for i in model.params.entries.indices {
        let w = model.params.value(i), g = model.params.grad(i)
        for k in 0..<perTensor {
            let j = (k * 7919 + i * 31) % w.count
            let original = w[j]
            w[j] = original + eps
            let up = { let t = Tape(recordsGradients: false); return t.value(loss(t))[0] }()
            w[j] = original - eps
            let down = { let t = Tape(recordsGradients: false); return t.value(loss(t))[0] }()
            w[j] = original
            let numeric = (up - down) / (2 * eps)
            worst = max(worst, abs(numeric - g[j]))
            scale = max(scale, abs(numeric))
        }
    }
    return worst / scale
}

@Suite struct LossFixtureTests {
    @Test func maskedSFTLossMatchesPyTorchAndFiniteDifferences() throws {
        let dir = fixtures.appendingPathComponent("sft_loss")
        let model = try Checkpoint.load(from: dir)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let batch = SFTBatch(tokens: ints(expected["tokens"]!), targets: ints(expected["targets"]!),
                             rows: expected["tokens"]!.shape[0], sources: ["fixture"])
        var rng = RNG(seed: 0)
        let tape = Tape()
        let loss = SFTLoss.loss(tape, model: model, batch: try batch.validated(), training: false, rng: &rng)
        let value = tape.value(loss)[0]
        #expect(abs(value - expected["loss"]![0]) / expected["loss"]![0] < 1e-5, "loss \(value) vs PyTorch \(expected["loss"]![0])")
        tape.backward(loss)
        var worst: Float = 0
        for (i, e) in model.params.entries.enumerated() {
            let err = relativeError(model.params.grad(i), expected["grad." + e.name]!)
            worst = max(worst, err)
            #expect(err < 1e-4, "gradient of \(e.name): relative error \(err)")
        }
        let fd = finiteDifferenceError(model) { t in
            var r = RNG(seed: 0)
            return SFTLoss.loss(t, model: model, batch: batch, training: false, rng: &r)
        }
        #expect(fd < 5e-3, "finite differences: \(fd)")
        print("fixture sft_loss: loss rel \(abs(value - expected["loss"]![0]) / expected["loss"]![0]), worst gradient rel \(worst), finite differences \(fd)")
    }

    @Test func bradleyTerryLossMatchesPyTorchAndFiniteDifferences() throws {
        let dir = fixtures.appendingPathComponent("reward_loss")
        let model = try Checkpoint.load(from: dir)
        #expect(model.hasScalarHead)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let tokens = ints(expected["tokens"]!)
        let last = expected["last"]!.array.map { Int($0) }
        let margins = expected["margins"]!.array
        let pairs = last.count / 2
        let batch = RewardBatch(tokens: tokens, lastIndices: last, pairs: pairs, blockSize: tokens.count / last.count, sources: [])
        func loss(_ tape: Tape) -> (Var, Var, Var) {
            var rng = RNG(seed: 0)
            let (c, r) = BradleyTerry.rewards(tape, model: model, batch: batch, training: false, rng: &rng)
            return (BradleyTerry.loss(tape, chosen: c, rejected: r, margins: margins), c, r)
        }
        let tape = Tape()
        let (l, c, r) = loss(tape)
        let rewards = tape.value(c).array + tape.value(r).array
        #expect(relativeError(Tensor(shape: [2 * pairs], values: rewards), expected["rewards"]!) < 1e-5)
        #expect(abs(tape.value(l)[0] - expected["loss"]![0]) / expected["loss"]![0] < 1e-5)
        tape.backward(l)
        var worst: Float = 0
        for (i, e) in model.params.entries.enumerated() {
            let err = relativeError(model.params.grad(i), expected["grad." + e.name]!)
            worst = max(worst, err)
            #expect(err < 1e-4, "gradient of \(e.name): relative error \(err)")
        }
        let fd = finiteDifferenceError(model) { loss($0).0 }
        #expect(fd < 5e-3, "finite differences: \(fd)")
        print("fixture reward_loss: loss rel \(abs(tape.value(l)[0] - expected["loss"]![0]) / expected["loss"]![0]), worst gradient rel \(worst), finite differences \(fd)")
    }

    @Test func bradleyTerryIsLog2AtATieAndFollowsTheMargin() {
        let tape = Tape()
        let c = tape.variable(Tensor(shape: [3], values: [1, 2, -1]))
        let r = tape.variable(Tensor(shape: [3], values: [1, 0, 3]))
        let l = BradleyTerry.loss(tape, chosen: c, rejected: r, margin: 0.5)
        // Differences minus the margin: -0.5, 1.5, -4.5.
        let expected = [-0.5, 1.5, -4.5].map { log(1 + exp(-$0)) }.reduce(0, +) / 3
        #expect(abs(Double(tape.value(l)[0]) - expected) < 1e-6)
        tape.backward(l)
        // d/dc of mean(-log σ(d)) = -(1 - σ(d)) / 3, the opposite for r.
        let dc = [-0.5, 1.5, -4.5].map { -(1 - 1 / (1 + exp(-$0))) / 3 }
        for i in 0..<3 {
            #expect(abs(Double(tape.grad(c)![i]) - dc[i]) < 1e-6)
            #expect(abs(Double(tape.grad(r)![i]) + dc[i]) < 1e-6)
        }
        let tie = Tape()
        let x = tie.variable(Tensor(shape: [2], values: [0.3, -2]))
        #expect(abs(tie.value(BradleyTerry.loss(tie, chosen: x, rejected: x))[0] - Float(log(2.0))) < 1e-6)
    }

    @Test func rewardMetricsOnHeldOutPairs() {
        let m = RewardMetrics(chosen: [2, 1, 0, 3], rejected: [1, 1, 1, -1])
        #expect(m.accuracy == 0.5)  // the tie counts as a loss
        #expect(m.meanMargin == 1.0)
        #expect(m.rewardMean == 1.0)
        // Squared deviations from 1: 1, 0, 1, 4, 0, 0, 0, 4 → variance 10/8.
        #expect(abs(m.rewardStd - (10.0 / 8).squareRoot()) < 1e-12)
        #expect(m.pairs == 4)
    }
}

@Suite struct AccumulationTests {
    /// Two micro-batches seeded by their share of targets give the gradient of one batch;
    /// seeding each with 1/2 does not when their target counts differ (4 and 2 here).
    @Test func microBatchesWeighedByTheirTargetsEqualOneBatch() throws {
        let dir = fixtures.appendingPathComponent("sft_loss")
        let model = try Checkpoint.load(from: dir)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let whole = SFTBatch(tokens: ints(expected["tokens"]!), targets: ints(expected["targets"]!), rows: 2, sources: ["a", "b"])
        let T = whole.tokens.count / 2
        let parts = (0..<2).map { r in
            SFTBatch(tokens: Array(whole.tokens[(r * T)..<((r + 1) * T)]), targets: Array(whole.targets[(r * T)..<((r + 1) * T)]),
                     rows: 1, sources: [whole.sources[r]])
        }
        #expect(parts.map(\.targetCount) == [4, 2])
        func gradients(_ batches: [SFTBatch], seeds: [Float]) -> [Float] {
            model.params.zeroGrads()
            var rng = RNG(seed: 0)
            for (b, seed) in zip(batches, seeds) {
                let tape = Tape()
                tape.backward(SFTLoss.loss(tape, model: model, batch: b, training: false, rng: &rng), seed: seed)
            }
            return model.params.entries.indices.flatMap { model.params.grad($0).array }
        }
        let reference = gradients([whole], seeds: [1])
        let weighed = gradients(parts, seeds: SFTLoss.accumulationSeeds(parts))
        let naive = gradients(parts, seeds: [0.5, 0.5])
        let scale = reference.map(abs).max()!
        let error = { (g: [Float]) in zip(g, reference).map { abs($0 - $1) }.max()! / scale }
        #expect(SFTLoss.accumulationSeeds(parts) == [Float(4) / 6, Float(2) / 6])
        #expect(error(weighed) < 1e-5)
        #expect(error(naive) > 1e-2)
    }
}
