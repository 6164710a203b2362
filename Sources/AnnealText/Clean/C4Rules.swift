/// C4's line-level cleaning (Raffel et al. 2020) with datatrove's C4QualityFilter
/// defaults. Lines are dropped when they lack end punctuation (. ? ! " ') or end in "...",
/// have fewer than 3 words, hold a word over 1,000 characters, mention "javascript" or a
/// cookie/terms policy; citation marks ("[1]", "[edit]", "[citation needed]") are removed.
/// Whole documents go for "lorem ipsum", a "{", or fewer than 5 sentences left.
/// Unlike datatrove, blank lines between kept lines are preserved, so paragraph breaks
/// survive for the tokenizer and later rules. Works on UTF-8 bytes (ASCII whitespace and
/// punctuation; text is NFKC-normalised first), since Unicode property look-ups per
/// character made this rule the slowest part of `clean`.
struct C4Rules {
    let config: CleanConfig
    static let policies: [[UInt8]] = ["terms of use", "privacy policy", "cookie policy", "uses cookies",
                                      "use of cookies", "use cookies"].map { Array($0.utf8) }
    static let loremIpsum = Array("lorem ipsum".utf8)
    static let javascript = Array("javascript".utf8)

    enum Outcome { case kept(String), removed(CleanRule) }

    var isActive: Bool {
        config.isOn(.c4Lines) || config.isOn(.c4LoremIpsum) || config.isOn(.c4CurlyBracket) || config.isOn(.c4Sentences)
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    func apply(_ text: String) -> Outcome {
        var copy = text
        return copy.withUTF8 { apply($0, text) }
    }

    private func apply(_ p: UnsafeBufferPointer<UInt8>, _ text: String) -> Outcome {
        var kept: [UInt8] = []
        kept.reserveCapacity(p.count)
        var changed = false
        var sentences = 0
        var blankPending = false
        let lineFilter = config.isOn(.c4Lines)
        var lineStart = 0
        let n = p.count
        while lineStart <= n {
            var lineEnd = lineStart
            while lineEnd < n && p[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var s = lineStart, e = lineEnd
            while s < e && Self.isSpace(p[s]) { s += 1 }
            while e > s && Self.isSpace(p[e - 1]) { e -= 1 }
            if s == e {
                if !kept.isEmpty { blankPending = true }
                if lineEnd > lineStart { changed = true }
                continue
            }
            var line = Array(p[s..<e])
            if s != lineStart || e != lineEnd { changed = true }
            if lineFilter {
                let (words, longest) = Self.wordStats(line)
                if longest > config.c4MaxWordLength && Self.scalarLength(line) > config.c4MaxWordLength { changed = true; continue }
                if line.contains(UInt8(ascii: "[")) {
                    let cleaned = Self.removeCitations(line)
                    if cleaned.count != line.count { line = cleaned; changed = true }
                }
                guard let last = line.last, [UInt8(ascii: "."), UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: "\""), UInt8(ascii: "'")].contains(last),
                      !Self.hasSuffix(line, [0x2E, 0x2E, 0x2E]) else { changed = true; continue }
                if words < config.c4MinWordsPerLine { changed = true; continue }
            }
            if config.isOn(.c4LoremIpsum) && Self.containsCaseless(line, Self.loremIpsum) { return .removed(.c4LoremIpsum) }
            if lineFilter && Self.containsCaseless(line, Self.javascript) { changed = true; continue }
            if config.isOn(.c4CurlyBracket) && line.contains(UInt8(ascii: "{")) { return .removed(.c4CurlyBracket) }
            if lineFilter && Self.policies.contains(where: { Self.containsCaseless(line, $0) }) { changed = true; continue }
            sentences += Self.sentenceCount(line)
            if !kept.isEmpty { kept.append(0x0A) }
            if blankPending { kept.append(0x0A); blankPending = false }
            kept += line
        }
        if config.isOn(.c4Sentences) && sentences < config.c4MinSentences { return .removed(.c4Sentences) }
        return .kept(changed ? String(decoding: kept, as: UTF8.self) : text)
    }

    /// (number of words, longest word in bytes), words split on ASCII whitespace.
    static func wordStats(_ line: [UInt8]) -> (Int, Int) {
        var words = 0, longest = 0, current = 0
        for b in line {
            if isSpace(b) {
                if current > 0 { words += 1; longest = max(longest, current); current = 0 }
            } else {
                current += 1
            }
        }
        if current > 0 { words += 1; longest = max(longest, current) }
        return (words, longest)
    }

    static func scalarLength(_ line: [UInt8]) -> Int {
        var longest = 0, current = 0
        for b in line {
            if isSpace(b) { current = 0 } else if b & 0xC0 != 0x80 { current += 1; longest = max(longest, current) }
        }
        return longest
    }

    static func hasSuffix(_ line: [UInt8], _ suffix: [UInt8]) -> Bool {
        line.count >= suffix.count && Array(line.suffix(suffix.count)) == suffix
    }

    /// ASCII case-insensitive search for a lower-case ASCII needle.
    static func containsCaseless(_ line: [UInt8], _ needle: [UInt8]) -> Bool {
        guard line.count >= needle.count, let first = needle.first else { return false }
        var i = 0
        let last = line.count - needle.count
        while i <= last {
            if line[i] | 0x20 == first {
                var k = 1
                while k < needle.count {
                    let b = line[i + k]
                    let folded = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                    if folded != needle[k] { break }
                    k += 1
                }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Sentences end at a run of . ! ? followed by whitespace, or at the line end after
    /// text; a line with text but no end mark is one sentence.
    static func sentenceCount(_ line: [UInt8]) -> Int {
        var count = 0
        var inText = false, previousWasEnd = false
        for b in line {
            if b == UInt8(ascii: ".") || b == UInt8(ascii: "!") || b == UInt8(ascii: "?") { previousWasEnd = true; continue }
            if isSpace(b) {
                if previousWasEnd && inText { count += 1; inText = false }
            } else {
                inText = true
            }
            previousWasEnd = false
        }
        if inText { count += 1 }
        return max(1, count)
    }

    static func sentenceCount(_ line: Substring) -> Int { sentenceCount(Array(line.utf8)) }

    /// Removes "[digits]", "[]", "[edit]" and "[citation needed]".
    static func removeCitations(_ line: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(line.count)
        var i = 0
        while i < line.count {
            if line[i] == UInt8(ascii: "["), let close = line[(i + 1)...].firstIndex(of: UInt8(ascii: "]")) {
                let inner = line[(i + 1)..<close]
                if inner.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || Array(inner) == Array("edit".utf8)
                    || Array(inner) == Array("citation needed".utf8) {
                    i = close + 1
                    continue
                }
            }
            out.append(line[i])
            i += 1
        }
        return out
    }
}
