import Foundation
import Testing
import AnnealCompute

@Suite("kernels, RNG, optimizer")
struct KernelTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func sgemmMatchesNaive(transA: Bool, transB: Bool) {
        let M = 5, N = 7, K = 3
        let a = randomTensor([M * K], seed: 1), b = randomTensor([K * N], seed: 2)
        let c = Tensor(zeros: [M * N])
        BLAS.sgemm(transA: transA, transB: transB, M: M, N: N, K: K,
                   A: a.pointer, lda: transA ? M : K, B: b.pointer, ldb: transB ? K : N,
                   beta: 0, C: c.pointer, ldc: N)
        let ref = naiveMatmul(transA: transA, transB: transB, M: M, N: N, K: K, A: a.array, B: b.array)
        let err = zip(c.array, ref).map { abs($0 - $1) }.max()!
        #expect(err < 1e-5)
    }

    @Test func vectorExpIsAccurateOverTheFloatRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            worst = max(worst, abs(fastExp(x) - expf(x)) / expf(x))
            x += 0.0137
        }
        #expect(worst < 3e-7)
        #expect(fastExp(-200) >= 0 && fastExp(-200) < 1e-37)
    }

    @Test func philoxIsCounterBasedAndResumable() {
        var a = RNG(seed: 42)
        let buf = Tensor(zeros: [10])
        a.fillUniform(buf.pointer, count: 10)
        #expect(a.counter == 3)
        #expect(buf.array.allSatisfy { $0 >= 0 && $0 < 1 })
        var b = RNG(seed: 42)
        b.counter = 3
        #expect(a.nextUInt32() == b.nextUInt32())
        #expect(RNG(seed: 42, stream: 1) != RNG(seed: 42, stream: 0))
        var c = RNG(seed: 42, stream: 1)
        let other = Tensor(zeros: [10])
        c.fillUniform(other.pointer, count: 10)
        #expect(other.array != buf.array)
    }

    @Test func normalFillHasUnitMoments() {
        let t = Tensor(zeros: [20000])
        var rng = RNG(seed: 3)
        rng.fillNormal(t.pointer, count: t.count)
        let mean = t.array.reduce(0, +) / Float(t.count)
        let variance = t.array.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(t.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }

    @Test func adamWFirstStepMovesByLearningRate() {
        // At t = 1, m̂/√v̂ = sign(g), so each weight moves by lr (plus decay where it applies).
        let params = ParameterSet([("w", [2], true), ("b", [2], false)])
        params.values.assign(Tensor(shape: [4], values: [1, 1, 1, 1]))
        params.grads.assign(Tensor(shape: [4], values: [0.5, -2, 3, 0]))
        var opt = AdamW(for: params, eps: 0, weightDecay: 0.1)
        opt.update(params, lr: 0.01)
        let p = params.values.array
        #expect(abs(p[0] - (1 * (1 - 0.001) - 0.01)) < 1e-6)
        #expect(abs(p[1] - (1 * (1 - 0.001) + 0.01)) < 1e-6)
        #expect(abs(p[2] - (1 - 0.01)) < 1e-6)  // bias: no decay
        #expect(p[3].isNaN)  // 0/0 with eps = 0: documents that eps guards the division
    }

    @Test func clippingScalesToMaxNorm() {
        let params = ParameterSet([("w", [2], true)])
        params.grads.assign(Tensor(shape: [2], values: [3, 4]))
        let norm = clipGradientNorm(params, maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(params.grads[0] - 0.6) < 1e-5 && abs(params.grads[1] - 0.8) < 1e-5)
    }

    @Test func scheduleWarmsUpThenDecays() {
        let s = LRSchedule(peak: 1, warmupSteps: 10, totalSteps: 110, decay: .cosine, minRatio: 0.1)
        #expect(s.rate(at: 0) == 0.1)
        #expect(s.rate(at: 9) == 1)
        #expect(abs(s.rate(at: 60) - 0.55) < 1e-5)
        #expect(abs(s.rate(at: 110) - 0.1) < 1e-6)
        let l = LRSchedule(peak: 2, totalSteps: 4, decay: .linear, minRatio: 0)
        #expect(l.rate(at: 2) == 1)
        #expect(LRSchedule(peak: 3, totalSteps: 5, decay: .constant).rate(at: 4) == 3)
    }

    @Test func tapeRecyclesOnlyBuffersNobodyHolds() {
        let tape = Tape()
        let x = tape.variable(randomTensor([4, 4], seed: 1))
        let kept = tape.value(tape.gelu(x))
        let before = kept.array
        tape.reset()
        let x2 = tape.variable(randomTensor([4, 4], seed: 2))
        _ = tape.gelu(x2)
        #expect(kept.array == before)
    }
}
