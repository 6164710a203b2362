import AnnealPipeline
import AnnealText
import Foundation

/// `clean`: normalisation, Gopher quality and repetition rules, C4 line filters, length
/// bounds and optional PII redaction, each switchable; a report of what each rule removed.
struct CleanStage: BuiltinStage {
    struct Parameters: StageParameters {
        var input = FormatParameters()
        var skip: [String] = []
        var pii = false
        var clean = CleanConfig()

        static var parameters: [Param<Self>] {
            FormatParameters.parameters.map { $0.lifted(\.input) } + [
                Param("skip", \.skip, allowed: CleanRule.allCases.map(\.rawValue),
                      summary: "rules to switch off: " + CleanRule.allCases.map(\.rawValue).joined(separator: ", ")),
                Param("pii", \.pii, summary: "redact emails, phone numbers and IP addresses"),
                Param("min_words", \.clean.minWords, bounds: .from(0, through: 2_147_483_647)),
                Param("max_words", \.clean.maxWords, bounds: .from(1, through: 2_147_483_647)),
                Param("min_chars", \.clean.minChars, bounds: .from(0, through: 2_147_483_647)),
                Param("max_chars", \.clean.maxChars, bounds: .from(1, through: 2_147_483_647)),
                Param("samples_per_rule", \.clean.samplesPerRule, bounds: .from(0, through: 1_000_000)),
            ]
        }
    }

    static let schema = StageSchema(
        name: "clean", version: "1", summary: "Normalises documents and removes low-quality ones (Gopher, C4 rules)",
        inputs: ["docs"], outputs: ["docs", "report"], params: Parameters.specs, threads: 2,
        headline: ["documents", "kept", "docs_per_s"], validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        let p = try ctx.parameters(Parameters.self)
        let input = try DocumentInput.file(try ctx.input("docs"), input: "docs")
        var c = p.clean
        for name in p.skip {
            guard let rule = CleanRule(rawValue: name) else {
                throw StageFailure("clean: unknown rule '\(name)' in skip; rules: \(CleanRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.rules.remove(rule)
        }
        if p.pii { c.rules.insert(.pii) }
        let report = try Clean.run(input: input, format: p.input.documentFormat(for: input),
                                   output: URL(fileURLWithPath: try ctx.output("docs") + "/docs.jsonl"), config: c)
        try writeReport(report, to: try ctx.output("report") + "/clean.json", paths: [input.path: "docs"])
        var metrics: [String: Double] = ["documents": Double(report.documents), "kept": Double(report.kept), "removed": Double(report.removed)]
        for (rule, n) in report.removedByRule { metrics["removed_" + rule] = Double(n) }
        if report.seconds > 0 { metrics["docs_per_s"] = Double(report.documents) / report.seconds }
        ctx.report(metrics: metrics)
    }
}
