import Foundation

/// Anneal's own seeded data set: an invented world and every file the tinychat pipeline
/// needs, all derived from `config.seed` (same seed, same bytes).
public struct TinyWorld: Sendable {
    public var config: TinyWorldConfig
    public var world: World
    public var corpus: [CorpusDocument]
    public var manifest: CorpusManifest
    public var sft: [ChatPair]
    public var preferences: [PreferencePair]
    public var prompts: [PolicyPrompt]
    public var eval: [EvalItem]

    public static func generate(_ config: TinyWorldConfig = TinyWorldConfig()) throws -> TinyWorld {
        try config.validate()
        let world = World.generate(config)
        let (corpus, manifest) = makeCorpus(world, config)
        let asker = QuestionMaker(world: world)
        // A stream per file, so changing how one is made (or its size) leaves the others' bytes
        // as they were — the eval set, which pretrain and sft read, above all.
        var sftRNG = SplitMix64(seed: config.seed, stream: 4), prefsRNG = SplitMix64(seed: config.seed, stream: 6)
        var promptsRNG = SplitMix64(seed: config.seed, stream: 7), evalRNG = SplitMix64(seed: config.seed, stream: 8)
        return TinyWorld(
            config: config, world: world, corpus: corpus, manifest: manifest,
            sft: makeSFT(world, asker, config, &sftRNG), preferences: makePreferences(world, asker, config, &prefsRNG),
            prompts: makePrompts(world, asker, config, &promptsRNG), eval: makeEval(world, asker, config, &evalRNG))
    }

    // MARK: Corpus

    static func makeCorpus(_ world: World, _ config: TinyWorldConfig) -> ([CorpusDocument], CorpusManifest) {
        var writer = ProseWriter(world: world, seed: config.seed)
        var good: [String] = []
        for c in world.countries {
            for _ in 0..<config.paragraphsPerCountry { good.append(writer.countryParagraph(c)) }
        }
        for p in world.people {
            for i in 0..<config.textsPerPerson { good.append(i % 2 == 0 ? writer.bio(p) : writer.story(p)) }
        }
        for _ in 0..<config.arithmeticDocs { good.append(writer.arithmetic()) }
        // qaShare is the share of question-answer documents among all good documents.
        let qaCount = Int((Double(good.count) * config.qaShare / (1 - config.qaShare)).rounded())
        var asker = QuestionMaker(world: world)
        for _ in 0..<qaCount { good.append(writer.questionAnswerText(asker: &asker)) }

        var rng = SplitMix64(seed: config.seed, stream: 3)
        rng.shuffle(&good)
        let factWords = Set(World.jobs + World.pets + world.countries.map(\.currency))
        var planter = NoisePlanter(rng: SplitMix64(seed: config.seed, stream: 5), protected: factWords)
        // (text, kind, junk kind, index of the good source)
        var docs: [(String, String, String?, Int?)] = good.map { ($0, "good", nil, nil) }
        let exactCount = Int((Double(good.count) * config.exactDuplicateShare).rounded())
        let nearCount = Int((Double(good.count) * config.nearDuplicateShare).rounded())
        let sources = rng.sample(min(good.count, exactCount + nearCount), from: good.count)
        for (i, source) in sources.enumerated() {
            if i < exactCount {
                docs.append((planter.exactCopy(good[source]), "exact_duplicate", nil, source))
            } else {
                docs.append((planter.nearCopy(good[source], share: config.nearDuplicateChange), "near_duplicate", nil, source))
            }
        }
        let junkCount = Int((Double(good.count) * config.junkShare).rounded())
        for i in 0..<junkCount {
            // Too-long documents are 120 KB each: at most two, the rest cycle the other kinds.
            var kind = NoisePlanter.junkKinds[i % NoisePlanter.junkKinds.count]
            if kind == "too_long" && i >= 2 * NoisePlanter.junkKinds.count { kind = "markup" }
            docs.append((planter.junk(kind) { writer.countryParagraph(rng.pick(world.countries)) }, "junk", kind, nil))
        }

        var order = Array(docs.indices)
        rng.shuffle(&order)
        var idOf = [Int: String]()
        for (position, index) in order.enumerated() { idOf[index] = String(format: "tw-%05d", position + 1) }
        var corpus: [CorpusDocument] = []
        var entries: [CorpusManifest.Entry] = []
        for index in order {
            let (text, kind, junk, source) = docs[index]
            let id = idOf[index]!
            corpus.append(CorpusDocument(id: id, text: text))
            var jaccard: Double? = nil
            if kind == "near_duplicate", let source {
                jaccard = (Shingles.jaccard(good[source], text, n: 5) * 1000).rounded() / 1000
            }
            entries.append(.init(id: id, kind: kind, junk: junk, source: source.map { idOf[$0]! }, jaccard: jaccard))
        }
        return (corpus, CorpusManifest(documents: entries))
    }
}
