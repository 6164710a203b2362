import AnnealPipeline
import AnnealText
import Foundation

/// `synth/tinyworld`: Anneal's own seeded data set, a small invented world written as
/// encyclopedia prose and stories with planted noise, plus chat, preference, prompt and
/// evaluation data about the same world.
struct TinyWorldStage: BuiltinStage {
    static let schema = StageSchema(
        name: "synth/tinyworld", version: "2", summary: "Generates the TinyWorld corpus, chat data, preferences, prompts, eval and truth",
        inputs: [], outputs: ["corpus", "sft", "prefs", "prompts", "eval", "truth"],
        params: [
            ParamSpec("countries", .int, default: .int(40), range: 3...10_000),
            ParamSpec("people", .int, default: .int(120), range: 2...1_000_000),
            ParamSpec("languages", .int, default: .int(10), range: 1...10_000),
            ParamSpec("currencies", .int, default: .int(10), range: 1...10_000),
            ParamSpec("held_out_share", .float, default: .double(0.5), summary: "share of entities whose facts appear only in the corpus", range: 0...0.9),
            ParamSpec("paragraphs_per_country", .int, default: .int(4), range: 1...1_000),
            ParamSpec("texts_per_person", .int, default: .int(4), range: 1...1_000),
            ParamSpec("arithmetic_docs", .int, default: .int(60), range: 0...10_000_000),
            ParamSpec("qa_share", .float, default: .double(0.1), summary: "share of question-answer text in the corpus", range: 0...0.9),
            ParamSpec("exact_duplicate_share", .float, default: .double(0.03), range: 0...0.9),
            ParamSpec("near_duplicate_share", .float, default: .double(0.04), range: 0...0.9),
            ParamSpec("junk_share", .float, default: .double(0.06), range: 0...0.9),
            ParamSpec("near_duplicate_change", .float, default: .double(0.02), range: 0.005...0.2),
            ParamSpec("sft_pairs", .int, default: .int(1500), range: 0...10_000_000),
            ParamSpec("preference_pairs", .int, default: .int(1500), range: 0...10_000_000),
            ParamSpec("ppo_prompts", .int, default: .int(400), range: 0...10_000_000),
            ParamSpec("unsafe_share", .float, default: .double(0.12), range: 0...0.9),
        ])

    static func run(_ ctx: StageContext) throws {
        var c = TinyWorldConfig(seed: UInt64(bitPattern: Int64(ctx.seed)))
        c.countries = ctx.int("countries")
        c.people = ctx.int("people")
        c.languages = ctx.int("languages")
        c.currencies = ctx.int("currencies")
        c.heldOutShare = ctx.double("held_out_share")
        c.paragraphsPerCountry = ctx.int("paragraphs_per_country")
        c.textsPerPerson = ctx.int("texts_per_person")
        c.arithmeticDocs = ctx.int("arithmetic_docs")
        c.qaShare = ctx.double("qa_share")
        c.exactDuplicateShare = ctx.double("exact_duplicate_share")
        c.nearDuplicateShare = ctx.double("near_duplicate_share")
        c.junkShare = ctx.double("junk_share")
        c.nearDuplicateChange = ctx.double("near_duplicate_change")
        c.sftPairs = ctx.int("sft_pairs")
        c.preferencePairs = ctx.int("preference_pairs")
        c.ppoPrompts = ctx.int("ppo_prompts")
        c.unsafeShare = ctx.double("unsafe_share")
        try c.validate()
        let corpusDir = URL(fileURLWithPath: try ctx.output("corpus"))
        let files = try TinyWorld.write(to: corpusDir, config: c)
        // Everything is written next to the corpus, then each file moves to its own output,
        // so downstream stages depend only on what they read.
        func move(_ url: URL, to output: String, as name: String) throws {
            try FileManager.default.moveItem(at: url, to: URL(fileURLWithPath: try ctx.output(output)).appendingPathComponent(name))
        }
        try FileManager.default.moveItem(at: files.corpus, to: corpusDir.appendingPathComponent("docs.jsonl"))
        try move(files.sft, to: "sft", as: "sft.jsonl")
        try move(files.prefs, to: "prefs", as: "prefs.jsonl")
        try move(files.prompts, to: "prompts", as: "prompts.jsonl")
        try move(files.eval, to: "eval", as: "eval.jsonl")
        try move(files.truth, to: "truth", as: "truth.json")
        let docs = (try? String(contentsOf: corpusDir.appendingPathComponent("docs.jsonl"), encoding: .utf8))?.split(separator: "\n").count ?? 0
        ctx.report(metrics: ["documents": Double(docs), "countries": Double(c.countries), "people": Double(c.people)])
    }
}
