/// Decoding of stage parameters. Synthesized `Decodable` demands every key; a pipeline's
/// `with:` gives only the keys it changes, so each config decodes with its defaults for
/// missing keys. Stage wrappers can turn `with:` into JSON and decode it with
/// `keyDecodingStrategy = .convertFromSnakeCase` (`min_words` → `minWords`).
extension KeyedDecodingContainer {
    func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

extension TinyWorldConfig {
    enum CodingKeys: String, CodingKey {
        case seed, countries, people, languages, currencies, heldOutShare, paragraphsPerCountry, textsPerPerson
        case arithmeticDocs, qaShare, exactDuplicateShare, nearDuplicateShare, junkShare, nearDuplicateChange
        case sftPairs, preferencePairs, ppoPrompts, unsafeShare
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TinyWorldConfig()
        self.init()
        seed = try c.value(.seed, or: d.seed)
        countries = try c.value(.countries, or: d.countries)
        people = try c.value(.people, or: d.people)
        languages = try c.value(.languages, or: d.languages)
        currencies = try c.value(.currencies, or: d.currencies)
        heldOutShare = try c.value(.heldOutShare, or: d.heldOutShare)
        paragraphsPerCountry = try c.value(.paragraphsPerCountry, or: d.paragraphsPerCountry)
        textsPerPerson = try c.value(.textsPerPerson, or: d.textsPerPerson)
        arithmeticDocs = try c.value(.arithmeticDocs, or: d.arithmeticDocs)
        qaShare = try c.value(.qaShare, or: d.qaShare)
        exactDuplicateShare = try c.value(.exactDuplicateShare, or: d.exactDuplicateShare)
        nearDuplicateShare = try c.value(.nearDuplicateShare, or: d.nearDuplicateShare)
        junkShare = try c.value(.junkShare, or: d.junkShare)
        nearDuplicateChange = try c.value(.nearDuplicateChange, or: d.nearDuplicateChange)
        sftPairs = try c.value(.sftPairs, or: d.sftPairs)
        preferencePairs = try c.value(.preferencePairs, or: d.preferencePairs)
        ppoPrompts = try c.value(.ppoPrompts, or: d.ppoPrompts)
        unsafeShare = try c.value(.unsafeShare, or: d.unsafeShare)
    }
}

extension DedupConfig {
    enum CodingKeys: String, CodingKey {
        case exact, near, threshold, ngram, permutations, seed, lsh, falseNegativeWeight, verify
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DedupConfig()
        self.init()
        exact = try c.value(.exact, or: d.exact)
        near = try c.value(.near, or: d.near)
        threshold = try c.value(.threshold, or: d.threshold)
        ngram = try c.value(.ngram, or: d.ngram)
        permutations = try c.value(.permutations, or: d.permutations)
        seed = try c.value(.seed, or: d.seed)
        lsh = try c.decodeIfPresent(LSHParameters.self, forKey: .lsh)
        falseNegativeWeight = try c.value(.falseNegativeWeight, or: d.falseNegativeWeight)
        verify = try c.value(.verify, or: d.verify)
    }
}

extension BPETrainerConfig {
    enum CodingKeys: String, CodingKey { case vocabSize, minFrequency, specialTokens }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BPETrainerConfig()
        self.init()
        vocabSize = try c.value(.vocabSize, or: d.vocabSize)
        minFrequency = try c.value(.minFrequency, or: d.minFrequency)
        specialTokens = try c.value(.specialTokens, or: d.specialTokens)
    }
}

extension TokenizeConfig {
    /// The trainer's keys sit at the top level too (`vocab_size`, `min_frequency`,
    /// `special_tokens`), as a pipeline writes them.
    enum CodingKeys: String, CodingKey {
        case trainer, validationShare, maxTokensPerShard, vocabSize, minFrequency, specialTokens
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TokenizeConfig()
        self.init()
        trainer = try c.value(.trainer, or: d.trainer)
        trainer.vocabSize = try c.value(.vocabSize, or: trainer.vocabSize)
        trainer.minFrequency = try c.value(.minFrequency, or: trainer.minFrequency)
        trainer.specialTokens = try c.value(.specialTokens, or: trainer.specialTokens)
        validationShare = try c.value(.validationShare, or: d.validationShare)
        maxTokensPerShard = try c.value(.maxTokensPerShard, or: d.maxTokensPerShard)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(trainer, forKey: .trainer)
        try c.encode(validationShare, forKey: .validationShare)
        try c.encode(maxTokensPerShard, forKey: .maxTokensPerShard)
    }
}
