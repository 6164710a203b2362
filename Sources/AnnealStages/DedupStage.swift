import AnnealPipeline
import AnnealText
import Foundation

/// `dedup`: exact duplicates by normalised-text hash, near duplicates by MinHash over word
/// n-grams with LSH; keeps one document per cluster, byte for byte with all its fields.
struct DedupStage: BuiltinStage {
    static let schema = StageSchema(
        name: "dedup", version: "1", summary: "Removes exact and near-duplicate documents (MinHash LSH)",
        inputs: ["docs"], outputs: ["docs", "report"],
        params: formatParams + [
            ParamSpec("threshold", .float, default: .double(0.7), summary: "Jaccard similarity above which documents are duplicates", range: 0.05...1),
            ParamSpec("ngram", .int, default: .int(5), summary: "words per shingle", range: 1...1_000),
            ParamSpec("permutations", .int, default: .int(128), range: 1...1_024),
            ParamSpec("exact", .bool, default: .bool(true)),
            ParamSpec("near", .bool, default: .bool(true)),
        ], threads: 2, headline: ["documents", "kept", "near_duplicates"])

    static func run(_ ctx: StageContext) throws {
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        var c = DedupConfig()
        c.threshold = ctx.double("threshold")
        c.ngram = ctx.int("ngram")
        c.permutations = ctx.int("permutations")
        c.exact = ctx.bool("exact")
        c.near = ctx.bool("near")
        c.seed = UInt64(bitPattern: Int64(ctx.seed))
        let report = try Dedup.run(input: input, format: DocumentInput.format(ctx, for: input),
                                   output: URL(fileURLWithPath: try ctx.output("docs") + "/docs.jsonl"), config: c)
        try writeReport(report, to: try ctx.output("report") + "/dedup.json", paths: [input.path: "docs"])
        ctx.report(metrics: ["documents": Double(report.documents), "kept": Double(report.kept),
                             "exact_duplicates": Double(report.exactDuplicates), "near_duplicates": Double(report.nearDuplicates),
                             "clusters": Double(report.clusters), "seconds": report.seconds])
    }
}
