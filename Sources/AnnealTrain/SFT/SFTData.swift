import AnnealText
import Foundation

/// The chat data sets SFT reads (`format` of the stage).
public enum SFTDataFormat: String, Sendable, Codable, CaseIterable {
    /// Anneal's chat JSONL, what TinyWorld writes: `{"messages": [{"role", "content"}], ...}`.
    case chat
    /// `{"instruction", "input"?, "output", "system"?}`.
    case alpaca
    /// `{"conversations": [{"from": "human"|"gpt"|"system", "value"}]}` (or `messages`).
    case sharegpt

    /// Every conversation of `url` (a file or a directory of them), in file order. Errors
    /// name the file and line.
    public func read(_ url: URL) throws -> [Conversation] {
        var out: [Conversation] = []
        try ChatReader(url: url, format: self == .alpaca ? .alpaca : .sharegpt).forEach { out.append($0) }
        return out
    }
}

/// A held-out split decided by a seed: each example goes to validation with probability
/// `fraction` (at least one, and one left to train on, when there are two or more), by a
/// seeded shuffle, so adding a parameter elsewhere never moves an example between splits.
public enum HeldOutSplit {
    public static func indices(count n: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        precondition(fraction >= 0 && fraction < 1, "validation fraction \(fraction) is outside [0, 1)")
        guard n >= 2, fraction > 0 else { return (Array(0..<n), []) }
        let k = min(n - 1, max(1, Int((Double(n) * fraction).rounded())))
        let order = SFTBatching.permutation(n, seed: seed, stream: 0)
        return (order[k...].sorted(), order[..<k].sorted())
    }
}
