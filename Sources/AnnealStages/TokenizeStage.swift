import AnnealPipeline
import AnnealText
import Foundation

/// `tokenize`: trains a byte-level BPE tokenizer (GPT-2 pre-tokenisation, chat-template
/// special tokens) and writes train/validation token shards.
struct TokenizeStage: BuiltinStage {
    struct Parameters: StageParameters {
        var input = FormatParameters()
        var tokenize = TokenizeConfig()

        static var parameters: [Param<Self>] {
            FormatParameters.parameters.map { $0.lifted(\.input) } + [
                Param("vocab_size", \.tokenize.trainer.vocabSize, bounds: .from(257, through: 16_777_216),
                      summary: "256 bytes, the special tokens and the merges"),
                Param("min_frequency", \.tokenize.trainer.minFrequency, bounds: .from(1, through: 2_147_483_647),
                      summary: "pairs seen fewer times are never merged"),
                Param("special_tokens", \.tokenize.trainer.specialTokens),
                Param("validation_share", \.tokenize.validationShare, bounds: .from(0, through: 0.5)),
                Param("max_tokens_per_shard", \.tokenize.maxTokensPerShard, bounds: .from(1, through: 1_099_511_627_776)),
            ]
        }
    }

    static let schema = StageSchema(
        name: "tokenize", version: "1", summary: "Trains a byte-level BPE tokenizer and writes token shards",
        inputs: ["docs"], outputs: ["tokenizer", "shards"], params: Parameters.specs, threads: 2,
        validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        let p = try ctx.parameters(Parameters.self)
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        let report = try Tokenize.run(input: input, format: p.input.documentFormat(for: input),
                                      tokenizerDirectory: URL(fileURLWithPath: try ctx.output("tokenizer")),
                                      shardsDirectory: URL(fileURLWithPath: try ctx.output("shards")), config: p.tokenize)
        // The library's shards.json records timings; the artifact keeps only what is reproducible.
        let shards = try ctx.output("shards") + "/shards.json"
        try writeReport(report, to: shards, paths: [input.path: "docs"])
        ctx.report(metrics: ["vocab_size": Double(report.vocabSize), "train_tokens": Double(report.trainTokens),
                             "validation_tokens": Double(report.validationTokens), "bytes_per_token": report.bytesPerTokenRatio,
                             "train_seconds": report.trainSeconds, "encode_seconds": report.encodeSeconds])
    }
}
