/// The Gopher repetition and quality rules (Rae et al. 2021, appendix A), with datatrove's
/// order and comparisons, over whitespace words. Each check returns the rule that rejects
/// the document, or nil.
struct GopherRules {
    let config: CleanConfig
    let stopWordHashes: Set<UInt64>

    init(_ config: CleanConfig) {
        self.config = config
        stopWordHashes = Set(config.stopWords.map(WordScan.lowerHash))
    }

    /// (elements that repeat an earlier element, their characters)
    private func duplicates(_ bytes: UnsafeBufferPointer<UInt8>, _ pieces: [Range<Int>]) -> (Int, Int) {
        var seen = HashTable64(expected: pieces.count)
        var elements = 0, chars = 0
        for piece in pieces where seen.add(TextPieces.hash(bytes, piece), position: 0) > 1 {
            elements += 1
            chars += TextPieces.scalars(bytes, piece)
        }
        return (elements, chars)
    }

    func repetition(_ bytes: UnsafeBufferPointer<UInt8>, _ scan: WordScan) -> CleanRule? {
        let total = Double(max(1, scan.scalarCount))
        if config.isOn(.gopherDuplicateParagraphs) {
            let paragraphs = TextPieces.paragraphs(bytes)
            let (count, chars) = duplicates(bytes, paragraphs)
            if Double(count) / Double(max(1, paragraphs.count)) > config.maxDuplicateParagraphRatio
                || Double(chars) / total > config.maxDuplicateParagraphCharRatio { return .gopherDuplicateParagraphs }
        }
        if config.isOn(.gopherDuplicateLines) {
            let lines = TextPieces.lines(bytes)
            let (count, chars) = duplicates(bytes, lines)
            if Double(count) / Double(max(1, lines.count)) > config.maxDuplicateLineRatio
                || Double(chars) / total > config.maxDuplicateLineCharRatio { return .gopherDuplicateLines }
        }
        let words = scan.words
        if config.isOn(.gopherTopNGrams) {
            for limit in config.topNGrams where words.count >= limit.n {
                if Double(topNGramChars(words, limit.n)) / total > limit.max { return .gopherTopNGrams }
            }
        }
        if config.isOn(.gopherDuplicateNGrams) {
            for limit in config.duplicateNGrams where words.count >= limit.n {
                if Double(duplicateNGramChars(words, limit.n)) / total > limit.max { return .gopherDuplicateNGrams }
            }
        }
        return nil
    }

    /// Hashes of every n-gram, by start position: a polynomial rolling hash of the word
    /// hashes (mod 2⁶⁴, odd multiplier), O(1) per position whatever n is.
    func gramHashes(_ words: [WordScan.Word], _ n: Int) -> [UInt64] {
        let count = words.count - n + 1
        guard count > 0 else { return [] }
        let p: UInt64 = 0x100_0000_01B3 | 1
        var top: UInt64 = 1
        for _ in 1..<n { top &*= p }
        var h: UInt64 = 0
        for k in 0..<n { h = h &* p &+ words[k].hash }
        var result = [UInt64](repeating: 0, count: count)
        result[0] = h
        for start in 1..<max(1, count) {
            h = (h &- words[start - 1].hash &* top) &* p &+ words[start + n - 1].hash
            result[start] = h
        }
        return result
    }

    /// Characters covered by the most frequent n-gram: its length (words joined by single
    /// spaces) times its count; ties go to the n-gram seen first.
    func topNGramChars(_ words: [WordScan.Word], _ n: Int) -> Int {
        var counts = HashTable64(expected: words.count)
        var best = (count: Int32(0), first: Int32.max)
        let grams = gramHashes(words, n)
        for start in 0..<grams.count {
            let (count, first) = counts.addReturningFirst(grams[start], position: Int32(start))
            if count > best.count || (count == best.count && first < best.first) { best = (count, first) }
        }
        var length = n - 1
        for k in Int(best.first)..<(Int(best.first) + n) { length += words[k].scalars }
        return length * Int(best.count)
    }

    /// Characters (without spaces) in n-grams that repeat an earlier n-gram; after a repeat
    /// the scan jumps n words, so overlapping repeats are not double counted.
    func duplicateNGramChars(_ words: [WordScan.Word], _ n: Int) -> Int {
        var seen = HashTable64(expected: words.count)
        var chars = 0, start = 0
        let grams = gramHashes(words, n)
        while start < grams.count {
            if seen.add(grams[start], position: 0) == 1 {
                start += 1
            } else {
                for k in start..<(start + n) { chars += words[k].scalars }
                start += n
            }
        }
        return chars
    }

