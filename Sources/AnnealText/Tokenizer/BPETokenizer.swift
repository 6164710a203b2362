/// A trained byte-level BPE tokenizer. Ids: special tokens first (0..<S), then the 256
/// bytes (S + byte), then one id per merge in merge order. Encoding applies merges by
/// rank (lowest first) inside each GPT-2 pre-token, which is what Hugging Face's BPE model
/// and tiktoken do with the same merges, so ids agree with them.
public struct BPETokenizer: Sendable, Equatable {
    public let specialTokens: [String]
    /// Merges in order; merge k makes token id `S + 256 + k`.
    public let merges: [Merge]
    /// The bytes of every token, by id.
    let tokenBytes: [[UInt8]]
    /// Mixed pair key → merge index (an open-addressing table: `Dictionary` hashed every
    /// look-up through SipHash, a visible cost on cache misses).
    let ranks: HashIndexMap
    let matcher: SpecialTokenMatcher

    public struct Merge: Sendable, Equatable, Hashable {
        public var left: UInt32
        public var right: UInt32
    }

    public init(specialTokens: [String], merges: [(UInt32, UInt32)]) {
        self.specialTokens = specialTokens
        self.merges = merges.map { Merge(left: $0.0, right: $0.1) }
        var bytes: [[UInt8]] = specialTokens.map { Array($0.utf8) }
        bytes += (0..<256).map { [UInt8($0)] }
        var ranks = HashIndexMap(capacity: max(16, merges.count))
        for (k, m) in merges.enumerated() {
            bytes.append(bytes[Int(m.0)] + bytes[Int(m.1)])
            _ = ranks.valueOrInsert(SplitMix64.mix(BPETrainer.key(m.0, m.1)), Int32(k))
        }
        tokenBytes = bytes
        self.ranks = ranks
        matcher = SpecialTokenMatcher(specialTokens)
    }

    public var vocabSize: Int { tokenBytes.count }
    var byteBase: UInt32 { UInt32(specialTokens.count) }

    public func id(ofSpecial token: String) -> UInt32? {
        specialTokens.firstIndex(of: token).map { UInt32($0) }
    }

    /// The raw bytes of a token (special tokens: their UTF-8 text).
    public func bytes(of id: UInt32) -> [UInt8] { tokenBytes[Int(id)] }

    /// A token as its vocabulary string (GPT-2 byte-level characters; specials verbatim).
    public func vocabString(_ id: UInt32) -> String {
        Int(id) < specialTokens.count ? specialTokens[Int(id)] : ByteLevel.encode(tokenBytes[Int(id)])
    }

    /// Encodes with a fresh cache; for many texts keep one `BPEEncoder` per thread.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [UInt32] {
        var encoder = BPEEncoder(self)
        return encoder.encode(text, allowSpecial: allowSpecial)
    }

    /// Concatenates token bytes; invalid UTF-8 (a cut inside a character) becomes U+FFFD.
    public func decode(_ ids: [UInt32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where Int(id) < tokenBytes.count { bytes += tokenBytes[Int(id)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// BPE on one pre-token: merge the lowest-ranked adjacent pair, all its occurrences
    /// left to right, until no pair has a rank.
    func mergePiece(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
        let base = byteBase
        if piece.count == 1 { out.append(base + UInt32(piece[0])); return }
        var symbols = piece.map { base + UInt32($0) }
        let mergeBase = base + 256
        while symbols.count > 1 {
            var bestRank = UInt32.max
            for k in 0..<(symbols.count - 1) {
                if let rank = ranks.value(SplitMix64.mix(BPETrainer.key(symbols[k], symbols[k + 1]))), UInt32(rank) < bestRank {
                    bestRank = UInt32(rank)
                }
            }
            if bestRank == .max { break }
            let m = merges[Int(bestRank)]
            symbols = BPETrainer.merge(symbols, m.left, m.right, mergeBase + bestRank) ?? symbols
        }
        out.append(contentsOf: symbols)
    }
}

/// An encoder with a cache of pre-token → ids. Not thread-safe by design: give each
/// thread its own (they are cheap), so the hot path has no locks.
public struct BPEEncoder {
    public let tokenizer: BPETokenizer
    private var cache = PieceTable(capacity: 1 << 14)
    private var cachedStart: [Int32] = []
    private var cachedCount: [Int32] = []
    private var cached: [UInt32] = []
    private var scratch: [UInt32] = []
    /// Per-encoder copies of what the hot path reads, so two threads encoding at once do
    /// not bounce reference counts of shared buffers between their caches.
    private let byteBase: UInt32
    private var classes: [PreTokenizer.Class]
    private let matcher: SpecialTokenMatcher
    /// The cache is cleared when it grows past this many entries, bounding memory on
    /// corpora with endless distinct words (numbers, hashes).
    public var cacheLimit = 200_000

    public init(_ tokenizer: BPETokenizer) {
        self.tokenizer = tokenizer
        byteBase = tokenizer.byteBase
        matcher = SpecialTokenMatcher(tokenizer.specialTokens)
        classes = [PreTokenizer.Class](repeating: .other, count: 256)
        for i in 0..<256 { classes[i] = PreTokenizer.asciiClass[i] }
    }

    public mutating func encode(_ text: String, allowSpecial: Bool = true) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count / 3)
        encode(text, allowSpecial: allowSpecial, into: &out)
        return out
    }

    public mutating func encode(_ text: String, allowSpecial: Bool = true, into out: inout [UInt32]) {
        var copy = text
        let table = classes
        classes = []
        defer { classes = table }
        copy.withUTF8 { p in
            table.withUnsafeBufferPointer { classes in
                if allowSpecial {
                    matcher.scan(p, ordinary: { range in
                        encodeOrdinary(UnsafeBufferPointer(rebasing: p[range]), classes.baseAddress!, &out)
                    }, special: { index in out.append(UInt32(index)) })
                } else {
                    encodeOrdinary(p, classes.baseAddress!, &out)
                }
            }
        }
    }

    private mutating func encodeOrdinary(_ p: UnsafeBufferPointer<UInt8>, _ classes: UnsafePointer<PreTokenizer.Class>,
                                         _ out: inout [UInt32]) {
        let base = byteBase
        PreTokenizer.split(p, classes) { range in
            if range.count == 1 { out.append(base + UInt32(p[range.lowerBound])); return }
            let piece = UnsafeBufferPointer(rebasing: p[range])
            if let entry = cache.find(piece) {
                let start = Int(cachedStart[entry])
                out.append(contentsOf: cached[start..<(start + Int(cachedCount[entry]))])
                return
            }
            scratch.removeAll(keepingCapacity: true)
            tokenizer.mergePiece(piece, into: &scratch)
            if cache.count >= cacheLimit {
                cache.removeAll(); cachedStart.removeAll(keepingCapacity: true)
                cachedCount.removeAll(keepingCapacity: true); cached.removeAll(keepingCapacity: true)
            }
            _ = cache.findOrInsert(piece)
            cachedStart.append(Int32(cached.count))
            cachedCount.append(Int32(scratch.count))
            cached.append(contentsOf: scratch)
            out.append(contentsOf: scratch)
        }
    }
}
