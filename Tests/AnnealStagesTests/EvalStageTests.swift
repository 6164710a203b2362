import AnnealPipeline
@testable import AnnealStages
import Foundation
import Testing

/// eval in process: a tiny pretrained model and a few SFT and reward steps on it, compared
/// side by side; the report's files and metric names, and the same bytes twice.
extension InProcessStageTests {
    @Suite struct EvalStageTests {
        static let eval: [String: Value] = [
            "pairs": .list([.string("sft_vs_pretrain")]), "reference": .string("pretrain"), "max_tokens": .int(12),
            "samples": .int(2), "sample_prompts": .int(6), "perplexity_windows": .int(4), "block_size": .int(32),
        ]

        static func models(_ h: StageHarness) throws -> [String: String] {
            let all = try FineTuneStageTests.data(h)
            var sftParams = FineTuneStageTests.sft
            sftParams["max_iters"] = .int(6)
            sftParams["checkpoint_interval"] = .int(0)
            let sft = try h.run(SFTStage.self, name: "sft", inputs: all.filter { ["model", "tokenizer", "data"].contains($0.key) }, with: sftParams)
            // The easy prefs, not the world's: 64 tokens of a 320-token vocabulary end before some
            // pairs differ (a padded answer's pleasantry), and the reward stage rejects those.
            let reward = try h.run(RewardStage.self, name: "reward",
                                   inputs: ["model": sft.outputs["model"]!, "tokenizer": all["tokenizer"]!, "prefs": try AlignmentStageTests.prefs(h)],
                                   with: ["block_size": .int(64), "batch_size": .int(4), "max_iters": .int(4), "warmup_iters": .int(1),
                                          "eval_interval": .int(0), "checkpoint_interval": .int(0)])
            return ["models.pretrain": all["model"]!, "models.sft": sft.outputs["model"]!, "reward": reward.outputs["model"]!,
                    "eval": all["eval"]!, "truth": all["truth"]!, "text": all["replay"]!, "tokenizer": all["tokenizer"]!]
        }

        @Test func reportHoldsEveryFigureUnderItsStableNameAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.models(h)
            let a = try h.run(EvalStage.self, name: "eval", inputs: inputs, with: Self.eval)
            let out = a.outputs["report"]!
            #expect(Set(files(out).keys) == ["metrics.json", "summary.md", "examples.jsonl"])
            let last = try #require(a.reports.last?["metrics"]?.mapValue)
            for m in ["pretrain", "sft"] {
                for name in ["truth_accuracy", "heldout_accuracy", "seen_accuracy", "refusal_rate", "false_refusal_rate", "distinct_1",
                             "distinct_2", "perplexity", "retention", "answer_perplexity", "reward_mean", "gold_score", "answer_tokens",
                             "truncation_rate"] {
                    #expect(last["\(name).\(m)"]?.doubleValue != nil, "\(name).\(m)")
                }
            }
            #expect(last["retention.pretrain"]?.doubleValue == 1)
            #expect(last["kl.sft"]!.doubleValue! > 0 && last["kl.pretrain"] == nil)
            for name in ["win_rate", "win_rate_ci_low", "win_rate_ci_high", "win_rate_ties", "gold_win_rate", "gold_win_rate_ci_low",
                         "gold_win_rate_ci_high", "gold_win_rate_ties", "reward_hacking"] {
                #expect(last["\(name).sft_vs_pretrain"]?.doubleValue != nil, "\(name).sft_vs_pretrain")
            }
            let low = last["gold_win_rate_ci_low.sft_vs_pretrain"]!.doubleValue!, rate = last["gold_win_rate.sft_vs_pretrain"]!.doubleValue!
            #expect(low <= rate && rate <= last["gold_win_rate_ci_high.sft_vs_pretrain"]!.doubleValue!)

            // metrics.json holds the same figures the stage reported.
            let json = try #require(Value.parseJSON(String(decoding: files(out)["metrics.json"]!, as: UTF8.self)))
            #expect(json["metrics"]?.mapValue?.keys.sorted() == last.keys.sorted())
            #expect(json["models"] == .list([.string("pretrain"), .string("sft")]))
            let summary = String(decoding: files(out)["summary.md"]!, as: UTF8.self)
            #expect(summary.contains("| pretrain |") && summary.contains("| sft |") && summary.contains("| sft_vs_pretrain |"))
            let lines = String(decoding: files(out)["examples.jsonl"]!, as: UTF8.self).split(separator: "\n")
            #expect(Double(lines.count) == last["examples"]?.doubleValue)
            let first = try #require(Value.parseJSON(String(lines[0])))
            #expect(first["answers"]?["sft"]?.stringValue != nil && first["gold"]?["pretrain"]?.intValue != nil
                    && first["reward"]?["sft"]?.doubleValue != nil && first["pairs"]?["sft_vs_pretrain"]?["reward"]?.stringValue != nil)

