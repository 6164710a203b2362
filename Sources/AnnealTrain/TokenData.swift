import AnnealCompute
import AnnealText
import Foundation

/// The token shards `tokenize` wrote, as one stream per split: `train-*.bin` and `val-*.bin`
/// concatenated in name order (documents are already separated by `<|endoftext|>`).
public struct TokenData: Sendable {
    public var train: [Int32]
    public var validation: [Int32]
    /// The vocabulary size recorded in the shard headers.
    public var vocabSize: Int

    public init(train: [Int32], validation: [Int32], vocabSize: Int) {
        self.train = train
        self.validation = validation
        self.vocabSize = vocabSize
    }

    public static func load(directory: URL) throws -> TokenData {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var vocab = 0
        func read(_ prefix: String) throws -> [Int32] {
            var out: [Int32] = []
            for name in names where name.hasPrefix(prefix + "-") && name.hasSuffix(".bin") {
                let shard = try TokenShard.read(directory.appendingPathComponent(name))
                vocab = max(vocab, shard.info.vocabSize)
                out += shard.tokens.map { Int32(bitPattern: $0) }
            }
            return out
        }
        return TokenData(train: try read("train"), validation: try read("val"), vocabSize: vocab)
    }
}

/// B rows of T input tokens and the T tokens that follow each (next-token targets).
public struct Batch: Equatable, Sendable {
    public var inputs: [Int32]
    public var targets: [Int32]
    public var rows: Int
}

public enum Batching {
    /// nanoGPT's `get_batch`: B windows of T + 1 tokens at offsets drawn uniformly from
    /// 0...N-T-1 with `rng`, so the RNG state is the data position and resuming it resumes
    /// the exact sequence of batches.
    public static func sample(_ tokens: [Int32], batch B: Int, block T: Int, rng: inout RNG) -> Batch {
        precondition(tokens.count > T, "\(tokens.count) tokens cannot fill a window of \(T + 1)")
        let offsets = (0..<B).map { _ in rng.nextInt(below: tokens.count - T) }
        return window(tokens, offsets: offsets, block: T)
    }

    /// `count` windows spread evenly over `tokens` (the same windows at every eval, so two
    /// val losses compare, and eval draws nothing from the training RNG).
    public static func evenlySpaced(_ tokens: [Int32], count: Int, block T: Int) -> [Int] {
        let last = tokens.count - T - 1
        guard last >= 0, count > 0 else { return [] }
        return (0..<count).map { count == 1 ? 0 : last * $0 / (count - 1) }
    }

    public static func window(_ tokens: [Int32], offsets: [Int], block T: Int) -> Batch {
        var x: [Int32] = [], y: [Int32] = []
        x.reserveCapacity(offsets.count * T)
        y.reserveCapacity(offsets.count * T)
        for o in offsets {
            x += tokens[o..<(o + T)]
            y += tokens[(o + 1)...(o + T)]
        }
        return Batch(inputs: x, targets: y, rows: offsets.count)
    }
}
