import AnnealCompute

/// One row of T inputs with T targets: `targets[i]` is the token after `tokens[i]` when that
/// token is trained on, else -100 (ignored by cross-entropy). `sources` names the examples
/// the row holds.
public struct SFTRow: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]
    public var sources: [String]
}

/// B rows flattened as the model takes them ([B·T] each).
public struct SFTBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]
    public var rows: Int
    public var sources: [String]

    public static let ignored: Int32 = -100

    public var targetCount: Int { targets.lazy.filter { $0 != Self.ignored }.count }

    /// The batch, or an error naming its examples when every label is masked: cross-entropy
    /// would return 0 and train on nothing, silently.
    public func validated() throws(TrainDataError) -> SFTBatch {
        guard targetCount == 0 else { return self }
        let named = sources.prefix(3).joined(separator: ", ") + (sources.count > 3 ? " and \(sources.count - 3) more" : "")
        throw TrainDataError("\(named): a batch with every label masked (no assistant token to train on); check these examples have assistant answers within block_size")
    }
}

public enum SFTBatching {
    /// How examples become rows of `blockSize` inputs.
    public enum Layout: String, Sendable, Codable, CaseIterable {
        /// One example per row, the rest padding.
        case padding
        /// Examples back to back in order while they fit (never split), then padding. Fewer
        /// rows for short chats; attention may see the previous example of the row, as in
        /// LLaMA-Factory's `packing` without neat_packing.
        case packing
    }

    /// Rows of `blockSize` (T) inputs. Each row is a stream of T + 1 ids (examples then
    /// `pad`), read as inputs [0, T) and targets [1, T]; a target is kept only where the
    /// stream's id is trained on. An example's first id is its role tag, never a target, so
    /// no target crosses from one example into the next. Examples must be at most T + 1 ids
    /// (`SFTEncoding.encode(maxTokens: T + 1)`).
    public static func rows(_ examples: [SFTExample], blockSize T: Int, pad: Int32, layout: Layout) -> [SFTRow] {
        precondition(T > 0, "block size must be positive")
        var rows: [SFTRow] = []
        var ids: [Int32] = [], mask: [Bool] = [], sources: [String] = []
        func flush() {
            guard !ids.isEmpty else { return }
            let used = ids.count
            ids += [Int32](repeating: pad, count: T + 1 - used)
            mask += [Bool](repeating: false, count: T + 1 - used)
            let targets = (0..<T).map { mask[$0 + 1] ? ids[$0 + 1] : SFTBatch.ignored }
            rows.append(SFTRow(tokens: Array(ids[0..<T]), targets: targets, sources: sources))
            ids = []; mask = []; sources = []
        }
        for e in examples {
            precondition(e.ids.count <= T + 1, "\(e.source): \(e.ids.count) ids exceed block size \(T) + 1")
            if layout == .padding || ids.count + e.ids.count > T + 1 { flush() }
            ids += e.ids
            mask += e.isTarget
            sources.append(e.source)
        }
        flush()
        return rows
    }

    /// The rows of optimizer step `step`: epochs walk a seeded permutation of all rows
    /// (a new one each epoch), B rows per step, wrapping into the next epoch, so the data
    /// position is a pure function of (step, seed) and resume needs nothing else.
    public static func rowIndices(step: Int, batchSize B: Int, rowCount N: Int, seed: UInt64) -> [Int] {
        precondition(N > 0 && B > 0, "no rows to batch")
        var out: [Int] = []
        var epoch = -1
        var order: [Int] = []
        for k in (step * B)..<((step + 1) * B) {
            let e = k / N
            if e != epoch { epoch = e; order = permutation(N, seed: seed, stream: UInt64(e) + 1) }
            out.append(order[k % N])
        }
        return out
    }

    /// Fisher–Yates over 0..<n from its own RNG stream (epoch e uses stream e + 1).
    static func permutation(_ n: Int, seed: UInt64, stream: UInt64) -> [Int] {
        var rng = RNG(seed: seed, stream: stream)
        var p = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, rng.nextInt(below: i + 1)) }
        return p
    }

    public static func batch(_ rows: [SFTRow], _ indices: [Int]) -> SFTBatch {
        SFTBatch(tokens: indices.flatMap { rows[$0].tokens }, targets: indices.flatMap { rows[$0].targets },
                 rows: indices.count, sources: indices.flatMap { rows[$0].sources })
    }
}
