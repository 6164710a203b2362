/// The checks `clean` can run, each switchable by name (`skip: [gopher_stop_words]`).
/// Transforms (`normalize`, `pii`, `c4_lines`) change a document; filters remove it, and
/// the first filter that fails is the one the report counts.
public enum CleanRule: String, CaseIterable, Codable, Sendable {
    case normalize              // NFKC, control characters, whitespace
    case pii                    // redact emails, phone numbers, IP addresses (off by default)
    case length                 // character bounds
    case gopherDuplicateLines = "gopher_dup_lines"
    case gopherDuplicateParagraphs = "gopher_dup_paragraphs"
    case gopherTopNGrams = "gopher_top_ngrams"
    case gopherDuplicateNGrams = "gopher_dup_ngrams"
    case gopherWordCount = "gopher_word_count"
    case gopherMeanWordLength = "gopher_mean_word_length"
    case gopherSymbols = "gopher_symbols"
    case gopherBullets = "gopher_bullets"
    case gopherEllipsis = "gopher_ellipsis"
    case gopherAlphabetic = "gopher_alphabetic"
    case gopherStopWords = "gopher_stop_words"
    case c4Lines = "c4_lines"   // drop lines without end punctuation, < 3 words, javascript, policy text
    case c4LoremIpsum = "c4_lorem_ipsum"
    case c4CurlyBracket = "c4_curly_bracket"
    case c4Sentences = "c4_sentences"
}

/// Thresholds: datatrove's defaults (GopherQualityFilter, GopherRepetitionFilter,
/// C4QualityFilter) unless noted. Every ratio rejects when it is *above* the maximum (or
/// below the minimum), as datatrove compares.
///
/// How a word is counted: a word is a maximal run of non-whitespace characters. Words with
/// no letter and no digit ("-", "###", "...") are symbol words: they are left out of the
/// word count and the mean word length, but count in the alphabetic ratio's denominator.
/// Lengths are in Unicode scalars, punctuation included ("end." has 4), as datatrove
/// measures its tokens; stop words are matched lower-cased with punctuation trimmed, and
/// every occurrence counts. datatrove instead counts spaCy tokens, where every punctuation mark is a token; on
/// punctuation-heavy prose its alphabetic-word rule then rejects far more documents (about
/// half of a mixed corpus disagreed, `research/data.md`). Whitespace words are the Gopher
/// paper's own unit and are stable across languages and library versions.
public struct CleanConfig: Sendable, Equatable {
    public var rules: Set<CleanRule> = Set(CleanRule.allCases).subtracting([.pii])

    // Length bounds (Anneal's own; a 100 KB document is usually a dump or a log).
    public var minChars = 1
    public var maxChars = 100_000

    // Gopher quality.
    public var minWords = 50
    public var maxWords = 100_000
    public var minMeanWordLength = 3.0
    public var maxMeanWordLength = 10.0
    public var maxSymbolWordRatio = 0.1        // "#" and "..."/"…" per word
    public var maxBulletLinesRatio = 0.9
    public var maxEllipsisLinesRatio = 0.3
    public var minAlphabeticWordRatio = 0.8
    public var minStopWords = 2
    public var stopWords = ["the", "be", "to", "of", "and", "that", "have", "with"]

    // Gopher repetition.
    public var maxDuplicateLineRatio = 0.3
    public var maxDuplicateLineCharRatio = 0.2
    public var maxDuplicateParagraphRatio = 0.3
    public var maxDuplicateParagraphCharRatio = 0.2
    /// (n, maximum share of characters covered by the most frequent n-gram)
    public var topNGrams: [NGramLimit] = [.init(n: 2, max: 0.20), .init(n: 3, max: 0.18), .init(n: 4, max: 0.16)]
    /// (n, maximum share of characters in repeated n-grams)
    public var duplicateNGrams: [NGramLimit] = [.init(n: 5, max: 0.15), .init(n: 6, max: 0.14), .init(n: 7, max: 0.13),
                                                .init(n: 8, max: 0.12), .init(n: 9, max: 0.11), .init(n: 10, max: 0.10)]

    // C4.
    public var c4MinWordsPerLine = 3
    public var c4MaxWordLength = 1000
    public var c4MinSentences = 5

    /// Removed documents kept per rule in the report.
    public var samplesPerRule = 5

    public struct NGramLimit: Codable, Sendable, Equatable {
        public var n: Int
        public var max: Double
        public init(n: Int, max: Double) { self.n = n; self.max = max }
    }

    public init() {}

    public func isOn(_ rule: CleanRule) -> Bool { rules.contains(rule) }

    /// Turns rules off by name; unknown names are an error with the list of valid ones.
    public mutating func skip(_ names: [String]) throws {
        for name in names {
            guard let rule = CleanRule(rawValue: name) else {
                let valid = CleanRule.allCases.map(\.rawValue).joined(separator: ", ")
                throw TextError(.badConfig, "clean: unknown rule '\(name)' (rules: \(valid))")
            }
            rules.remove(rule)
        }
    }
}