    func quality(_ bytes: UnsafeBufferPointer<UInt8>, _ scan: WordScan) -> CleanRule? {
        let words = scan.words
        var contentWords = 0, contentScalars = 0, alphabetic = 0, stopWords = 0
        for w in words {
            if w.hasAlphanumeric { contentWords += 1; contentScalars += w.scalars }
            if w.hasLetter { alphabetic += 1 }
            if w.scalars <= 6 && stopWordHashes.contains(w.lowerHash) { stopWords += 1 }
        }
        if config.isOn(.gopherWordCount) && (contentWords < config.minWords || contentWords > config.maxWords) {
            return .gopherWordCount
        }
        if config.isOn(.gopherMeanWordLength) {
            let mean = Double(contentScalars) / Double(max(1, contentWords))
            if mean < config.minMeanWordLength || mean > config.maxMeanWordLength { return .gopherMeanWordLength }
        }
        let wordCount = Double(max(1, words.count))
        if config.isOn(.gopherSymbols) {
            let (hashes, ellipses) = symbolCounts(bytes)
            if Double(hashes) / wordCount > config.maxSymbolWordRatio
                || Double(ellipses) / wordCount > config.maxSymbolWordRatio { return .gopherSymbols }
        }
        if config.isOn(.gopherBullets) || config.isOn(.gopherEllipsis) {
            let lines = TextPieces.lines(bytes)
            var bullets = 0, ellipsisEnds = 0
            for line in lines {
                var s = line.lowerBound, e = line.upperBound
                while s < e && (bytes[s] == 0x20 || bytes[s] == 0x09) { s += 1 }
                while e > s && (bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 || bytes[e - 1] == 0x0D) { e -= 1 }
                if s < e && (bytes[s] == UInt8(ascii: "-") || starts(bytes, s, e, [0xE2, 0x80, 0xA2])) { bullets += 1 }
                if ends(bytes, s, e, [0x2E, 0x2E, 0x2E]) || ends(bytes, s, e, [0xE2, 0x80, 0xA6]) { ellipsisEnds += 1 }
            }
            let lineCount = Double(max(1, lines.count))
            if config.isOn(.gopherBullets) && Double(bullets) / lineCount > config.maxBulletLinesRatio { return .gopherBullets }
            if config.isOn(.gopherEllipsis) && Double(ellipsisEnds) / lineCount > config.maxEllipsisLinesRatio { return .gopherEllipsis }
        }
        if config.isOn(.gopherAlphabetic) && Double(alphabetic) / wordCount < config.minAlphabeticWordRatio {
            return .gopherAlphabetic
        }
        if config.isOn(.gopherStopWords) && stopWords < config.minStopWords { return .gopherStopWords }
        return nil
    }

    /// Occurrences of "#" and of "..." (non-overlapping) plus "…".
    private func symbolCounts(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var hashes = 0, ellipses = 0, i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "#") { hashes += 1 }
            else if b == 0x2E && i + 2 < n && bytes[i + 1] == 0x2E && bytes[i + 2] == 0x2E { ellipses += 1; i += 3; continue }
            else if b == 0xE2 && i + 2 < n && bytes[i + 1] == 0x80 && bytes[i + 2] == 0xA6 { ellipses += 1; i += 3; continue }
            i += 1
        }
        return (hashes, ellipses)
    }

    private func starts(_ bytes: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ prefix: [UInt8]) -> Bool {
        guard e - s >= prefix.count else { return false }
        for k in 0..<prefix.count where bytes[s + k] != prefix[k] { return false }
        return true
    }

    private func ends(_ bytes: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ suffix: [UInt8]) -> Bool {
        guard e - s >= suffix.count else { return false }
        for k in 0..<suffix.count where bytes[e - suffix.count + k] != suffix[k] { return false }
        return true
    }
}

/// A small open-addressing table of 64-bit hashes with a count and the first position of
/// each, sized once per document. `Set`/`Dictionary` hashed every key through SipHash,
/// which dominated the repetition rules' profile.
struct HashTable64 {
    private var keys: [UInt64]
    private var counts: [Int32]
    private var firsts: [Int32]
    private let mask: Int

    init(expected: Int) {
        var size = 16
        while size < expected * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        counts = [Int32](repeating: 0, count: size)
        firsts = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    /// Counts `key` (0 is remapped, it marks empty slots); returns its new count.
    @inline(__always)
    mutating func add(_ key: UInt64, position: Int32) -> Int32 { addReturningFirst(key, position: position).0 }

    @inline(__always)
    mutating func addReturningFirst(_ key: UInt64, position: Int32) -> (Int32, Int32) {
        let k = key == 0 ? 0x9E37_79B9_7F4A_7C15 : key
        var slot = Int(truncatingIfNeeded: k ^ (k >> 29)) & mask
        while true {
            if keys[slot] == k {
                counts[slot] += 1
                return (counts[slot], firsts[slot])
            }
            if keys[slot] == 0 {
                keys[slot] = k
                counts[slot] = 1
                firsts[slot] = position
                return (1, position)
            }
            slot = (slot + 1) & mask
        }
    }
}
