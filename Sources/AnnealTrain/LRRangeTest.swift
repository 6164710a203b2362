import Foundation

/// Leslie Smith's learning-rate range test ("Cyclical Learning Rates for Training Neural
/// Networks", 2017, §3.3): train from a fixed start while the rate grows exponentially from
/// `minLR` to `maxLR`, one rate per step; record the loss; stop once it diverges; read the
/// rate where the loss falls fastest off the curve. Pure decisions, so tests check them
/// without training; the `lrrange` plugin (stages/lrrange) runs the loop.
public struct LRRangeTest: Sendable, Equatable {
    public var minLR: Double
    public var maxLR: Double
    /// Steps over which the rate sweeps from `minLR` to `maxLR` (at least 2).
    public var steps: Int
    /// Weight of the running loss in its exponential moving average, 0..<1 (0 = raw losses).
    /// Single-batch losses are noisy; the average is bias-corrected (as Adam's moments), so
    /// early points are not pulled towards 0.
    public var smoothing: Double
    /// The sweep stops once the smoothed loss exceeds `divergence` × its lowest value.
    public var divergence: Double

    public init(minLR: Double, maxLR: Double, steps: Int, smoothing: Double = 0.9, divergence: Double = 4) {
        precondition(minLR > 0 && maxLR > minLR && steps >= 2 && (0..<1).contains(smoothing) && divergence > 1)
        self.minLR = minLR
        self.maxLR = maxLR
        self.steps = steps
        self.smoothing = smoothing
        self.divergence = divergence
    }

    /// The rate of 0-based `step`: `minLR` at 0, `maxLR` at `steps - 1`, evenly spaced in log.
    public func learningRate(at step: Int) -> Double {
        minLR * Foundation.exp(Foundation.log(maxLR / minLR) * Double(step) / Double(steps - 1))
    }

    public struct Point: Sendable, Equatable {
        public var step: Int
        public var learningRate: Double
        public var loss: Double
        public var smoothedLoss: Double
    }

    /// The recorded sweep: one point per step taken.
    public struct Curve: Sendable, Equatable {
        public let test: LRRangeTest
        public private(set) var points: [Point] = []
        private var average = 0.0
        private var best = Double.infinity

        public init(_ test: LRRangeTest) { self.test = test }

        /// Adds the loss of the next step, taken at `learningRate`.
        public mutating func record(learningRate: Double, loss: Double) {
            let step = points.count
            average = test.smoothing * average + (1 - test.smoothing) * loss
            let smoothed = average / (1 - Foundation.pow(test.smoothing, Double(step + 1)))
            if smoothed.isFinite { best = Swift.min(best, smoothed) }
            points.append(Point(step: step, learningRate: learningRate, loss: loss, smoothedLoss: smoothed))
        }

        /// True once the last loss is not finite or the smoothed loss has grown past
        /// `divergence` × its minimum: further steps only measure the blow-up.
        public var hasDiverged: Bool {
            guard let last = points.last else { return false }
            return !last.loss.isFinite || !last.smoothedLoss.isFinite || last.smoothedLoss > test.divergence * best
        }

        /// True when the sweep is over: every step taken, or diverged.
        public var isFinished: Bool { points.count >= test.steps || hasDiverged }

        /// The first tenth of the sweep, where the average has seen few losses: one lucky
        /// batch there would be the minimum (measured: a pretrained model's first loss, 1.45,
        /// sat below the smoothed dip of 1.50 two decades later).
        var settled: Int { points.count > test.steps / 10 ? test.steps / 10 : 0 }

        /// The point of lowest smoothed loss after the first tenth of the sweep.
        public var minimum: Point? {
            points[settled...].filter { $0.smoothedLoss.isFinite }.min { $0.smoothedLoss < $1.smoothedLoss }
        }

        /// The rate where the smoothed loss falls fastest against log(rate), between the
        /// first tenth of the sweep and the minimum. Nil when fewer than 3 points are left
        /// (the sweep diverged at once, or its range starts too high): then widen the range
        /// downwards.
        public var suggestedLR: Double? {
            guard let lowest = minimum else { return nil }
            let start = settled
            guard lowest.step - start >= 2 else { return nil }
            let window = Array(points[start...lowest.step])
            var steepest: (slope: Double, lr: Double)?
            for i in 1..<(window.count - 1) {
                let a = window[i - 1], b = window[i + 1]
                let slope = (b.smoothedLoss - a.smoothedLoss) / (Foundation.log(b.learningRate) - Foundation.log(a.learningRate))
                if steepest.map({ slope < $0.slope }) ?? true { steepest = (slope, window[i].learningRate) }
            }
            return steepest?.lr
        }
    }
}
