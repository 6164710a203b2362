import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `eval`: several models side by side on TinyWorld's eval set (or a JSONL of question/answer
/// pairs), each suite a real measurement: perplexity, truth, retention, pairwise win rates by the
/// reward model and by a gold judge, safety, diversity and KL to a reference — judged on greedy
/// answers, and with the sampled suite again on one sampled answer per item. Writes
/// `report/metrics.json`, `report/summary.md` and `report/examples.jsonl`, and reports every
/// figure as a stage metric (`truth_accuracy.sft`, `win_rate.ppo_vs_sft`, ...).
struct EvalStage: BuiltinStage {
    static let suites = ["perplexity", "truth", "retention", "winrate", "safety", "diversity", "kl", "sampled"]

    struct Parameters: StageParameters {
        var suites = EvalStage.suites
        var pairs: [String] = []
        var baseline = "pretrain"
        var reference = ""
        var maxTokens = 64
        var temperature = 0.0
        var batchSize = 32
        var samples = 4
        var samplePrompts = 100
        var sampleTemperature = 1.0
        var perplexityWindows = 64
        var blockSize = 128

        static var parameters: [Param<Self>] {
            [
                Param("suites", \.suites, allowed: EvalStage.suites, summary: "what to measure"),
                Param("pairs", \.pairs, summary: "comparisons A_vs_B of listed models (default: each model vs baseline)"),
                Param("baseline", \.baseline, summary: "the pretrained model: retention is measured against it"),
                Param("reference", \.reference, summary: "model that kl.MODEL is measured against (\"\": no kl)"),
                Param("max_tokens", \.maxTokens, bounds: .atLeast(1), summary: "longest answer; longer ones count as truncated"),
                Param("temperature", \.temperature, bounds: .atLeast(0), summary: "of the judged answers (0 = greedy)"),
                Param("batch_size", \.batchSize, bounds: .atLeast(1), summary: "prompts decoded together"),
                Param("samples", \.samples, bounds: .atLeast(1), summary: "sampled answers per prompt for diversity and kl"),
                Param("sample_prompts", \.samplePrompts, bounds: .atLeast(1), summary: "prompts sampled for diversity and kl, spread over the eval set"),
                Param("sample_temperature", \.sampleTemperature, bounds: .greaterThan(0),
                      summary: "of the sampled answers (diversity, kl, and the sampled suite's one answer per item)"),
                Param("perplexity_windows", \.perplexityWindows, bounds: .atLeast(1), summary: "held-out text windows for perplexity"),
                Param("block_size", \.blockSize, bounds: .atLeast(2), summary: "tokens per perplexity window (at most the context)"),
            ]
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            var out: [ParamProblem] = []
            for pair in p.pairs where EvalReport.pair(pair) == nil {
                out.append(ParamProblem("pairs", "'\(pair)' is not of the form A_vs_B", hint: "name two listed models, e.g. sft_vs_pretrain"))
            }
            if p.suites.isEmpty { out.append(ParamProblem("suites", "no suite chosen", hint: "e.g. [truth, winrate, safety]")) }
            return out
        }
    }

    static let schema = StageSchema(
        name: "eval", version: "6", summary: "Evaluates models side by side: perplexity, truth, retention, win rates, safety, diversity, KL; greedy and sampled answers",
        inputs: ["eval"], optionalInputs: ["truth", "reward", "tokenizer", "text"], inputGroups: ["models"], outputs: ["report"],
        params: Parameters.specs, threads: 2, headline: ["examples"], validate: Parameters.validator,
        summaryFile: "report/summary.md")

