import Foundation
import Testing
@testable import AnnealText

/// Stage parameters arrive as a pipeline's `with:` mapping: only some keys, in snake case.
@Suite struct ConfigTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(json.utf8))
    }

    @Test func missingKeysKeepTheirDefaults() throws {
        let world = try decode(TinyWorldConfig.self, #"{"countries": 12, "qa_share": 0.2, "seed": 9}"#)
        var expected = TinyWorldConfig(seed: 9)
        expected.countries = 12
        expected.qaShare = 0.2
        #expect(world == expected)
        let dedup = try decode(DedupConfig.self, #"{"threshold": 0.8}"#)
        #expect(dedup.threshold == 0.8 && dedup.ngram == 5 && dedup.resolvedLSH == LSHParameters.optimal(threshold: 0.8, permutations: 128))
        let tokenize = try decode(TokenizeConfig.self, #"{"vocab_size": 2048, "validation_share": 0.1}"#)
        #expect(tokenize.trainer.vocabSize == 2048 && tokenize.trainer.minFrequency == 2 && tokenize.validationShare == 0.1)
    }

    @Test func cleanTakesSkipAndPII() throws {
        let clean = try decode(CleanConfig.self, #"{"min_words": 3, "skip": ["c4_sentences"], "pii": true}"#)
        #expect(clean.minWords == 3 && !clean.isOn(.c4Sentences) && clean.isOn(.pii) && clean.isOn(.gopherStopWords))
        #expect(throws: DecodingError.self) { try decode(CleanConfig.self, #"{"skip": ["c4_sentence"]}"#) }
        // Round trip through the encoder.
        let data = try JSONEncoder().encode(clean)
        #expect(try JSONDecoder().decode(CleanConfig.self, from: data) == clean)
    }
}
