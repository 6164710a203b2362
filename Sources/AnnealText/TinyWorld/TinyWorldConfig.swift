/// Parameters of the TinyWorld generator. The defaults make a world small enough that a
/// ~2M-parameter GPT with a 2,048-token BPE vocabulary sees every fact tens of times in a
/// few CPU minutes (~90k words of corpus), following `research/fact-recall.md`: storage,
/// not extraction, is the limit, so the world is small and each fact is repeated in varied
/// phrasings.
public struct TinyWorldConfig: Sendable, Equatable {
    public var seed: UInt64 = 1234
    public var countries: Int = 40
    public var people: Int = 120
    /// Invented languages and currencies; countries share them, as in the PPO experiment.
    public var languages: Int = 10
    public var currencies: Int = 10
    /// Share of countries and people held out of SFT/prefs/prompts (facts only in prose).
    public var heldOutShare: Double = 0.5
    /// Encyclopedia paragraphs per country and texts (bios and stories) per person; each
    /// states every fact of its subject at least once, most twice in different words.
    public var paragraphsPerCountry: Int = 4
    public var textsPerPerson: Int = 4
    public var arithmeticDocs: Int = 60
    /// Share of the clean corpus made of question-answer text ("Q: ...? A: ..."), about
    /// non-held-out entities only (the "mixed training" of Physics of LMs 3.1).
    public var qaShare: Double = 0.1
    /// Planted noise, as shares of the number of clean documents.
    public var exactDuplicateShare: Double = 0.03
    public var nearDuplicateShare: Double = 0.04
    public var junkShare: Double = 0.06
    /// Share of words changed in a near-duplicate (substituted in one or two clumps).
    public var nearDuplicateChange: Double = 0.02
    /// Chat data sizes.
    public var sftPairs: Int = 1500
    public var preferencePairs: Int = 1500
    public var ppoPrompts: Int = 400
    /// Unsafe requests mixed into chat data and eval, as a share of prompts.
    public var unsafeShare: Double = 0.12

    public init() {}

    public init(seed: UInt64) { self.seed = seed }

    /// Checks ranges so a bad pipeline parameter fails before any file is written.
    public func validate() throws {
        func fail(_ message: String) -> TextError { TextError(.badConfig, "tinyworld: \(message)") }
        if countries < 3 { throw fail("countries must be at least 3 (got \(countries))") }
        if people < 2 { throw fail("people must be at least 2 (got \(people))") }
        if paragraphsPerCountry < 1 || textsPerPerson < 1 {
            throw fail("paragraphs_per_country and texts_per_person must be at least 1")
        }
        for (name, value) in [("held_out_share", heldOutShare), ("qa_share", qaShare),
                              ("exact_duplicate_share", exactDuplicateShare),
                              ("near_duplicate_share", nearDuplicateShare), ("junk_share", junkShare),
                              ("unsafe_share", unsafeShare)] where !(0...0.9).contains(value) {
            throw fail("\(name) must be in 0...0.9 (got \(value))")
        }
        if !(0.005...0.2).contains(nearDuplicateChange) {
            throw fail("near_duplicate_change must be in 0.005...0.2 (got \(nearDuplicateChange))")
        }
        if sftPairs < 0 || preferencePairs < 0 || ppoPrompts < 0 || arithmeticDocs < 0 {
            throw fail("counts must not be negative")
        }
    }
}
