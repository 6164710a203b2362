import Foundation

/// Parameters of `dedup`.
public struct DedupConfig: Sendable, Equatable {
    /// Exact duplicates: equal after NFKC, whitespace normalisation and lower-casing.
    public var exact = true
    /// Near duplicates: MinHash + LSH over word n-grams.
    public var near = true
    /// Jaccard similarity of word n-gram sets at which two documents are duplicates.
    /// 0.7 (not 0.8): with 5-grams, changing 2% of the words of a 100-word text already
    /// takes Jaccard to ~0.8, and datatrove's default 14 × 8 banding is centred near 0.72.
    public var threshold = 0.7
    public var ngram = 5
    public var permutations = 128
    public var seed: UInt64 = 1
    /// Bands × rows; derived from `threshold` when nil (`LSHParameters.optimal`).
    public var lsh: LSHParameters? = nil
    public var falseNegativeWeight = 0.8
    /// Check each LSH candidate's estimated Jaccard (from 16-bit signature slices, 2 bytes
    /// per permutation per document kept in memory) against `threshold`.
    public var verify = true

    public init() {}

    public var resolvedLSH: LSHParameters {
        lsh ?? LSHParameters.optimal(threshold: threshold, permutations: permutations, falseNegativeWeight: falseNegativeWeight)
    }

    public func validate() throws {
        if !(0.05...1).contains(threshold) { throw TextError(.badConfig, "dedup: threshold must be in 0.05...1 (got \(threshold))") }
        if ngram < 1 { throw TextError(.badConfig, "dedup: ngram must be at least 1") }
        if permutations < 1 || permutations > 1024 { throw TextError(.badConfig, "dedup: permutations must be in 1...1024") }
        let p = resolvedLSH
        if p.bands * p.rows > permutations || p.bands < 1 || p.rows < 1 {
            throw TextError(.badConfig, "dedup: bands × rows (\(p.bands) × \(p.rows)) must be at most permutations (\(permutations))")
        }
    }
}

/// Why a document was dropped.
public enum DuplicateKind: String, Codable, Sendable {
    case exact, near
}

/// The incremental core of `dedup`: documents are added in order; each joins the cluster
/// of an earlier document it duplicates. Signatures are computed in parallel per batch;
/// clustering is sequential, so results do not depend on thread timing. Memory per
/// document: one exact-hash entry, `bands` bucket entries, and 2 bytes per permutation
/// when verifying.
struct DedupIndex {
    let config: DedupConfig
    let lsh: LSHParameters
    let hasher: MinHasher
    var sets = UnionFind(count: 0)
    var kinds: [DuplicateKind?] = []
    private var exactFirst: HashIndexMap
    private var buckets: HashIndexMap
    private var short: [UInt16] = []
    private(set) var candidatePairs = 0
    private(set) var rejectedPairs = 0

    init(_ config: DedupConfig, expectedDocuments: Int = 0) {
        self.config = config
        lsh = config.resolvedLSH
        hasher = MinHasher(permutations: config.permutations, seed: config.seed)
        exactFirst = HashIndexMap(capacity: max(1024, expectedDocuments))
        buckets = HashIndexMap(capacity: max(1024, expectedDocuments * lsh.bands))
    }

    var count: Int { kinds.count }

    struct Sketch: Sendable {
        var exact: UInt64
        var bandKeys: [UInt64]
        var short: [UInt16]
    }

    /// Hash of the exact-duplicate normal form: NFKC (only when the text is not ASCII),
    /// whitespace runs as one space, ends trimmed, ASCII letters lower-cased. One pass over
    /// the bytes, no intermediate strings.
    static func exactHash(_ text: String) -> UInt64 {
        var text = text
        if !text.isASCIIOnly { text = text.precomposedStringWithCompatibilityMapping }
        return text.withUTF8 { bytes in
            var h = WordScan.seed
            var length: UInt64 = 0
            var pendingSpace = false
            for b in bytes {
                if b == 0x20 || (b >= 0x09 && b <= 0x0D) {
                    pendingSpace = length > 0
                    continue
                }
                if pendingSpace { h = WordScan.fnv(h, 0x20); length += 1; pendingSpace = false }
                h = WordScan.fnv(h, b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
                length += 1
            }
            return SplitMix64.mix(h ^ length)
        }
    }

    func sketch(_ text: String) -> Sketch {
        let exact = config.exact ? Self.exactHash(text) : 0
        guard config.near else { return Sketch(exact: exact, bandKeys: [], short: []) }
        let signature = hasher.signature(Shingles.hashes(text, n: config.ngram))
        var keys: [UInt64] = []
        keys.reserveCapacity(lsh.bands)
        for band in 0..<lsh.bands {
            var h = SplitMix64.mix(UInt64(band) &+ 0x5BD1_E995)
            for row in 0..<lsh.rows { h = SplitMix64.mix(h ^ UInt64(signature[band * lsh.rows + row])) }
            keys.append(h)
        }
        return Sketch(exact: exact, bandKeys: keys, short: config.verify ? signature.map { UInt16(truncatingIfNeeded: $0) } : [])
    }

    /// Estimated Jaccard from 16-bit slices: unequal values collide with chance 2⁻¹⁶, so
    /// the raw match share is corrected for it.
    private func estimate(_ x: Int, _ y: Int) -> Double {
        let p = config.permutations
        var equal = 0
        for i in 0..<p where short[x * p + i] == short[y * p + i] { equal += 1 }
        let c = 1.0 / 65536
        return (Double(equal) / Double(p) - c) / (1 - c)
    }

    mutating func add(_ sketch: Sketch) {
        let index = sets.append()
        kinds.append(nil)
        short.append(contentsOf: sketch.short)
        if config.exact {
            if let first = exactFirst.valueOrInsert(sketch.exact, Int32(index)) {
                sets.union(Int(first), index)
                kinds[index] = .exact
                return
            }
        }
        for key in sketch.bandKeys {
            guard let head = buckets.valueOrInsert(key, Int32(index)) else { continue }
            let other = Int(head)
            if sets.find(other) == sets.find(index) { continue }
            candidatePairs += 1
            if config.verify && estimate(other, index) < config.threshold {
                rejectedPairs += 1
                continue
            }
            sets.union(other, index)
            if kinds[index] == nil { kinds[index] = .near }
        }
    }

    /// Root (smallest index) of every document's cluster, and the drop reason of
    /// non-roots (a root demoted by a later merge counts as a near duplicate).
    mutating func finish() -> (roots: [Int], kinds: [DuplicateKind?]) {
        var roots = [Int](repeating: 0, count: count)
        var result = kinds
        for i in 0..<count {
            roots[i] = sets.find(i)
            if roots[i] == i { result[i] = nil } else if result[i] == nil { result[i] = .near }
        }
        return (roots, result)
    }
}
