import AnnealText

/// A preference pair as token ids: prompt + chosen answer and prompt + rejected answer, each
/// through the chat template (user turn, assistant turn), content as plain text.
public struct RewardPair: Sendable, Equatable {
    public var chosen: [Int32]
    public var rejected: [Int32]
    public var source: String
}

/// Chosen and rejected sequences of B pairs in one [2B·T] batch (chosen rows first), padded
/// with `pad`, and the position of each row's last real token, where the scalar head reads
/// the reward (the template's closing `<|end|>`).
public struct RewardBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var lastIndices: [Int]
    public var pairs: Int
    public var blockSize: Int
    public var sources: [String]
}

public enum RewardData {
    /// Encodes `record`, cutting each side to `blockSize` tokens (the reward is then read at
    /// the cut). Throws when the two sides are identical within the block, which would give
    /// the pair a loss of log 2 whatever the model learns.
    public static func encode(_ record: PreferenceRecord, blockSize: Int,
                              encoder: inout BPEEncoder) throws(TrainDataError) -> RewardPair {
        let source = "\(record.file):\(record.line)"
        guard ChatTemplate.isSupported(by: encoder.tokenizer) else {
            throw TrainDataError("the tokenizer lacks the chat template's special tokens (\(ChatTemplate.specialTokens.joined(separator: " "))); train it with them")
        }
        func side(_ answer: String) -> [Int32] {
            let ids = ChatTemplate.encode([.init(role: "user", content: record.prompt), .init(role: "assistant", content: answer)],
                                          with: &encoder).ids
            return ids.prefix(blockSize).map { Int32($0) }
        }
        let pair = RewardPair(chosen: side(record.chosen), rejected: side(record.rejected), source: source)
        guard pair.chosen != pair.rejected else {
            throw TrainDataError("\(source): chosen and rejected are identical within the first \(blockSize) tokens (block_size); raise block_size or fix the pair")
        }
        return pair
    }

    /// One batch of `pairs`: rows are as long as the longest sequence (at most the block).
    public static func batch(_ pairs: [RewardPair], pad: Int32) -> RewardBatch {
        let sequences = pairs.map(\.chosen) + pairs.map(\.rejected)
        let T = sequences.map(\.count).max() ?? 1
        var tokens: [Int32] = []
        tokens.reserveCapacity(sequences.count * T)
        for s in sequences { tokens += s + [Int32](repeating: pad, count: T - s.count) }
        return RewardBatch(tokens: tokens, lastIndices: sequences.map { $0.count - 1 }, pairs: pairs.count,
                           blockSize: T, sources: pairs.map(\.source))
    }
}
