import AnnealPipeline
import AnnealText
import Foundation

/// `dedup`: exact duplicates by normalised-text hash, near duplicates by MinHash over word
/// n-grams with LSH; keeps one document per cluster, byte for byte with all its fields.
struct DedupStage: BuiltinStage {
    struct Parameters: StageParameters {
        var input = FormatParameters()
        var dedup = DedupConfig()

        static var parameters: [Param<Self>] {
            FormatParameters.parameters.map { $0.lifted(\.input) } + [
                Param("threshold", \.dedup.threshold, bounds: .from(0.05, through: 1),
                      summary: "Jaccard similarity above which documents are duplicates"),
                Param("ngram", \.dedup.ngram, bounds: .from(1, through: 1_000), summary: "words per shingle"),
                Param("permutations", \.dedup.permutations, bounds: .from(1, through: 1_024)),
                Param("exact", \.dedup.exact),
                Param("near", \.dedup.near),
            ]
        }
    }

    static let schema = StageSchema(
        name: "dedup", version: "1", summary: "Removes exact and near-duplicate documents (MinHash LSH)",
        inputs: ["docs"], outputs: ["docs", "report"], params: Parameters.specs, threads: 2,
        headline: ["documents", "kept", "near_duplicates"], validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        let p = try ctx.parameters(Parameters.self)
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        var c = p.dedup
        c.seed = UInt64(bitPattern: Int64(ctx.seed))
        let report = try Dedup.run(input: input, format: p.input.documentFormat(for: input),
                                   output: URL(fileURLWithPath: try ctx.output("docs") + "/docs.jsonl"), config: c)
        try writeReport(report, to: try ctx.output("report") + "/dedup.json", paths: [input.path: "docs"])
        ctx.report(metrics: ["documents": Double(report.documents), "kept": Double(report.kept),
                             "exact_duplicates": Double(report.exactDuplicates), "near_duplicates": Double(report.nearDuplicates),
                             "clusters": Double(report.clusters), "seconds": report.seconds])
    }
}
