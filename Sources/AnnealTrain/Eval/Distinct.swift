/// distinct-n (Li et al. 2016): distinct n-grams over all n-grams of a set of answers,
/// n-grams taken within each answer and pooled across them. Mode collapse after RLHF shows
/// as a fall: the same few answers repeated give the same n-grams again.
///
/// Words, not BPE tokens, so the figure compares across tokenizers: lower-cased runs of
/// letters and digits (punctuation dropped), the words `EvalJudge` matches on.
public enum Distinct {
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Nil when the answers hold no n-gram at all (every answer shorter than n words).
    public static func ratio(_ answers: [String], n: Int) -> Double? {
        precondition(n >= 1, "distinct-n needs n ≥ 1")
        var seen = Set<[String]>()
        var total = 0
        for answer in answers {
            let w = words(answer)
            guard w.count >= n else { continue }
            for start in 0...(w.count - n) {
                seen.insert(Array(w[start..<(start + n)]))
                total += 1
            }
        }
        return total == 0 ? nil : Double(seen.count) / Double(total)
    }
}
