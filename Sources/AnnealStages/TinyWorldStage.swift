import AnnealPipeline
import AnnealText
import Foundation

/// `synth/tinyworld`: Anneal's own seeded data set, a small invented world written as
/// encyclopedia prose and stories with planted noise, plus chat, preference, prompt and
/// evaluation data about the same world.
struct TinyWorldStage: BuiltinStage {
    struct Parameters: StageParameters {
        var world = TinyWorldConfig()

        static var parameters: [Param<Self>] {
            let share = ParamBounds.from(0, through: 0.9)
            return [
                Param("countries", \.world.countries, bounds: .from(3, through: 10_000)),
                Param("people", \.world.people, bounds: .from(2, through: 1_000_000)),
                Param("languages", \.world.languages, bounds: .from(2, through: 10_000)),
                Param("currencies", \.world.currencies, bounds: .from(2, through: 10_000)),
                Param("held_out_share", \.world.heldOutShare, bounds: share, summary: "share of entities whose facts appear only in the corpus"),
                Param("paragraphs_per_country", \.world.paragraphsPerCountry, bounds: .from(1, through: 1_000)),
                Param("texts_per_person", \.world.textsPerPerson, bounds: .from(1, through: 1_000)),
                Param("arithmetic_docs", \.world.arithmeticDocs, bounds: .from(0, through: 10_000_000)),
                Param("qa_share", \.world.qaShare, bounds: share, summary: "share of question-answer text in the corpus"),
                Param("exact_duplicate_share", \.world.exactDuplicateShare, bounds: share),
                Param("near_duplicate_share", \.world.nearDuplicateShare, bounds: share),
                Param("junk_share", \.world.junkShare, bounds: share),
                Param("near_duplicate_change", \.world.nearDuplicateChange, bounds: .from(0.005, through: 0.2)),
                Param("sft_pairs", \.world.sftPairs, bounds: .from(0, through: 10_000_000)),
                Param("preference_pairs", \.world.preferencePairs, bounds: .from(0, through: 10_000_000)),
                Param("ppo_prompts", \.world.ppoPrompts, bounds: .from(0, through: 10_000_000)),
                Param("unsafe_share", \.world.unsafeShare, bounds: share),
            ]
        }
    }

    static let schema = StageSchema(
        name: "synth/tinyworld", version: "10", summary: "Generates the TinyWorld corpus, chat data, preferences, prompts, eval and truth",
        inputs: [], outputs: ["corpus", "sft", "prefs", "prompts", "eval", "truth"], params: Parameters.specs,
        validate: Parameters.validator)

    static func run(_ ctx: StageContext) throws {
        var c = try ctx.parameters(Parameters.self).world
        c.seed = UInt64(bitPattern: Int64(ctx.seed))
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
