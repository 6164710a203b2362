import Foundation

/// Word shingles for near-duplicate detection.
///
/// Normalisation (the same for MinHash and for the manifest's true Jaccard): letters are
/// lower-cased and stripped of diacritics, every digit becomes `0` (so "page 12" and
/// "page 13" agree), punctuation and symbols are deleted, and words are maximal runs of
/// what is left between whitespace. A shingle is `n` consecutive words, hashed to 64 bits;
/// a document with fewer than `n` words has one shingle of all its words.
enum Shingles {
    /// FNV-1a over a word's normalised bytes; the shingle hash then goes through the
    /// SplitMix64 finaliser, so the weak low bits of FNV never reach MinHash.
    @inline(__always)
    static func combine(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325

    /// Word-hashing state: the hash of the word being read, and the finished words.
    private struct WordHasher {
        var hashes: [UInt64] = []
        var h = fnvOffset
        var inWord = false

        @inline(__always) mutating func add(_ byte: UInt8) { h = combine(h, byte); inWord = true }

        @inline(__always) mutating func endWord() {
            if inWord { hashes.append(h) }
            h = fnvOffset
            inWord = false
        }
    }

    /// Hashes of the normalised words of `text`, in order. ASCII bytes are classified
    /// directly; runs of other bytes go through Unicode properties after NFD.
    static func wordHashes(_ text: String) -> [UInt64] {
        var state = WordHasher()
        state.hashes.reserveCapacity(text.utf8.count / 5)
        var pending: [UInt8] = []
        var text = text
        text.withUTF8 { bytes in
          for byte in bytes {
            if byte < 0x80 {
                if !pending.isEmpty { wide(&pending, &state) }
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): state.add(byte | 0x20)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): state.add(byte)
                case UInt8(ascii: "0")...UInt8(ascii: "9"): state.add(UInt8(ascii: "0"))
                case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20: state.endWord()
                default: break // punctuation, symbols and control characters are deleted
                }
            } else {
                pending.append(byte)
            }
          }
        }
        if !pending.isEmpty { wide(&pending, &state) }
        state.endWord()
        return state.hashes
    }

    /// A run of non-ASCII bytes (whole scalars: ASCII bytes never occur inside a
    /// multi-byte sequence).
    private static func wide(_ bytes: inout [UInt8], _ state: inout WordHasher) {
        let text = String(decoding: bytes, as: UTF8.self)
        bytes.removeAll(keepingCapacity: true)
        for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
            let p = scalar.properties
            if p.isWhitespace {
                state.endWord()
            } else if p.generalCategory == .nonspacingMark || p.generalCategory == .spacingMark || p.generalCategory == .enclosingMark {
                continue // diacritics removed
            } else if p.isAlphabetic || p.numericType != nil {
                let lowered = p.numericType == .decimal ? "0" : p.lowercaseMapping
                for byte in lowered.utf8 { state.add(byte) }
            }
        }
    }

    /// Hashes of the word n-grams of `text` (order-sensitive combination of word hashes).
    static func hashes(_ text: String, n: Int) -> [UInt64] {
        let words = wordHashes(text)
        guard !words.isEmpty else { return [] }
        if words.count < n { return [shingle(words[...])] }
        var result: [UInt64] = []
        result.reserveCapacity(words.count - n + 1)
        for start in 0...(words.count - n) { result.append(shingle(words[start..<(start + n)])) }
        return result
    }

    @inline(__always)
    static func shingle(_ words: ArraySlice<UInt64>) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for w in words { h = SplitMix64.mix(h ^ w) &+ 0x9E37_79B9_7F4A_7C15 }
        return SplitMix64.mix(h)
    }

    /// Exact Jaccard similarity of the shingle sets of two texts.
    static func jaccard(_ a: String, _ b: String, n: Int) -> Double {
        let x = Set(hashes(a, n: n)), y = Set(hashes(b, n: n))
        if x.isEmpty && y.isEmpty { return 1 }
        let common = x.intersection(y).count
        return Double(common) / Double(x.count + y.count - common)
    }
}

