/// C4's line-level cleaning (Raffel et al. 2020) with datatrove's C4QualityFilter
/// defaults. Lines are dropped when they lack end punctuation (. ? ! " ') or end in "...",
/// have fewer than 3 words, hold a word over 1,000 characters, mention "javascript" or a
/// cookie/terms policy; citation marks ("[1]", "[edit]", "[citation needed]") are removed.
/// Whole documents go for "lorem ipsum", a "{", or fewer than 5 sentences left.
/// Unlike datatrove, blank lines between kept lines are preserved, so paragraph breaks
/// survive for the tokenizer and later rules.
struct C4Rules {
    let config: CleanConfig
    static let policies = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]

    enum Outcome { case kept(String), removed(CleanRule) }

    func apply(_ text: String) -> Outcome {
        var kept: [Substring] = []
        var sentences = 0
        var blankPending = false
        let lineFilter = config.isOn(.c4Lines)
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = rawLine.trimmingWhitespace()
            if line.isEmpty { blankPending = !kept.isEmpty; continue }
            if lineFilter {
                if line.split(whereSeparator: \.isWhitespace).contains(where: { $0.unicodeScalars.count > config.c4MaxWordLength }) { continue }
                if line.contains("[") { line = Self.removeCitations(line) }
                guard let last = line.last, ".?!\"'".contains(last), !line.hasSuffix("...") else { continue }
                if line.split(whereSeparator: \.isWhitespace).count < config.c4MinWordsPerLine { continue }
            }
            let lower = line.lowercased()
            if config.isOn(.c4LoremIpsum) && lower.contains("lorem ipsum") { return .removed(.c4LoremIpsum) }
            if lineFilter && lower.contains("javascript") { continue }
            if config.isOn(.c4CurlyBracket) && line.contains("{") { return .removed(.c4CurlyBracket) }
            if lineFilter && Self.policies.contains(where: lower.contains) { continue }
            sentences += Self.sentenceCount(line)
            if blankPending { kept.append("") }
            blankPending = false
            kept.append(line)
        }
        if config.isOn(.c4Sentences) && sentences < config.c4MinSentences { return .removed(.c4Sentences) }
        return .kept(kept.joined(separator: "\n"))
    }

    /// Sentences end at a run of . ! ? followed by whitespace or the line end; a line with
    /// text but no such end is one sentence.
    static func sentenceCount(_ line: Substring) -> Int {
        var count = 0
        var inText = false, previousWasEnd = false
        for scalar in line.unicodeScalars {
            if scalar == "." || scalar == "!" || scalar == "?" { previousWasEnd = true; continue }
            if scalar.properties.isWhitespace {
                if previousWasEnd && inText { count += 1; inText = false }
            } else {
                inText = true
            }
            previousWasEnd = false
        }
        if inText { count += 1 }
        return max(1, count)
    }

    /// Removes "[digits]", "[]", "[edit]" and "[citation needed]".
    static func removeCitations(_ line: Substring) -> Substring {
        var out = ""
        var rest = line[...]
        while let open = rest.firstIndex(of: "[") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "]") {
                let inner = after[..<close]
                if inner.allSatisfy(\.isASCIIDigitCharacter) || inner == "edit" || inner == "citation needed" {
                    rest = after[after.index(after: close)...]
                    continue
                }
            }
            out += "["
            rest = after
        }
        out += rest
        return Substring(out)
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
