import Foundation

/// Parameters of BPE training.
public struct BPETrainerConfig: Sendable, Equatable {
    /// Final vocabulary size, special tokens and the 256 bytes included.
    public var vocabSize = 4096
    /// A pair seen fewer times than this is never merged (training may then stop early).
    public var minFrequency = 2
    /// Special tokens, given ids 0, 1, ... before the 256 byte tokens.
    public var specialTokens = ChatTemplate.specialTokens

    public init() {}

    public init(vocabSize: Int, minFrequency: Int = 2, specialTokens: [String] = ChatTemplate.specialTokens) {
        self.vocabSize = vocabSize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
    }
}

/// Byte-level BPE training, the algorithm of Hugging Face's BpeTrainer: count pre-token
/// "words", then repeatedly merge the most frequent adjacent pair, updating only the words
/// that contain it. Ties go to the pair whose left, then right, token id is smallest, so
/// training is deterministic. Counting runs on all cores over disjoint slices of the
/// documents; merging is sequential.
public struct BPETrainer {
    public let config: BPETrainerConfig
    private var words = PieceTable(capacity: 1 << 16)
    private var counts: [Int] = []

    public init(_ config: BPETrainerConfig) { self.config = config }

    /// Adds documents to the word counts. Special tokens inside them are cut out (they
    /// are never merged; chat data rendered with the template is counted without its
    /// control tokens); each core counts a contiguous slice into its own table.
    public mutating func add(_ texts: [String]) {
        let matcher = SpecialTokenMatcher(config.specialTokens)
        let workers = max(1, min(TextThreads.count, texts.count / 16))
        let partial = Parallel.map(Array(0..<workers), minimumPerWorker: 1) { w -> (PieceTable, [Int]) in
            var table = PieceTable(capacity: 1 << 15)
            var local: [Int] = []
            let lo = texts.count * w / workers, hi = texts.count * (w + 1) / workers
            PreTokenizer.asciiClass.withUnsafeBufferPointer { classes in
                for i in lo..<hi {
                    var text = texts[i]
                    text.withUTF8 { p in
                        matcher.scan(p, ordinary: { segment in
                            PreTokenizer.split(UnsafeBufferPointer(rebasing: p[segment]), classes.baseAddress!) { range in
                                let piece = UnsafeBufferPointer(rebasing: p[(segment.lowerBound + range.lowerBound)..<(segment.lowerBound + range.upperBound)])
                                let (entry, inserted) = table.findOrInsert(piece)
                                if inserted { local.append(1) } else { local[entry] += 1 }
                            }
                        }, special: { _ in })
                    }
                }
            }
            return (table, local)
        }
        for (table, local) in partial {
            for entry in 0..<table.count {
                table.key(entry).withUnsafeBufferPointer { key in
                    let (mine, inserted) = words.findOrInsert(key)
                    if inserted { counts.append(local[entry]) } else { counts[mine] += local[entry] }
                }
            }
        }
    }

    public var distinctWords: Int { counts.count }

    /// Runs the merges and returns the tokenizer.
    public func train() throws -> BPETokenizer {
        let specials = config.specialTokens
        guard Set(specials).count == specials.count else { throw TextError(.badConfig, "tokenize: duplicate special tokens") }
        let base = specials.count + 256
        guard config.vocabSize >= base else {
            throw TextError(.badConfig, "tokenize: vocab_size \(config.vocabSize) is smaller than 256 bytes + \(specials.count) special tokens")
        }
        // Words in a fixed order (by bytes) so the result never depends on hashing order.
        let order = (0..<self.words.count).sorted { self.words.key($0).lexicographicallyPrecedes(self.words.key($1)) }
        var words: [[UInt32]] = order.map { self.words.key($0).map { UInt32($0) + UInt32(specials.count) } }
        let frequency: [Int] = order.map { counts[$0] }

        var pairCounts: [UInt64: Int] = [:]
        var wordsWith: [UInt64: [Int32]] = [:]
        for (w, symbols) in words.enumerated() where symbols.count > 1 {
            for k in 0..<(symbols.count - 1) {
                let key = Self.key(symbols[k], symbols[k + 1])
                pairCounts[key, default: 0] += frequency[w]
                if wordsWith[key]?.last != Int32(w) { wordsWith[key, default: []].append(Int32(w)) }
            }
        }
        var heap = PairHeap()
        for (key, count) in pairCounts { heap.push(count, key) }

        var merges: [(UInt32, UInt32)] = []
        let target = config.vocabSize - base
        while merges.count < target, let top = heap.pop() {
            let current = pairCounts[top.key] ?? 0
            if current != top.count {
                if current > 0 { heap.push(current, top.key) }
                continue
            }
            if current < max(1, config.minFrequency) { break }
            let left = UInt32(top.key >> 32), right = UInt32(top.key & 0xFFFF_FFFF)
            let newID = UInt32(base + merges.count)
            merges.append((left, right))
            var increased: [UInt64: Int] = [:]
            for w32 in wordsWith[top.key] ?? [] {
                let w = Int(w32)
                let old = words[w]
                guard let merged = Self.merge(old, left, right, newID) else { continue }
                let n = frequency[w]
                for k in 0..<(old.count - 1) { pairCounts[Self.key(old[k], old[k + 1]), default: 0] -= n }
                for k in 0..<(merged.count - 1) {
                    let key = Self.key(merged[k], merged[k + 1])
                    pairCounts[key, default: 0] += n
                    if merged[k] == newID || merged[k + 1] == newID {
                        increased[key, default: 0] += n
                        if wordsWith[key]?.last != w32 { wordsWith[key, default: []].append(w32) }
                    }
                }
                words[w] = merged
            }
            pairCounts[top.key] = nil
            wordsWith[top.key] = nil
            for key in increased.keys.sorted() { heap.push(pairCounts[key] ?? 0, key) }
        }
        return BPETokenizer(specialTokens: specials, merges: merges)
    }

    @inline(__always)
    static func key(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(a) << 32 | UInt64(b) }

    /// `symbols` with every non-overlapping (left, right), scanned left to right, replaced
    /// by `id`; nil when the pair does not occur.
    static func merge(_ symbols: [UInt32], _ left: UInt32, _ right: UInt32, _ id: UInt32) -> [UInt32]? {
        var out: [UInt32] = []
        var i = 0
        var found = false
        while i < symbols.count {
            if i + 1 < symbols.count && symbols[i] == left && symbols[i + 1] == right {
                if !found { out.reserveCapacity(symbols.count - 1); out.append(contentsOf: symbols[0..<i]); found = true }
                out.append(id)
                i += 2
            } else {
                if found { out.append(symbols[i]) }
                i += 1
            }
        }
        return found ? out : nil
    }
}

/// A binary max-heap of (count, pair); equal counts pop the smaller pair key first.
struct PairHeap {
    private var items: [(count: Int, key: UInt64)] = []

    @inline(__always)
    private func above(_ a: (count: Int, key: UInt64), _ b: (count: Int, key: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.key < b.key
    }

    mutating func push(_ count: Int, _ key: UInt64) {
        items.append((count, key))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && above(items[l], items[best]) { best = l }
                if r < items.count && above(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
