import Testing
import AnnealCompute

/// Finite differences in float32 carry ~1e-3 relative noise at eps = 1e-3, so 1e-2 of the
/// largest gradient separates a correct backward from a wrong one by orders of magnitude.
let gradTolerance: Float = 1e-2

@Suite("finite-difference gradients")
struct GradientTests {
    @Test(arguments: [WeightLayout.inOut, .outIn])
    func linear(layout: WeightLayout) {
        let x = randomTensor([3, 4], seed: 1)
        let w = randomTensor(layout == .inOut ? [4, 5] : [5, 4], seed: 2)
        let b = randomTensor([5], seed: 3)
        let errs = gradCheck([x, w, b]) { t, v in t.linear(v[0], v[1], v[2], layout: layout) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func layerNorm() {
        let x = randomTensor([3, 6], seed: 4, std: 2, mean: 0.5)
        let w = randomTensor([6], seed: 5, mean: 1)
        let b = randomTensor([6], seed: 6)
        let errs = gradCheck([x, w, b]) { t, v in t.layerNorm(v[0], weight: v[1], bias: v[2]) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func gelu() {
        let x = randomTensor([2, 7], seed: 8, std: 2)
        let errs = gradCheck([x]) { t, v in t.gelu(v[0]) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func causalSelfAttention() {
        // B=2, T=4, C=8, NH=2
        let qkv = randomTensor([8, 24], seed: 9)
        let errs = gradCheck([qkv]) { t, v in t.causalSelfAttention(v[0], batch: 2, heads: 2) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func embeddingWithRepeatedIndices() {
        let table = randomTensor([5, 3], seed: 10)
        let errs = gradCheck([table]) { t, v in t.embedding(v[0], indices: [1, 4, 1, 0, 1]) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func crossEntropyWithIgnoreAndWeights() {
        let logits = randomTensor([5, 6], seed: 11, std: 2)
        let errs = gradCheck([logits]) { t, v in
            t.crossEntropy(v[0], targets: [2, -100, 5, 0, 3], weights: [1, 1, 0.5, 2, 0.25])
        }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func logProbs() {
        let logits = randomTensor([4, 6], seed: 12, std: 2)
        let errs = gradCheck([logits]) { t, v in t.logProbs(v[0], tokens: [1, 5, -100, 0]) }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func dropoutUsesTheSameMaskForward() {
        let x = randomTensor([4, 5], seed: 13)
        let errs = gradCheck([x]) { t, v in
            var rng = RNG(seed: 5)  // fresh copy per graph: the same mask each evaluation
            return t.dropout(v[0], p: 0.3, rng: &rng)
        }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func gatherSliceReshapeRowSum() {
        let x = randomTensor([4, 3], seed: 14)
        let errs = gradCheck([x]) { t, v in
            let g = t.gatherRows(v[0], indices: [3, 0, 3])
            let s = t.sliceRows(v[0], 1..<3)
            let r = t.reshape(t.rowSum(t.add(t.sliceRows(g, 0..<2), s)), [1, 2])
            return r
        }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }

    @Test func binaryElementwise() {
        let a = randomTensor([6], seed: 15)
        let b = randomTensor([6], seed: 16, mean: 3)  // away from 0 for div
        let ops: [(String, (Tape, Var, Var) -> Var)] = [
            ("add", { $0.add($1, $2) }), ("sub", { $0.sub($1, $2) }), ("mul", { $0.mul($1, $2) }),
            ("div", { $0.div($1, $2) }), ("minimum", { $0.minimum($1, $2) }),
            ("maximum", { $0.maximum($1, $2) }),
        ]
        for (name, op) in ops {
            let errs = gradCheck([a, b]) { t, v in op(t, v[0], v[1]) }
            #expect(errs.allSatisfy { $0 < gradTolerance }, "\(name): \(errs)")
        }
    }

    @Test func unaryElementwiseAndReductions() {
        let x = randomTensor([2, 5], seed: 17)
        let positive = randomTensor([2, 5], seed: 18, std: 0.3, mean: 2)
        let ops: [(String, Tensor, (Tape, Var) -> Var)] = [
            ("scale", x, { $0.scale($1, -1.5) }), ("addScalar", x, { $0.addScalar($1, 2) }),
            ("exp", x, { $0.exp($1) }), ("log", positive, { $0.log($1) }),
            ("square", x, { $0.square($1) }), ("tanh", x, { $0.tanh($1) }),
            ("sigmoid", x, { $0.sigmoid($1) }), ("logSigmoid", x, { $0.logSigmoid($1) }),
            ("clamp", x, { $0.clamp($1, min: -0.5, max: 0.5) }),
            ("sum", x, { $0.sum($1) }), ("mean", x, { $0.mean($1) }), ("rowSum", x, { $0.rowSum($1) }),
        ]
        for (name, input, op) in ops {
            let errs = gradCheck([input]) { t, v in op(t, v[0]) }
            #expect(errs.allSatisfy { $0 < gradTolerance }, "\(name): \(errs)")
        }
    }

    @Test func frozenParameterGetsNoGradientButInputDoes() {
        let params = ParameterSet([("w", [4, 3], true), ("b", [3], false)])
        var rng = RNG(seed: 1)
        rng.fillNormal(params.values.pointer, count: params.count)
        params.setFrozen(true) { $0 == "w" }
        let tape = Tape()
        let x = tape.variable(randomTensor([2, 4], seed: 2))
        let y = tape.linear(x, tape.parameter(params, "w"), tape.parameter(params, "b"))
        tape.backward(tape.sum(y))
        #expect(params.grad(params.index("w")).array.allSatisfy { $0 == 0 })
        #expect(params.grad(params.index("b")).array == [2, 2, 2])
        #expect(tape.grad(x) != nil)
    }
}

extension GradientTests {
    @Test func causalSelfAttentionWithDropout() {
        let qkv = randomTensor([8, 24], seed: 19)
        let errs = gradCheck([qkv]) { t, v in
            var rng = RNG(seed: 11)  // the same mask for every evaluation
            return t.causalSelfAttention(v[0], batch: 2, heads: 2, dropout: 0.25, rng: &rng)
        }
        #expect(errs.allSatisfy { $0 < gradTolerance }, "\(errs)")
    }
}
