import AnnealCompute
import AnnealModels
import Foundation
import Testing

// Compares Anneal with Tests/Fixtures/make_gpt_fixture.py (PyTorch 2.13, float32). Tolerances
// are the issue's: loss 1e-5 relative, every gradient tensor 1e-4 (max error over the
// tensor's max magnitude); the 10-step AdamW loss curve is held to 1e-5 relative as well.
let lossTolerance: Float = 1e-5
let gradientTolerance: Float = 1e-4

@Suite("PyTorch golden fixtures")
struct PyTorchFixtureTests {
    @Test func tinyGPTMatchesPyTorch() throws {
        let dir = fixturesDirectory.appendingPathComponent("gpt")
        let model = try Checkpoint.load(from: dir)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let tokens = int32s(expected["tokens"]!), targets = int32s(expected["targets"]!)
        let weights = expected["weights"]!.array
        let B = expected["tokens"]!.shape[0]
        var rng = RNG(seed: 0)

        let tape = Tape()
        let logits = model.logits(tape, hidden: model.hidden(tape, tokens: tokens, batch: B, rng: &rng))
        let loss = tape.crossEntropy(logits, targets: targets, weights: weights)
        #expect(relativeError(tape.value(logits), expected["logits"]!) < 1e-5)
        #expect(relative(tape.value(loss)[0], expected["loss"]![0]) < lossTolerance)
        tape.backward(loss)
        var worstGrad: Float = 0
        for (i, e) in model.params.entries.enumerated() {
            let err = relativeError(model.params.grad(i), expected["grad." + e.name]!)
            worstGrad = max(worstGrad, err)
            #expect(err < gradientTolerance, "gradient of \(e.name): relative error \(err)")
        }

        let curve = try trainCurve(dir: dir) { model, tape, rng in
            let logits = model.logits(tape, hidden: model.hidden(tape, tokens: tokens, batch: B, rng: &rng))
            return tape.crossEntropy(logits, targets: targets, weights: weights)
        }
        let ref = expected["losses"]!.array
        for (k, (a, b)) in zip(curve, ref).enumerated() {
            #expect(relative(a, b) < lossTolerance, "step \(k): loss \(a), PyTorch \(b)")
        }
        print("fixture gpt: loss rel \(relative(tape.value(loss)[0], expected["loss"]![0])), worst gradient rel \(worstGrad), worst step-loss rel \(zip(curve, ref).map { relative($0, $1) }.max()!)")
    }

    @Test func loraScalarHeadMatchesPyTorch() throws {
        let dir = fixturesDirectory.appendingPathComponent("gpt_lora_score")
        let model = try Checkpoint.load(from: dir)
        #expect(model.hasScalarHead && model.lora != nil)
        let expected = try Safetensors.read(dir.appendingPathComponent("expected.safetensors")).tensors
        let tokens = int32s(expected["tokens"]!), next = int32s(expected["next_tokens"]!)
        let last = expected["last"]!.array.map { Int($0) }
        let B = expected["tokens"]!.shape[0]
        #expect(GPT.lastNonPadding(tokens, batch: B, padToken: 0) == last)

        func loss(_ model: GPT, _ tape: Tape, _ rng: inout RNG) -> (Var, Var) {
            let h = model.hidden(tape, tokens: tokens, batch: B, rng: &rng)
            let r = model.scalar(tape, hidden: h, lastIndices: last)
            let margin = tape.sub(tape.sliceRows(r, 0..<1), tape.sliceRows(r, 1..<2))
            let logp = tape.logProbs(model.logits(tape, hidden: h), tokens: next)
            let l = tape.sub(tape.negate(tape.logSigmoid(margin)), tape.scale(tape.mean(logp), 0.1))
            return (tape.reshape(l, []), r)
        }
        var rng = RNG(seed: 0)
        let tape = Tape()
        let (l, r) = loss(model, tape, &rng)
        #expect(relativeError(tape.value(r), expected["scalars"]!) < 1e-5)
        #expect(relative(tape.value(l)[0], expected["loss"]![0]) < lossTolerance)
        tape.backward(l)
        let lora = model.lora!
        var worstGrad: Float = 0
        for (i, e) in lora.params.entries.enumerated() {
            let err = relativeError(lora.params.grad(i), expected["grad." + e.name]!)
            worstGrad = max(worstGrad, err)
            #expect(err < gradientTolerance, "gradient of \(e.name): relative error \(err)")
        }
        let head = model.params.index("score.weight")
        let headErr = relativeError(model.params.grad(head), expected["grad.score.weight"]!)
        worstGrad = max(worstGrad, headErr)
        #expect(headErr < gradientTolerance, "gradient of score.weight: relative error \(headErr)")
        // Frozen base weights received no gradient work at all.
        #expect(model.params.grad(model.params.index("h.0.attn.c_attn.weight")).array.allSatisfy { $0 == 0 })

        let curve = try trainCurve(dir: dir) { model, tape, rng in loss(model, tape, &rng).0 }
        let ref = expected["losses"]!.array
        for (k, (a, b)) in zip(curve, ref).enumerated() {
            #expect(relative(a, b) < lossTolerance, "step \(k): loss \(a), PyTorch \(b)")
        }
        print("fixture gpt_lora_score: loss rel \(relative(tape.value(l)[0], expected["loss"]![0])), worst gradient rel \(worstGrad), worst step-loss rel \(zip(curve, ref).map { relative($0, $1) }.max()!)")
    }

    /// Loss before each of 10 AdamW steps (lr 1e-2, wd 0.1 on matrices, clip 1.0), the
    /// fixture script's loop.
    func trainCurve(dir: URL, _ lossFn: (GPT, Tape, inout RNG) -> Var) throws -> [Float] {
        let model = try Checkpoint.load(from: dir)
        let sets = [model.params] + (model.lora.map { [$0.params] } ?? [])
        var opts = sets.map { AdamW(for: $0, weightDecay: 0.1) }
        let tape = Tape()
        var rng = RNG(seed: 0)
        var losses: [Float] = []
        for _ in 0..<10 {
            tape.reset()
            sets.forEach { $0.zeroGrads() }
            let l = lossFn(model, tape, &rng)
            losses.append(tape.value(l)[0])
            tape.backward(l)
            clipGradientNorm(sets, maxNorm: 1)
            for k in opts.indices { opts[k].update(sets[k], lr: 1e-2) }
        }
        return losses
    }
}
