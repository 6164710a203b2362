/// A corpus line: `{"id": ..., "text": ...}`.
public struct CorpusDocument: Codable, Sendable, Equatable {
    public var id: String
    public var text: String

    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// What the generator planted in the corpus, so tests and reports can score `clean` and
/// `dedup` against the truth (`manifest.json`).
public struct CorpusManifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        /// `good`, `exact_duplicate`, `near_duplicate` or `junk`.
        public var kind: String
        /// For junk: `markup`, `symbols`, `repeated_lines`, `too_short`, `too_long`.
        public var junk: String?
        /// For duplicates: the id of the good document copied.
        public var source: String?
        /// For near duplicates: the true Jaccard of word 5-gram sets with the source
        /// (normalised as `dedup` does).
        public var jaccard: Double?
    }
    public var documents: [Entry]

    public func ids(kind: String) -> [String] { documents.filter { $0.kind == kind }.map(\.id) }

    /// (source, copy) pairs of the given duplicate kind.
    public func pairs(kind: String) -> [(String, String)] {
        documents.compactMap { e in e.kind == kind ? e.source.map { ($0, e.id) } : nil }
    }
}

/// Plants duplicates and junk among good documents. Kept apart from the prose so the noise
/// recipes are readable in one place.
struct NoisePlanter {
    var rng: SplitMix64
    /// Words that carry facts (jobs, pets, currencies); with numbers and capitalised names
    /// they are never substituted, so a near duplicate never states a false fact and
    /// whichever copy dedup keeps teaches the same world.
    var protected: Set<String>
    static let replacementWords = [
        "river", "house", "green", "small", "quiet", "bread", "window", "evening", "stone",
        "garden", "yellow", "winter", "letter", "basket", "candle", "meadow", "silver", "ladder",
    ]

    /// Copies with only whitespace changed, so normalised text is identical.
    mutating func exactCopy(_ text: String) -> String {
        switch rng.below(3) {
        case 0: return text
        case 1: return text + "\n"
        default: return text.replacingOccurrences(of: ". ", with: ".  ")
        }
    }

    /// Substitutes `share` of the words in one or two clumps, keeping punctuation and
    /// capitals, never touching paragraph breaks.
    mutating func nearCopy(_ text: String, share: Double) -> String {
        var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let target = max(1, Int((Double(words.count) * share).rounded()))
        let clumps = min(target, rng.int(in: 1...2))
        var changed = 0
        for clump in 0..<clumps {
            let size = clump == clumps - 1 ? target - changed : target / clumps
            var start = rng.below(max(1, words.count - size))
            var left = size
            while left > 0 && start < words.count {
                let word = words[start]
                if !word.contains("\n"), let replaced = substitute(word) {
                    words[start] = replaced
                    left -= 1
                    changed += 1
                }
                start += 1
            }
        }
        return words.joined(separator: " ")
    }

    private mutating func substitute(_ word: String) -> String? {
        let core = word.prefix { $0.isLetter }
        let rest = word.dropFirst(core.count)
        guard let first = core.first, first.isLowercase, rest.allSatisfy(\.isPunctuation),
              !protected.contains(String(core)) else { return nil }
        var replacement = rng.pick(Self.replacementWords)
        while replacement == core.lowercased() { replacement = rng.pick(Self.replacementWords) }
        return replacement + word.dropFirst(core.count)
    }

    static let junkKinds = ["markup", "symbols", "repeated_lines", "too_short", "too_long"]

    /// One junk document of `kind`. Each kind is caught by a standard rule: markup by C4's
    /// curly-bracket and javascript rules, symbols by Gopher's symbol and alphabetic ratios,
    /// repeated lines by Gopher repetition, too short by the word minimum, too long by the
    /// length bound.
    mutating func junk(_ kind: String, filler: () -> String) -> String {
        switch kind {
        case "markup":
            let title = rng.pick(["Home", "News", "Shop", "Login", "Contact"])
            return """
            <html><head><title>\(title)</title><style>body { margin: 0; font-family: sans-serif }</style></head>
            <body><div class="nav"><a href="/">Home</a> | <a href="/about">About</a> | <a href="/shop">Shop</a></div>
            <script type="text/javascript">var cart = {items: [], total: \(rng.below(100))};</script>
            <p>\(filler().replacingOccurrences(of: "\n", with: " "))</p></body></html>
            """
        case "symbols":
            let symbols = Array("#$%&*@!~^+=|<>")
            return (0..<rng.int(in: 40...120)).map { _ in
                String((0..<rng.int(in: 1...6)).map { _ in rng.pick(symbols) })
            }.joined(separator: " ")
        case "repeated_lines":
            let line = rng.pick(["Click here to subscribe to our newsletter for the latest updates.",
                                 "Buy now and save on every order over ten coins today.",
                                 "This page has been moved to a new address for our visitors."])
            return Array(repeating: line, count: rng.int(in: 12...30)).joined(separator: "\n")
        case "too_short":
            return rng.pick(["Nice.", "See the next page.", "Read more here.", "Thanks for reading this short note."])
        case "too_long":
            var text = ""
            while text.utf8.count < 120_000 { text += filler() + "\n\n" }
            return text
        default:
            preconditionFailure("unknown junk kind \(kind)")
        }
    }
}