    static func run(_ ctx: StageContext) throws {
        // config, models, data
        let p = try ctx.parameters(Parameters.self)
        let suites = Set(p.suites)
        let names = ctx.inputs.keys.filter { $0.hasPrefix("models.") }.map { String($0.dropFirst("models.".count)) }.sorted()
        guard !names.isEmpty else { throw StageFailure("stage '\(ctx.stage)': no models; list them under inputs: models: {NAME: STAGE.OUTPUT}") }
        let tokenizerDir = ctx.inputs["tokenizer"] ?? ctx.inputs["models." + names[0]]!
        let tokenizer = try BPETokenizer.load(contentsOf: URL(fileURLWithPath: tokenizerDir))
        var models: [String: GPT] = [:]
        var unused = RNG(seed: 0)
        for name in names {
            let loaded = try Checkpoint.load(from: URL(fileURLWithPath: ctx.inputs["models." + name]!))
            if let problem = FineTuneModel.vocabularyProblem(model: loaded.config, tokenizerVocabulary: tokenizer.vocabSize) {
                throw StageFailure("model '\(name)': \(problem)")
            }
            models[name] = try FineTuneModel.prepare(loaded, dropout: 0, scalarHead: false, rng: &unused)
        }
        let pairs = try comparisons(p, names: names, wanted: suites.contains("winrate"))
        if suites.contains("kl"), !p.reference.isEmpty, models[p.reference] == nil {
            throw StageFailure("reference '\(p.reference)' is not one of the listed models (\(names.joined(separator: ", ")))")
        }
        let items = try readItems(try ctx.input("eval"))
        let judge = try ctx.inputs["truth"].map { EvalJudge(world: try readWorld($0)) } ?? EvalJudge.withoutTruth
        let gold = GoldJudge(truth: judge)
        let rewardModel = try ctx.inputs["reward"].map { try Checkpoint.load(from: URL(fileURLWithPath: $0)) }
        if let rewardModel, !rewardModel.hasScalarHead {
            throw StageFailure("input 'reward' is a model without a scalar head; connect a reward stage's model")
        }
        if let rewardModel, let problem = FineTuneModel.vocabularyProblem(model: rewardModel.config, tokenizerVocabulary: tokenizer.vocabSize) {
            throw StageFailure("input 'reward': \(problem)")
        }
        let context = names.map { models[$0]!.config.contextLength }.min()!
        guard p.maxTokens < context else {
            throw StageFailure("max_tokens \(p.maxTokens) leaves no room for a prompt in a context of \(context); use at most \(context - 16)")
        }
        let prompts = EvalModels.prompts(items.map(\.question), tokenizer: tokenizer, contextLength: context, maxTokens: p.maxTokens)
        let sampled = spread(items.count, p.samplePrompts)
        let sampledPrompts = sampled.flatMap { i in Array(repeating: prompts[i], count: p.samples) }
        let heldOutText = try ctx.inputs["text"].map { try TokenData.load(directory: URL(fileURLWithPath: $0)).validation }
        ctx.log("\(items.count) eval items, models \(names.joined(separator: ", ")); suites \(p.suites.joined(separator: ", "))")

        // each model: answers, judges, perplexities, samples
        var metrics: [String: Double] = ["examples": Double(items.count), "models": Double(names.count)]
        var answers: [String: [ChatAnswer]] = [:], verdicts: [String: [GoldVerdict]] = [:], rewards: [String: [Double]] = [:]
        var samples: [String: [ChatAnswer]] = [:]
        // The sampled suite: one answer per item at sample_temperature, judged like the greedy ones.
        var drawn: [String: [ChatAnswer]] = [:], drawnVerdicts: [String: [GoldVerdict]] = [:], drawnRewards: [String: [Double]] = [:]
        let seed = UInt64(bitPattern: Int64(ctx.seed))
        var step = 0
        let total = names.count * (suites.contains("sampled") ? 4 : 3)
        func progress(_ what: String) {
            step += 1
            ctx.report(step: step, total: total, message: what)
        }
        for name in names {
            let model = models[name]!
            var rng = RNG(seed: seed, stream: stream(name))
            let options = SamplingOptions(temperature: Float(p.temperature), maxTokens: p.maxTokens)
            let a = EvalModels.answers(model, tokenizer: tokenizer, prompts: prompts, options: options, batch: p.batchSize, rng: &rng)
            answers[name] = a
            progress("\(name): \(a.count) answers")
            let v = zip(a, items).map { gold.verdict($0.text, for: $1) }
            verdicts[name] = v
            metrics.merge(answerMetrics(name, items: items, answers: a, verdicts: v, suites: suites)) { $1 }
            if let rewardModel {
                let r = EvalModels.rewards(rewardModel, tokenizer: tokenizer, pairs: zip(items, a).map { ($0.question, $1.text) })
                rewards[name] = r
                metrics["reward_mean.\(name)"] = r.reduce(0, +) / Double(max(1, r.count))
            }
            if suites.contains("perplexity") || suites.contains("retention"), let heldOutText {
                metrics["perplexity.\(name)"] = EvalModels.perplexity(model, tokens: heldOutText, block: min(p.blockSize, context), windows: p.perplexityWindows)
            }
            if suites.contains("perplexity") {
                let facts = items.filter { !$0.accept.isEmpty }
                metrics["answer_perplexity.\(name)"] = EvalModels.answerPerplexity(model, tokenizer: tokenizer, pairs: facts.map { ($0.question, $0.answer) })
            }
            progress("\(name): judged and scored")
            if suites.contains("diversity") || (suites.contains("kl") && !p.reference.isEmpty && name != p.reference) {
                let options = SamplingOptions(temperature: Float(p.sampleTemperature), maxTokens: p.maxTokens)
                var sampleRNG = RNG(seed: seed, stream: stream(name) &+ 1)
                let s = EvalModels.answers(model, tokenizer: tokenizer, prompts: sampledPrompts, options: options, batch: p.batchSize, rng: &sampleRNG)
                samples[name] = s
                if suites.contains("diversity") {
                    metrics["distinct_1.\(name)"] = Distinct.ratio(s.map(\.text), n: 1)
                    metrics["distinct_2.\(name)"] = Distinct.ratio(s.map(\.text), n: 2)
                }
            }
            progress("\(name): \(samples[name]?.count ?? 0) samples")
            if suites.contains("sampled") {
                let options = SamplingOptions(temperature: Float(p.sampleTemperature), maxTokens: p.maxTokens)
                var drawRNG = RNG(seed: seed, stream: stream(name) &+ 2)
                let d = EvalModels.answers(model, tokenizer: tokenizer, prompts: prompts, options: options, batch: p.batchSize, rng: &drawRNG)
                let v = zip(d, items).map { gold.verdict($0.text, for: $1) }
                (drawn[name], drawnVerdicts[name]) = (d, v)
                let m = answerMetrics(name, items: items, answers: d, verdicts: v, suites: suites)
                metrics.merge(m.map { ("sampled_" + $0.key, $0.value) }) { $1 }
                if let rewardModel {
                    let r = EvalModels.rewards(rewardModel, tokenizer: tokenizer, pairs: zip(items, d).map { ($0.question, $1.text) })
                    drawnRewards[name] = r
                    metrics["sampled_reward_mean.\(name)"] = r.reduce(0, +) / Double(max(1, r.count))
                }
                progress("\(name): \(d.count) sampled answers judged")
            }
        }
        if suites.contains("retention") {
            if let base = metrics["perplexity.\(p.baseline)"] {
                for name in names { if let ppl = metrics["perplexity.\(name)"] { metrics["retention.\(name)"] = base / ppl } }
            } else {
                ctx.log("retention: skipped; it needs the text input (tokenize.shards) and baseline '\(p.baseline)' among the models")
            }
        }
        if suites.contains("kl"), let reference = models[p.reference] {
            for name in names where name != p.reference {
                let s = samples[name]!
                let kls = zip(sampled.flatMap { Array(repeating: $0, count: p.samples) }, s).map { i, answer in
                    EvalModels.answerKL(models[name]!, reference: reference, prompt: prompts[i], answer: answer.ids, ended: !answer.isTruncated)
                }
                metrics["kl.\(name)"] = kls.reduce(0, +) / Double(max(1, kls.count))
            }
        }

        // pairs: reward model and gold judge, each with its interval; the hacking flag — for the
        // greedy answers, and with the prefix sampled_ for the sampled suite's
        typealias Outcomes = (reward: [PairOutcome]?, gold: [PairOutcome])
        let kinds = items.map(\.kind)
        func judgePairs(_ prefix: String, _ answers: [String: [ChatAnswer]], _ verdicts: [String: [GoldVerdict]],
                        _ rewards: [String: [Double]]) -> [String: Outcomes] {
            var outcomes: [String: Outcomes] = [:]
            for pair in pairs {
                let (a, b) = EvalReport.pair(pair)!
                let same = zip(answers[a]!, answers[b]!).map { $0.text == $1.text }
                let goldOutcomes = zip(verdicts[a]!, verdicts[b]!).map { PairOutcome.compare(Double($0.score), Double($1.score)) }
                var rewardOutcomes: [PairOutcome]?
                if let ra = rewards[a], let rb = rewards[b] {
                    // Identical answers tie even if padding in another batch moved a score by an ulp.
                    rewardOutcomes = zip(same, zip(ra, rb)).map { $0 ? PairOutcome.tie : PairOutcome.compare($1.0, $1.1) }
                    metrics.merge(EvalReport.winRateMetrics(prefix + "win_rate", pair: pair, tally: PairwiseTally(rewardOutcomes!))) { $1 }
                }
                metrics.merge(EvalReport.winRateMetrics(prefix + "gold_win_rate", pair: pair, tally: PairwiseTally(goldOutcomes))) { $1 }
                metrics.merge(EvalReport.byKindMetrics(prefix + "gold", pair: pair, outcomes: goldOutcomes, kinds: kinds)) { $1 }
                if let rewardOutcomes {
                    metrics.merge(EvalReport.byKindMetrics(prefix + "reward", pair: pair, outcomes: rewardOutcomes, kinds: kinds)) { $1 }
                }
                if let flag = RewardHacking.isFlagged(rewardWinRate: metrics["\(prefix)win_rate.\(pair)"],
                                                      goldWinRate: metrics["\(prefix)gold_win_rate.\(pair)"],
                                                      truthA: metrics["\(prefix)truth_accuracy.\(a)"], truthB: metrics["\(prefix)truth_accuracy.\(b)"]) {
                    metrics["\(prefix)reward_hacking.\(pair)"] = flag ? 1 : 0
                }
                outcomes[pair] = (rewardOutcomes, goldOutcomes)
            }
            return outcomes
        }
        let outcomes = judgePairs("", answers, verdicts, rewards)
        let drawnOutcomes = drawn.isEmpty ? [:] : judgePairs("sampled_", drawn, drawnVerdicts, drawnRewards)

        // outputs
        let out = URL(fileURLWithPath: try ctx.output("report"))
        let report: Value = .map([
            "metrics": .map(metrics.mapValues(Value.double)), "models": .list(names.map(Value.string)),
            "pairs": .list(pairs.map(Value.string)), "suites": .list(p.suites.map(Value.string)), "examples": .int(items.count),
        ])
        try write(report.canonicalJSON + "\n", to: out.appendingPathComponent("metrics.json"))
        let summary = EvalReport.summary(metrics: metrics, models: names, pairs: pairs, examples: items.count,
                                         judgedAt: p.temperature, sampledAt: drawn.isEmpty ? nil : p.sampleTemperature)
        try write(summary, to: out.appendingPathComponent("summary.md"))
        var lines = ""
        for (i, item) in items.enumerated() {
            var line: [String: Value] = [
                "id": .string(item.id), "kind": .string(item.kind), "prompt": .string(item.question), "reference": .string(item.answer),
                "answers": .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.string(answers[$0]![i].text)) })),
                "truth": .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.string(verdicts[$0]![i].truth.rawValue)) })),
                "gold": .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.int(verdicts[$0]![i].score)) })),
            ]
            if !rewards.isEmpty {
                line["reward"] = .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.double(rewards[$0]![i])) }))
            }
            if !drawn.isEmpty {
                line["sampled"] = .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.string(drawn[$0]![i].text)) }))
                line["sampled_truth"] = .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.string(drawnVerdicts[$0]![i].truth.rawValue)) }))
                line["sampled_gold"] = .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.int(drawnVerdicts[$0]![i].score)) }))
                if !drawnRewards.isEmpty {
                    line["sampled_reward"] = .map(Dictionary(uniqueKeysWithValues: names.map { ($0, Value.double(drawnRewards[$0]![i])) }))
                }
            }
            if !pairs.isEmpty {
                line["pairs"] = .map(Dictionary(uniqueKeysWithValues: pairs.map { pair in
                    var judged: [String: Value] = ["gold": .string(outcomes[pair]!.gold[i].rawValue)]
                    if let r = outcomes[pair]!.reward { judged["reward"] = .string(r[i].rawValue) }
                    if let d = drawnOutcomes[pair] {
                        judged["sampled_gold"] = .string(d.gold[i].rawValue)
                        if let r = d.reward { judged["sampled_reward"] = .string(r[i].rawValue) }
                    }
                    return (pair, Value.map(judged))
                }))
            }
            lines += Value.map(line).canonicalJSON + "\n"
        }
        try write(lines, to: out.appendingPathComponent("examples.jsonl"))
        ctx.report(step: total, total: total, metrics: metrics)
    }

    /// Truth, safety and answer-shape metrics of one model's answers.
    static func answerMetrics(_ name: String, items: [EvalItem], answers: [ChatAnswer], verdicts: [GoldVerdict],
                              suites: Set<String>) -> [String: Double] {
        var m: [String: Double] = [:]
        func share(_ kinds: (EvalItem) -> Bool, _ hit: (Int) -> Bool) -> Double? {
            let chosen = items.indices.filter { kinds(items[$0]) }
            return chosen.isEmpty ? nil : Double(chosen.filter(hit).count) / Double(chosen.count)
        }
        if suites.contains("truth") {
            let correct = { (i: Int) in verdicts[i].truth == .correct }
            m["truth_accuracy.\(name)"] = share({ !$0.accept.isEmpty }, correct)
            m["heldout_accuracy.\(name)"] = share({ $0.kind == "heldout" }, correct)
            m["seen_accuracy.\(name)"] = share({ $0.kind == "sft" }, correct)
        }
        if suites.contains("safety") {
            let refused = { (i: Int) in EvalJudge.isRefusal(answers[i].text) }
            m["refusal_rate.\(name)"] = share({ $0.expect == "refuse" }, refused)
            m["false_refusal_rate.\(name)"] = share({ $0.kind == "safe" }, refused)
        }
        m["gold_score.\(name)"] = Double(verdicts.map(\.score).reduce(0, +)) / Double(max(1, verdicts.count))
        m["answer_tokens.\(name)"] = Double(answers.map(\.ids.count).reduce(0, +)) / Double(max(1, answers.count))
        m["truncation_rate.\(name)"] = Double(answers.filter(\.isTruncated).count) / Double(max(1, answers.count))
        return m
    }

    /// The pairs to compare: as listed, or each model against the baseline.
    static func comparisons(_ p: Parameters, names: [String], wanted: Bool) throws -> [String] {
        guard wanted else { return [] }
        let pairs = p.pairs.isEmpty ? names.filter { $0 != p.baseline }.map { "\($0)_vs_\(p.baseline)" } : p.pairs
        if p.pairs.isEmpty, !names.contains(p.baseline) {
            throw StageFailure("suite winrate needs pairs: list them (pairs: [sft_vs_pretrain]) or name a listed model as baseline (models: \(names.joined(separator: ", ")))")
        }
        for pair in pairs {
            guard let ab = EvalReport.pair(pair), names.contains(ab.a), names.contains(ab.b), ab.a != ab.b else {
                throw StageFailure("pair '\(pair)' must be A_vs_B of two different listed models (\(names.joined(separator: ", ")))")
            }
        }
        return pairs
    }

    /// TinyWorld eval items, or `{"question", "answer"}` lines of a user's own set (judged by
    /// whether the answer names the expected one).
    static func readItems(_ path: String) throws -> [EvalItem] {
        let url = try DocumentInput.file(path, input: "eval")
        let text = try String(contentsOf: url, encoding: .utf8)
        struct QA: Decodable { var question: String; var answer: String }
        var items: [EvalItem] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            let data = Data(line.utf8)
            if let item = try? JSONDecoder().decode(EvalItem.self, from: data) {
                items.append(item)
            } else if let qa = try? JSONDecoder().decode(QA.self, from: data) {
                items.append(EvalItem(id: "line\(n + 1)", kind: "qa", question: qa.question, answer: qa.answer, accept: [qa.answer],
                                      expect: "answer", subject: "", attribute: "qa"))
            } else {
                throw StageFailure("\(url.path):\(n + 1): not an eval item; expected TinyWorld's eval.jsonl or {\"question\": ..., \"answer\": ...}")
            }
        }
        guard !items.isEmpty else { throw StageFailure("input 'eval': \(url.path) holds no eval items") }
        return items
    }

    static func readWorld(_ path: String) throws -> World {
        var url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { url = url.appendingPathComponent("truth.json") }
        do { return try JSONDecoder().decode(World.self, from: Data(contentsOf: url)) } catch {
            throw StageFailure("input 'truth': cannot read \(url.path) as TinyWorld's truth.json: \(error)")
        }
    }

    /// `count` indices spread evenly over 0..<n (all of them when count ≥ n), so sampled
    /// prompts mix every kind of item.
    static func spread(_ n: Int, _ count: Int) -> [Int] {
        count >= n ? Array(0..<n) : (0..<count).map { $0 * n / count }
    }

    /// A random stream per model name (FNV-1a), so adding a model never changes another's draws.
    static func stream(_ name: String) -> UInt64 {
        name.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static func write(_ text: String, to url: URL) throws {
        do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
            throw StageFailure("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
