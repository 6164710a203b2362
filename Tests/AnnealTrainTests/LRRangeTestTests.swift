@testable import AnnealTrain
import Foundation
import Testing

@Suite struct LRRangeTestTests {
    @Test func theRateSweepsExponentiallyFromMinToMax() {
        let t = LRRangeTest(minLR: 1e-5, maxLR: 1e-1, steps: 5)
        let rates = (0..<5).map { t.learningRate(at: $0) }
        for (got, want) in zip(rates, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]) {
            #expect(abs(got / want - 1) < 1e-12, "\(got) vs \(want)")
        }
    }

    @Test func theAverageIsBiasCorrected() {
        // A constant loss averages to itself from the first step: without the correction the
        // first smoothed value would be (1 - 0.9) × 2 = 0.2.
        var c = LRRangeTest.Curve(LRRangeTest(minLR: 1e-4, maxLR: 1, steps: 10, smoothing: 0.9))
        for _ in 0..<4 { c.record(learningRate: 1e-3, loss: 2) }
        #expect(c.points.map(\.smoothedLoss).allSatisfy { abs($0 - 2) < 1e-12 })
        var d = LRRangeTest.Curve(LRRangeTest(minLR: 1e-4, maxLR: 1, steps: 10, smoothing: 0.5))
        d.record(learningRate: 1e-3, loss: 4)
        d.record(learningRate: 1e-3, loss: 1)
        // (0.5·0.5·4 + 0.5·1) / (1 − 0.25) = 2
        #expect(abs(d.points[1].smoothedLoss - 2) < 1e-12)
    }

    @Test func theSweepStopsWhenTheLossDiverges() {
        var c = LRRangeTest.Curve(LRRangeTest(minLR: 1e-4, maxLR: 1, steps: 100, smoothing: 0, divergence: 4))
        for loss in [3.0, 2.0, 1.0, 3.9] {
            c.record(learningRate: 1e-3, loss: loss)
            #expect(!c.isFinished)
        }
        c.record(learningRate: 1e-3, loss: 4.1)
        #expect(c.hasDiverged && c.isFinished)
        var nan = LRRangeTest.Curve(LRRangeTest(minLR: 1e-4, maxLR: 1, steps: 100))
        nan.record(learningRate: 1e-3, loss: .nan)
        #expect(nan.hasDiverged)
        #expect(nan.minimum == nil && nan.suggestedLR == nil)
        var early = LRRangeTest.Curve(LRRangeTest(minLR: 1e-4, maxLR: 1, steps: 100, smoothing: 0))
        early.record(learningRate: 1e-4, loss: 2)
        #expect(early.minimum?.step == 0, "a sweep that ends inside its first tenth still has a minimum")
    }

    @Test func theSuggestionIsTheSteepestDescentBeforeTheMinimum() {
        // Loss falls fastest (in log lr) at lr = 1e-3, bottoms out near 1e-1, then rises.
        let t = LRRangeTest(minLR: 1e-6, maxLR: 1, steps: 61, smoothing: 0)
        var c = LRRangeTest.Curve(t)
        for step in 0..<t.steps {
            let lr = t.learningRate(at: step)
            let x = log10(lr)
            c.record(learningRate: lr, loss: 3 - tanh(1.5 * (x + 3)) + (x > -1 ? 10 * (x + 1) * (x + 1) : 0))
        }
        #expect(abs(log10(c.suggestedLR!) + 3) < 0.11)
        #expect(abs(log10(c.minimum!.learningRate) + 1) < 0.6)
    }

    @Test func aLuckyFirstBatchIsNotTheMinimum() {
        // Flat at 1.6 with a first loss of 1.45, a dip to 1.5 at step 60, then a rise.
        let t = LRRangeTest(minLR: 1e-6, maxLR: 1, steps: 100, smoothing: 0)
        var c = LRRangeTest.Curve(t)
        for step in 0..<100 {
            let loss = step == 0 ? 1.45 : 1.6 - 0.1 * exp(-Double((step - 60) * (step - 60)) / 200) + (step > 70 ? 0.05 * Double(step - 70) : 0)
            c.record(learningRate: t.learningRate(at: step), loss: loss)
        }
        #expect(c.minimum?.step == 60)
        #expect(c.suggestedLR.map { t.learningRate(at: 50) ... t.learningRate(at: 55) ~= $0 } == true, "\(String(describing: c.suggestedLR))")
    }

    @Test func noSuggestionWhenTheLossOnlyRises() {
        let t = LRRangeTest(minLR: 1e-2, maxLR: 10, steps: 20, smoothing: 0)
        var c = LRRangeTest.Curve(t)
        for step in 0..<20 { c.record(learningRate: t.learningRate(at: step), loss: 1 + Double(step) * 0.01) }
        #expect(c.minimum?.step == 2, "the first tenth is skipped")
        #expect(c.suggestedLR == nil)
    }
}
