import AnnealPipeline
import AnnealText
import Foundation

/// `tokenize`: trains a byte-level BPE tokenizer (GPT-2 pre-tokenisation, chat-template
/// special tokens) and writes train/validation token shards.
struct TokenizeStage: BuiltinStage {
    static let schema = StageSchema(
        name: "tokenize", version: "1", summary: "Trains a byte-level BPE tokenizer and writes token shards",
        inputs: ["docs"], outputs: ["tokenizer", "shards"],
        params: formatParams + [
            ParamSpec("vocab_size", .int, default: .int(4096), range: 256...16_777_216),
            ParamSpec("min_frequency", .int, default: .int(2), summary: "pairs seen fewer times are never merged", range: 0...2_147_483_647),
            ParamSpec("special_tokens", .list, default: .list(ChatTemplate.specialTokens.map(Value.string))),
            ParamSpec("validation_share", .float, default: .double(0.05), range: 0...0.5),
            ParamSpec("max_tokens_per_shard", .int, default: .int(50_000_000), range: 1...1_099_511_627_776),
        ], threads: 2)

    static func run(_ ctx: StageContext) throws {
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        var c = TokenizeConfig()
        c.trainer = BPETrainerConfig(vocabSize: ctx.int("vocab_size"), minFrequency: ctx.int("min_frequency"),
                                     specialTokens: ctx.strings("special_tokens"))
        c.validationShare = ctx.double("validation_share")
        c.maxTokensPerShard = ctx.int("max_tokens_per_shard")
        let report = try Tokenize.run(input: input, format: DocumentInput.format(ctx, for: input),
                                      tokenizerDirectory: URL(fileURLWithPath: try ctx.output("tokenizer")),
                                      shardsDirectory: URL(fileURLWithPath: try ctx.output("shards")), config: c)
        // The library's shards.json records timings; the artifact keeps only what is reproducible.
        let shards = try ctx.output("shards") + "/shards.json"
        try writeReport(report, to: shards, paths: [input.path: "docs"])
        ctx.report(metrics: ["vocab_size": Double(report.vocabSize), "train_tokens": Double(report.trainTokens),
                             "validation_tokens": Double(report.validationTokens), "bytes_per_token": report.bytesPerTokenRatio,
                             "train_seconds": report.trainSeconds, "encode_seconds": report.encodeSeconds])
    }
}
