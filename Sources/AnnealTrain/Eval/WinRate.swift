import Foundation

/// One judged comparison of model A's answer with model B's on the same prompt.
public enum PairOutcome: String, Sendable, Codable, Equatable {
    case win, loss, tie

    /// A's outcome when a judge gives A `a` and B `b`: equal scores are a tie, never
    /// broken by order, so swapping the models swaps wins and losses exactly.
    public static func compare(_ a: Double, _ b: Double) -> PairOutcome {
        a > b ? .win : a < b ? .loss : .tie
    }
}

/// Wins, losses and ties of A over B, and the win rate with a 95% Wilson interval.
///
/// Ties count as half a win (the convention of AlpacaEval and Chatbot Arena's win rates): a
/// judge that cannot tell two models apart gives 0.5, not 0 or the share of decided pairs,
/// and A-over-B is exactly 1 − B-over-A. The interval treats the n comparisons as
/// independent draws with wins + ties/2 successes (Wilson 1927), which is narrow when most
/// pairs tie (`research/ppo-feasibility.md`: 55% gold ties); the tie share is reported
/// beside it so a reader can tell.
public struct PairwiseTally: Sendable, Equatable {
    public var wins = 0
    public var losses = 0
    public var ties = 0

    public init(wins: Int = 0, losses: Int = 0, ties: Int = 0) {
        self.wins = wins
        self.losses = losses
        self.ties = ties
    }

    public init(_ outcomes: [PairOutcome]) {
        for o in outcomes { add(o) }
    }

    public mutating func add(_ o: PairOutcome) {
        switch o {
        case .win: wins += 1
        case .loss: losses += 1
        case .tie: ties += 1
        }
    }

    public var count: Int { wins + losses + ties }

    /// (wins + ties/2) / n; nil without comparisons.
    public var winRate: Double? {
        count == 0 ? nil : (Double(wins) + 0.5 * Double(ties)) / Double(count)
    }

    public var tieShare: Double? { count == 0 ? nil : Double(ties) / Double(count) }

    public var interval: WilsonInterval? {
        WilsonInterval(successes: Double(wins) + 0.5 * Double(ties), trials: count)
    }
}

/// The Wilson score interval of a binomial proportion: unlike p ± z·√(p(1−p)/n) it stays
/// inside [0, 1] and is not zero-width at p = 0 or 1, which matters for the small n of an
/// eval set.
public struct WilsonInterval: Sendable, Equatable {
    public var low: Double
    public var high: Double

    /// z = 1.96 for 95%. Nil for n = 0.
    public init?(successes: Double, trials n: Int, z: Double = 1.959963984540054) {
        guard n > 0 else { return nil }
        let N = Double(n), p = successes / N, z2 = z * z
        let denominator = 1 + z2 / N
        let center = (p + z2 / (2 * N)) / denominator
        let half = z / denominator * (p * (1 - p) / N + z2 / (4 * N * N)).squareRoot()
        low = max(0, center - half)
        high = min(1, center + half)
    }
}