            // The sampled suite: the same figures again for one sampled answer an item.
            for m in ["pretrain", "sft"] {
                for name in ["truth_accuracy", "refusal_rate", "false_refusal_rate", "reward_mean", "gold_score", "answer_tokens"] {
                    #expect(last["sampled_\(name).\(m)"]?.doubleValue != nil, "sampled_\(name).\(m)")
                }
            }
            for name in ["win_rate", "win_rate_ci_low", "gold_win_rate", "gold_win_rate_ties", "reward_hacking"] {
                #expect(last["sampled_\(name).sft_vs_pretrain"]?.doubleValue != nil, "sampled_\(name).sft_vs_pretrain")
            }
            #expect(first["sampled"]?["sft"]?.stringValue != nil && first["sampled_gold"]?["pretrain"]?.intValue != nil
                    && first["sampled_truth"]?["sft"]?.stringValue != nil && first["sampled_reward"]?["sft"]?.doubleValue != nil
                    && first["pairs"]?["sft_vs_pretrain"]?["sampled_reward"]?.stringValue != nil)
            // Sampled answers are drawn, not the greedy ones again.
            let parsed = lines.compactMap { Value.parseJSON(String($0)) }
            #expect(parsed.count == lines.count && parsed.allSatisfy { $0["sampled"]?["sft"]?.stringValue != nil })
            #expect(parsed.contains { $0["sampled"]?["sft"] != $0["answers"]?["sft"] })
            #expect(summary.contains("## Sampled answers (one an item at temperature 1.000; metrics sampled_NAME)"))

            let b = try h.run(EvalStage.self, name: "eval", inputs: inputs, with: Self.eval)
            #expect(files(out) == files(b.outputs["report"]!))
        }

        /// The sampled suite draws from its own stream: without it every other figure keeps its
        /// value, and nothing sampled_ is written; without a reward model it judges by gold alone.
        @Test func theSampledSuiteLeavesTheOtherFiguresAsTheyAre() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.models(h)
            let all = try #require(try h.run(EvalStage.self, name: "eval", inputs: inputs, with: Self.eval).reports.last?["metrics"]?.mapValue)
            var p = Self.eval
            p["suites"] = .list(EvalStage.suites.filter { $0 != "sampled" }.map(Value.string))
            let without = try h.run(EvalStage.self, name: "eval", inputs: inputs, with: p)
            let plain = try #require(without.reports.last?["metrics"]?.mapValue)
            #expect(!plain.isEmpty && plain == all.filter { !$0.key.hasPrefix("sampled_") })
            let summary = String(decoding: files(without.outputs["report"]!)["summary.md"]!, as: UTF8.self)
            #expect(!summary.contains("## ") && !summary.contains("sampled"))

            var noReward = inputs
            noReward["reward"] = nil
            p["suites"] = .list([.string("sampled"), .string("winrate"), .string("truth")])
            let gold = try #require(try h.run(EvalStage.self, name: "eval", inputs: noReward, with: p).reports.last?["metrics"]?.mapValue)
            #expect(gold["sampled_gold_win_rate.sft_vs_pretrain"] != nil && gold["sampled_truth_accuracy.sft"] != nil)
            #expect(gold["sampled_win_rate.sft_vs_pretrain"] == nil && gold["sampled_reward_mean.sft"] == nil
                    && gold["sampled_refusal_rate.sft"] == nil)
        }

        @Test func aPairOfUnlistedModelsIsAnErrorNamingTheListedOnes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try FineTuneStageTests.data(h)
            var p = Self.eval
            p["pairs"] = .list([.string("ppo_vs_pretrain")])
            #expect {
                try h.run(EvalStage.self, name: "eval", inputs: ["models.pretrain": inputs["model"]!, "eval": inputs["eval"]!], with: p)
            } throws: { error in
                "\(error)".contains("pair 'ppo_vs_pretrain' must be A_vs_B of two different listed models (pretrain)")
            }
        }
    }
}

/// eval's parameters fail at `anneal validate`, at their location.
@Suite struct EvalValidationTests {
    static let pipeline = """
    name: e
    stages:
      m: {run: x, outputs: [model, eval]}
      ev:
        uses: eval
        inputs: {models: {a: m.model, b: m.model}, eval: m.eval}

    """

    @Test func badPairsAndUnknownSuitesAreReportedAtTheirParameter() {
        #expect(diagnostics(Self.pipeline + "    with: {pairs: [a_b], suites: [truth, vibes]}\n") == [
            "p.yaml:7:19: error: parameter 'with.pairs' of stage 'ev': 'a_b' is not of the form A_vs_B; name two listed models, e.g. sft_vs_pretrain",
            "p.yaml:7:34: error: parameter 'with.suites' of stage 'ev' has 'vibes', which is not one of perplexity, truth, retention, winrate, safety, diversity, kl, sampled",
        ])
        #expect(diagnostics(Self.pipeline + "    with: {pairs: [a_vs_b], reference: a}\n").isEmpty)
    }
}
