import Foundation

/// Learning rate as a function of the step: linear warm-up from 0, then decay to
/// `minRatio · peak` by `totalSteps` (cosine or linear), or constant.
public struct LRSchedule: Codable, Sendable, Equatable {
    public enum Decay: String, Codable, Sendable { case constant, linear, cosine }

    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay
    public var minRatio: Float

    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int, decay: Decay = .cosine,
                minRatio: Float = 0.1) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
        self.minRatio = minRatio
    }

    /// Rate for 0-based `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if decay == .constant { return peak }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(max(Float(step - warmupSteps) / Float(span), 0), 1)
        let floor = peak * minRatio
        switch decay {
        case .constant: return peak
        case .linear: return floor + (peak - floor) * (1 - progress)
        case .cosine: return floor + (peak - floor) * 0.5 * (1 + Foundation.cos(Float.pi * progress))
        }
    }
}
