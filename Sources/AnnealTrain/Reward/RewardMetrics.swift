/// What a reward model shows on held-out pairs (`val_accuracy` and friends in the stage's
/// metrics): how often the chosen answer wins, by how much, and where the rewards sit.
public struct RewardMetrics: Sendable, Equatable, Codable {
    /// Share of pairs with r_chosen > r_rejected (a tie counts as a loss).
    public var accuracy: Double
    /// Mean of r_chosen − r_rejected.
    public var meanMargin: Double
    /// Mean and (population) standard deviation of every reward, chosen and rejected; a
    /// spread near 0 means the head says the same for everything.
    public var rewardMean: Double
    public var rewardStd: Double
    public var pairs: Int

    public init(chosen: [Float], rejected: [Float]) {
        precondition(chosen.count == rejected.count && !chosen.isEmpty, "metrics need as many chosen as rejected rewards, at least one")
        let n = Double(chosen.count)
        let all = (chosen + rejected).map(Double.init)
        let mean = all.reduce(0, +) / Double(all.count)
        pairs = chosen.count
        accuracy = Double(zip(chosen, rejected).filter { $0 > $1 }.count) / n
        meanMargin = zip(chosen, rejected).map { Double($0) - Double($1) }.reduce(0, +) / n
        rewardMean = mean
        rewardStd = (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot()
    }

    enum CodingKeys: String, CodingKey {
        case accuracy = "val_accuracy", meanMargin = "val_margin", rewardMean = "val_reward_mean"
        case rewardStd = "val_reward_std", pairs = "val_pairs"
    }
}
