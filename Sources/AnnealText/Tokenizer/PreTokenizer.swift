/// GPT-2's pre-tokenisation, written by hand over UTF-8 bytes. It splits text exactly as
/// the regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// does (Hugging Face's ByteLevel pre-tokenizer with `use_regex: true`), but about an
/// order of magnitude faster than Swift's `Regex` on the same pattern (2.4 MB/s,
/// `research/data.md`). ASCII is classified by a table; other scalars by their Unicode
/// general category (letters L*, numbers N*) and White_Space property.
enum PreTokenizer {
    enum Class: UInt8 { case letter, number, space, other }

    static let asciiClass: [Class] = (0..<256).map { b -> Class in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case 0x09...0x0D, 0x20: return .space
        default: return .other
        }
    }

    /// `table` is `asciiClass` reached through a pointer taken once per call, so the hot
    /// loop does not touch the global's lazy initialiser.
    @inline(__always)
    static func classify(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ table: UnsafePointer<Class>) -> (Class, Int) {
        let b = p[i]
        if b < 0x80 { return (table[Int(b)], 1) }
        return classifyWide(p, i)
    }

    @inline(never)
    static func classifyWide(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Class, Int) {
        let b = p[i]
        let width = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
        guard i + width <= p.count else { return (.other, 1) }
        var value = UInt32(b) & (width == 4 ? 0x07 : width == 3 ? 0x0F : width == 2 ? 0x1F : 0x7F)
        for k in 1..<max(1, width) { value = (value << 6) | (UInt32(p[i + k]) & 0x3F) }
        guard let scalar = Unicode.Scalar(value) else { return (.other, width) }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return (.letter, width)
        case .decimalNumber, .letterNumber, .otherNumber: return (.number, width)
        default: return (properties.isWhitespace ? .space : .other, width)
        }
    }

    /// Calls `body` with the byte range of each piece of `p`, in order.
    @inline(__always)
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        asciiClass.withUnsafeBufferPointer { table in split(p, table.baseAddress!, body) }
    }

    @inline(__always)
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ table: UnsafePointer<Class>, _ body: (Range<Int>) -> Void) {
        let n = p.count
        var i = 0
        while i < n {
            let start = i
            let b = p[i]
            // 's 't 're 've 'm 'll 'd
            if b == UInt8(ascii: "'") && i + 1 < n {
                let c = p[i + 1]
                if c == UInt8(ascii: "s") || c == UInt8(ascii: "t") || c == UInt8(ascii: "m") || c == UInt8(ascii: "d") {
                    body(i..<(i + 2)); i += 2; continue
                }
                if i + 2 < n {
                    let d = p[i + 2]
                    if (c == UInt8(ascii: "r") && d == UInt8(ascii: "e")) || (c == UInt8(ascii: "v") && d == UInt8(ascii: "e"))
                        || (c == UInt8(ascii: "l") && d == UInt8(ascii: "l")) {
                        body(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            var (cls, width) = classify(p, i, table)
            var j = i
            if b == 0x20 && i + 1 < n {
                // " ?X+": a single space joins a following letter, number or symbol run.
                let (next, nextWidth) = classify(p, i + 1, table)
                if next != .space {
                    cls = next
                    j = i + 1
                    width = nextWidth
                }
            }
            if cls == .space {
                // \s+(?!\S) then \s+: a whitespace run, less its last character when a
                // non-space follows and the run is longer than one character.
                var end = i + width
                var lastStart = i
                while end < n {
                    let (c, w) = classify(p, end, table)
                    if c != .space { break }
                    lastStart = end
                    end += w
                }
                if end < n && lastStart > i { end = lastStart }
                body(start..<end)
                i = end
                continue
            }
            j += width
            while j < n {
                let (c, w) = classify(p, j, table)
                if c != cls { break }
                j += w
            }
            body(start..<j)
            i = j
        }
    }

    /// The pieces of `text` as strings (tests and tools; the encoder uses `split`).
    static func pieces(_ text: String) -> [String] {
        var copy = text
        return copy.withUTF8 { p in
            var result: [String] = []
            split(p) { range in result.append(String(decoding: UnsafeBufferPointer(rebasing: p[range]), as: UTF8.self)) }
            return result
        }
    }
}
