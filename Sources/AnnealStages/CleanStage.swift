import AnnealPipeline
import AnnealText
import Foundation

/// `clean`: normalisation, Gopher quality and repetition rules, C4 line filters, length
/// bounds and optional PII redaction, each switchable; a report of what each rule removed.
struct CleanStage: BuiltinStage {
    static let schema = StageSchema(
        name: "clean", version: "1", summary: "Normalises documents and removes low-quality ones (Gopher, C4 rules)",
        inputs: ["docs"], outputs: ["docs", "report"],
        params: formatParams + [
            ParamSpec("skip", .list, default: .list([]),
                      summary: "rules to switch off: " + CleanRule.allCases.map(\.rawValue).joined(separator: ", ")),
            ParamSpec("pii", .bool, default: .bool(false), summary: "redact emails, phone numbers and IP addresses"),
            ParamSpec("min_words", .int, default: .int(50), range: 0...2_147_483_647),
            ParamSpec("max_words", .int, default: .int(100_000), range: 0...2_147_483_647),
            ParamSpec("min_chars", .int, default: .int(1), range: 0...2_147_483_647),
            ParamSpec("max_chars", .int, default: .int(100_000), range: 0...2_147_483_647),
            ParamSpec("samples_per_rule", .int, default: .int(5), range: 0...1_000_000),
        ], threads: 2, headline: ["documents", "kept", "docs_per_s"])

    static func run(_ ctx: StageContext) throws {
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        var c = CleanConfig()
        for name in ctx.strings("skip") {
            guard let rule = CleanRule(rawValue: name) else {
                throw StageFailure("clean: unknown rule '\(name)' in skip; rules: \(CleanRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.rules.remove(rule)
        }
        if ctx.bool("pii") { c.rules.insert(.pii) }
        c.minWords = ctx.int("min_words")
        c.maxWords = ctx.int("max_words")
        c.minChars = ctx.int("min_chars")
        c.maxChars = ctx.int("max_chars")
        c.samplesPerRule = ctx.int("samples_per_rule")
        let report = try Clean.run(input: input, format: DocumentInput.format(ctx, for: input),
                                   output: URL(fileURLWithPath: try ctx.output("docs") + "/docs.jsonl"), config: c)
        try writeReport(report, to: try ctx.output("report") + "/clean.json", paths: [input.path: "docs"])
        var metrics: [String: Double] = ["documents": Double(report.documents), "kept": Double(report.kept), "removed": Double(report.removed)]
        for (rule, n) in report.removedByRule { metrics["removed_" + rule] = Double(n) }
        if report.seconds > 0 { metrics["docs_per_s"] = Double(report.documents) / report.seconds }
        ctx.report(metrics: metrics)
    }
}
