/// One pass over a document's UTF-8 bytes that finds its words (see `CleanConfig` for
/// what a word is) and the facts every Gopher rule needs, so no rule re-reads the text.
struct WordScan {
    struct Word {
        var start: Int          // byte offsets into the UTF-8 text
        var end: Int
        var scalars: Int        // length in Unicode scalars
        var hash: UInt64        // of the exact bytes (FNV-1a, then mixed when the word ends)
        var lowerHash: UInt64   // of the lower-cased letters and digits (stop words)
        var hasLetter: Bool
        var hasAlphanumeric: Bool
    }

    var words: [Word] = []
    var scalarCount = 0

    @inline(__always)
    static func fnv(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325

    static func lowerHash(_ word: String) -> UInt64 {
        var h = seed
        for b in word.lowercased().utf8 { h = fnv(h, b) }
        return h
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        words.reserveCapacity(bytes.count / 5)
        var i = 0
        let n = bytes.count
        var current: Word? = nil
        while i < n {
            let b = bytes[i]
            var width = 1
            var isSpace = false, isLetter = false, isDigit = false
            if b < 0x80 {
                switch b {
                case 0x09...0x0D, 0x20: isSpace = true
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): isLetter = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"): isDigit = true
                default: break
                }
            } else {
                width = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                width = min(width, n - i)
                var value = UInt32(b) & (width == 4 ? 0x07 : width == 3 ? 0x0F : width == 2 ? 0x1F : 0x7F)
                for k in 1..<max(1, width) { value = (value << 6) | (UInt32(bytes[i + k]) & 0x3F) }
                if let scalar = Unicode.Scalar(value) {
                    let p = scalar.properties
                    isSpace = p.isWhitespace
                    isLetter = p.isAlphabetic
                    isDigit = !isLetter && p.numericType != nil
                }
            }
            scalarCount += 1
            if isSpace {
                if var w = current { w.hash = SplitMix64.mix(w.hash); words.append(w); current = nil }
            } else {
                if current == nil {
                    current = Word(start: i, end: i, scalars: 0, hash: Self.seed, lowerHash: Self.seed,
                                   hasLetter: false, hasAlphanumeric: false)
                }
                current!.scalars += 1
                for k in 0..<width { current!.hash = Self.fnv(current!.hash, bytes[i + k]) }
                if isLetter || isDigit {
                    let lower = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                    current!.lowerHash = Self.fnv(current!.lowerHash, lower)
                    for k in 1..<max(1, width) { current!.lowerHash = Self.fnv(current!.lowerHash, bytes[i + k]) }
                    current!.hasAlphanumeric = true
                    if isLetter { current!.hasLetter = true }
                }
                current!.end = i + width
            }
            i += width
        }
        if var w = current { w.hash = SplitMix64.mix(w.hash); words.append(w) }
    }
}

/// Lines and paragraphs of a document as byte ranges.
enum TextPieces {
    /// Lines split on runs of `\n` (empty lines are not elements), as datatrove's `\n+`.
    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        split(bytes, minimumNewlines: 1)
    }

    /// Paragraphs split on runs of two or more `\n` (datatrove's `\n{2,}` on stripped text).
    static func paragraphs(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        split(bytes, minimumNewlines: 2)
    }

    private static func split(_ bytes: UnsafeBufferPointer<UInt8>, minimumNewlines: Int) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var start = 0, i = 0
        let n = bytes.count
        while i < n {
            if bytes[i] == 0x0A {
                var j = i
                while j < n && bytes[j] == 0x0A { j += 1 }
                if j - i >= minimumNewlines {
                    if i > start { pieces.append(start..<i) }
                    start = j
                }
                i = j
            } else {
                i += 1
            }
        }
        if start < n { pieces.append(start..<n) }
        return pieces
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64 {
        var h = WordScan.seed
        for i in range { h = WordScan.fnv(h, bytes[i]) }
        return SplitMix64.mix(h)
    }

    static func scalars(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int {
        var count = 0
        for i in range where bytes[i] & 0xC0 != 0x80 { count += 1 }
        return count
    }
}
