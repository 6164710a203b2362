import AnnealText

/// A preference pair for DPO: prompt + chosen and prompt + rejected through the chat
/// template, each with SFT's mask (the answer and its `<|end|>` are targets, the prompt is
/// not), so a side's log-likelihood is the sum over its answer tokens only.
public struct DPOPair: Sendable, Equatable {
    public var chosen: SFTExample
    public var rejected: SFTExample
    public var source: String { chosen.source }
}

/// Chosen rows then rejected rows of B pairs: inputs and next-token targets [2B·T] with
/// -100 on prompt and padding, and each row's number of kept targets (IPO averages over it).
public struct DPOBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]
    public var pairs: Int
    public var targetCounts: [Int]
    public var rows: Int { 2 * pairs }
}

public enum DPOData {
    /// Encodes `record`, each side cut to `blockSize` + 1 tokens (a row of inputs plus the
    /// last target). Throws when a side has no answer token left or the two sides are the
    /// same within the block (the pair's loss could not move).
    public static func encode(_ record: PreferenceRecord, blockSize: Int,
                              encoder: inout BPEEncoder) throws(TrainDataError) -> DPOPair {
        func side(_ answer: String) throws(TrainDataError) -> SFTExample {
            let conversation = Conversation(messages: [.init(role: "user", content: record.prompt),
                                                       .init(role: "assistant", content: answer)],
                                            file: record.file, line: record.line)
            return try SFTEncoding.encode(conversation, maxTokens: blockSize + 1, encoder: &encoder)
        }
        let pair = DPOPair(chosen: try side(record.chosen), rejected: try side(record.rejected))
        guard pair.chosen.ids != pair.rejected.ids else {
            throw TrainDataError("\(pair.source): chosen and rejected are identical within the first \(blockSize) tokens (block_size); raise block_size or fix the pair")
        }
        return pair
    }

    /// One batch of `pairs`, rows as long as the longest (at most the block), right-padded.
    public static func batch(_ pairs: [DPOPair], pad: Int32) -> DPOBatch {
        let sides = pairs.map(\.chosen) + pairs.map(\.rejected)
        let T = max(1, sides.map { $0.ids.count - 1 }.max() ?? 1)
        var tokens: [Int32] = [], targets: [Int32] = []
        tokens.reserveCapacity(sides.count * T)
        targets.reserveCapacity(sides.count * T)
        for s in sides {
            let n = s.ids.count - 1
            for t in 0..<T {
                tokens.append(t < n ? s.ids[t] : pad)
                targets.append(t < n && s.isTarget[t + 1] ? s.ids[t + 1] : -100)
            }
        }
        return DPOBatch(tokens: tokens, targets: targets, pairs: pairs.count, targetCounts: sides.map(\.targetCount))
    }
}
