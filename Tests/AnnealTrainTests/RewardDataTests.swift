import AnnealText
import Testing
@testable import AnnealTrain

@Suite struct RewardDataTests {
    @Test func pairsBatchChosenFirstAndReadTheRewardAtTheEnd() throws {
        var encoder = BPEEncoder(chatTokenizer)
        let record = PreferenceRecord(prompt: "What is the capital of Avalon?", chosen: "Kelm.", rejected: "Hello there! The capital is Avalon.",
                                      file: "prefs.jsonl", line: 4)
        let pair = try RewardData.encode(record, blockSize: 64, encoder: &encoder)
        let end = Int32(chatTokenizer.id(ofSpecial: ChatTemplate.end)!)
        #expect(pair.chosen.last == end && pair.rejected.last == end)
        let batch = RewardData.batch([pair, pair], pad: 0)
        let T = batch.blockSize
        #expect(T == max(pair.chosen.count, pair.rejected.count))
        #expect(batch.lastIndices == [pair.chosen.count - 1, pair.chosen.count - 1, pair.rejected.count - 1, pair.rejected.count - 1])
        #expect(Array(batch.tokens[0..<pair.chosen.count]) == pair.chosen)
        #expect(Array(batch.tokens[(2 * T)..<(2 * T + pair.rejected.count)]) == pair.rejected)
        #expect(batch.tokens[pair.chosen.count] == 0)
        #expect(throws: TrainDataError("prefs.jsonl:4: chosen and rejected are identical within the first 8 tokens (block_size); raise block_size or fix the pair")) {
            try RewardData.encode(record, blockSize: 8, encoder: &encoder)
        }
    }
}
