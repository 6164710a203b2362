import AnnealCompute
import AnnealModels
import AnnealPipeline
@testable import AnnealStages
import AnnealText
import Foundation
import Testing

/// dpo and ppo on the tiny pretrain model of FineTuneStageTests with an easy preference:
/// short polite answers over a rude one.
extension InProcessStageTests {
    @Suite struct AlignmentStageTests {
        typealias Base = FineTuneStageTests

        static func prefs(_ h: StageHarness) throws -> String {
            let file = h.root.appendingPathComponent("prefs.jsonl")
            let lines = (0..<48).map { i in
                #"{"prompt": "What is \#(i) plus 1?", "chosen": "It is \#(i + 1).", "rejected": "Ugh, look it up yourself. No."}"#
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            return file.path
        }

        static func prompts(_ h: StageHarness, answers: Bool = false) throws -> String {
            let file = h.root.appendingPathComponent("prompts.jsonl")
            let lines = (0..<24).map {
                answers ? #"{"prompt": "What is \#($0) plus 1?", "answer": "It is \#($0 + 1)."}"# : #"{"prompt": "What is \#($0) plus 1?"}"#
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            return file.path
        }

        static let dpo: [String: Value] = [
            "block_size": .int(64), "batch_size": .int(8), "max_iters": .int(20), "warmup_iters": .int(2), "beta": .double(0.5),
            "learning_rate": .double(3e-3), "min_lr": .double(3e-4), "eval_interval": .int(10), "val_share": .double(0.25),
            "checkpoint_interval": .int(8),
        ]

        @Test func dpoPrefersTheChosenAnswersAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Base.data(h).filter { ["model", "tokenizer"].contains($0.key) }
            inputs["prefs"] = try Self.prefs(h)
            let a = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: Self.dpo)
            let loss = a.series("loss")
            #expect(loss.count == 20)
            #expect(abs(loss[0] - log(2)) < 0.05, "DPO starts at the reference: log 2, got \(loss[0])")
            #expect(Base.mean(loss.suffix(5)) < Base.mean(loss.prefix(5)) - 0.2, "loss \(loss)")
            for name in ["reward_chosen", "reward_rejected", "accuracy", "margin", "lr", "grad_norm"] {
                #expect(a.series(name).count == 20, "\(name)")
            }
            let accuracy = a.series("val_accuracy"), margin = a.series("val_margin")
            #expect(accuracy.last! > 0.9 && margin.last! > margin.first!, "val_accuracy \(accuracy), val_margin \(margin)")
            let out = a.outputs["model"]!
            #expect(Set(files(out).keys) == ["config.json", "model.safetensors", "train_config.json", "tokenizer.json", "tokenizer.anneal.json"])

            let b = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: Self.dpo)
            #expect(files(out) == files(b.outputs["model"]!))

            var ipo = Self.dpo
            ipo["loss"] = .string("ipo")
            ipo["max_iters"] = .int(10)
            let c = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: ipo)
            #expect(abs(c.series("loss")[0] - 1 / (4 * 0.25)) < 0.05 && c.series("loss").last! < c.series("loss")[0])
        }

        @Test func dpoResumesToTheUninterruptedBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Base.data(h).filter { ["model", "tokenizer"].contains($0.key) }
            inputs["prefs"] = try Self.prefs(h)
            var p = Self.dpo
            p["method"] = .string("lora")
            p["dropout"] = .double(0.1)
            let whole = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: p)
            let state = h.root.appendingPathComponent("state").path
            _ = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: p, state: state)
            let resumed = try h.run(DPOStage.self, name: "dpo", inputs: inputs, with: p, state: state)
            #expect(resumed.messages.contains("resumed from step 16"))
            #expect(files(whole.outputs["model"]!) == files(resumed.outputs["model"]!))
        }

        static let ppo: [String: Value] = [
            "block_size": .int(64), "rollouts": .int(8), "batch_size": .int(4), "max_new_tokens": .int(10), "ppo_epochs": .int(2),
            "max_iters": .int(8), "warmup_iters": .int(0), "learning_rate": .double(3e-3), "min_lr": .double(3e-3),
            "eval_interval": .int(4), "checkpoint_interval": .int(3), "val_share": .double(0.2), "beta": .double(0.05),
        ]

        /// A reward model for the easy preference, then PPO from the tiny pretrained model.
        static func ppoInputs(_ h: StageHarness, replay: Bool = false) throws -> [String: String] {
            let base = try Base.data(h)
            let rm = try h.run(RewardStage.self, name: "reward", inputs: ["model": base["model"]!, "tokenizer": base["tokenizer"]!, "prefs": try prefs(h)],
                               with: ["block_size": .int(64), "max_iters": .int(30), "learning_rate": .double(3e-3), "min_lr": .double(3e-4),
                                      "eval_interval": .int(0), "checkpoint_interval": .int(0)])
            var inputs = ["policy": base["model"]!, "reward": rm.outputs["model"]!, "tokenizer": base["tokenizer"]!, "prompts": try prompts(h)]
            if replay { inputs["replay"] = base["replay"]! }
            return inputs
        }

        @Test func ppoRaisesTheRewardAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.ppoInputs(h)
            let a = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: Self.ppo)
            let reward = a.series("reward_mean")
            #expect(reward.count == 8)
            #expect(Base.mean(reward.suffix(3)) > Base.mean(reward.prefix(3)), "reward_mean \(reward)")
            for name in ["reward_mean", "reward_std", "kl", "entropy", "clip_fraction", "value_loss", "approx_kl", "response_length", "beta"] {
                #expect(a.series(name).count == 8, "\(name)")
            }
            #expect(a.series("skipped_batches") == [Double](repeating: 0, count: 9))  // every iteration and the final report
            #expect(abs(a.series("kl")[0]) < 1e-3, "the first rollouts come from the reference itself: kl \(a.series("kl"))")
            #expect(a.series("val_reward_mean").count == 4)  // iterations 0, 4, 8, and the final report
            #expect(a.series("val_win_rate").first == 0.5, "the SFT model against itself: every prompt a tie")
            let model = try Checkpoint.load(from: URL(fileURLWithPath: a.outputs["model"]!))
            #expect(!model.hasScalarHead, "the value head stays behind")

            let b = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: Self.ppo)
            #expect(files(a.outputs["model"]!) == files(b.outputs["model"]!))
        }

        /// Several samples per prompt with RLOO's baseline and no critic: the rollouts of an
        /// iteration are rollouts / samples_per_prompt prompts, the reward still rises, and the
        /// value head (not trained) leaves the output as it does with GAE.
        @Test func ppoWithLeaveOneOutBaselineAndNoCriticRaisesTheReward() throws {
            let h = StageHarness()
            defer { h.remove() }
            var p = Self.ppo
            p["samples_per_prompt"] = .int(4)
            p["baseline"] = .string("leave_one_out")
            p["advantage"] = .string("reward_to_go")
            let a = try h.run(PPOStage.self, name: "ppo", inputs: try Self.ppoInputs(h), with: p)
            #expect(a.messages.contains { $0.contains("8 rollouts (2 prompts × 4)") }, "\(a.messages)")
            let reward = a.series("reward_mean")
            #expect(reward.count == 8)
            #expect(Base.mean(reward.suffix(3)) > Base.mean(reward.prefix(3)), "reward_mean \(reward)")
            #expect(!(try Checkpoint.load(from: URL(fileURLWithPath: a.outputs["model"]!))).hasScalarHead)
        }

        @Test func ppoRejectsSamplesThatDoNotDivideTheRolloutsAndABaselineWithoutSiblings() {
            var p = PPOStage.Parameters()
            let context = ParamContext(params: .map([:]))
            #expect(PPOStage.Parameters.problems(p, context: context).isEmpty)
            p.samplesPerPrompt = 3
            #expect(PPOStage.Parameters.problems(p, context: context).map(\.param) == ["samples_per_prompt"])
            p.samplesPerPrompt = 1
            p.baseline = "leave_one_out"
            #expect(PPOStage.Parameters.problems(p, context: context).map(\.param) == ["baseline"])
            p.samplesPerPrompt = 4
            #expect(PPOStage.Parameters.problems(p, context: context).isEmpty)
        }

        /// Scores are divided by their sample standard deviation (by hand: [1, 3] → √2), and the
        /// value head starts as the reward model's head divided by the same scale.
        @Test func ppoScalesScoresAndStartsTheValueHeadFromTheRewardModel() throws {
            #expect(abs(PPOStage.scoreScale([1, 3]) - Float(2).squareRoot()) < 1e-6)
            #expect(PPOStage.scoreScale([2]) == 1 && PPOStage.scoreScale([2, 2]) == 1)
            let config = GPTConfig(vocabSize: 12, contextLength: 16, width: 8, layers: 1, heads: 2)
            let policy = try GPT(config: config, scalarHead: true), reward = try GPT(config: config, scalarHead: true)
            var rng = RNG(seed: 1)
            reward.initializeWeights(rng: &rng)
            try PPOStage.startValueHead(of: policy, from: reward, scale: 2)
            let to = policy.params.index(of: "score.weight")!, from = reward.params.index(of: "score.weight")!
            #expect(policy.params.value(to).array == reward.params.value(from).array.map { $0 / 2 })
            let narrow = try GPT(config: GPTConfig(vocabSize: 12, contextLength: 16, width: 4, layers: 1, heads: 2), scalarHead: true)
            #expect(throws: StageFailure.self) { try PPOStage.startValueHead(of: policy, from: narrow, scale: 1) }
        }

        @Test func ppoResumesToTheUninterruptedBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.ppoInputs(h)
            var p = Self.ppo
            p["max_iters"] = .int(5)
            p["target_kl"] = .double(0.5)  // β moves, so the loop state must come back too
            let whole = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
            let state = h.root.appendingPathComponent("state").path
            _ = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p, state: state)
            let resumed = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p, state: state)
            #expect(resumed.messages.contains("resumed from iteration 3"))
            #expect(resumed.series("reward_mean").count == 2)
            #expect(resumed.series("beta").last == whole.series("beta").last)
            #expect(files(whole.outputs["model"]!) == files(resumed.outputs["model"]!))
        }

        /// PPO-ptx: the SFT term on the prompts' reference answers is reported and falls as PPO
        /// trains on it; prompts without an answer fail naming their line.
        @Test func ppoWithPtxLearnsTheReferenceAnswersAndNeedsThem() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Self.ppoInputs(h)
            var p = Self.ppo
            p["max_iters"] = .int(4)
            p["ptx"] = .double(2)
            do {
                _ = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
                Issue.record("ptx without reference answers must fail")
            } catch {
                #expect("\(error)".contains("prompts.jsonl:1: ptx needs each prompt's reference answer"), "\(error)")
            }
            inputs["prompts"] = try Self.prompts(h, answers: true)
            let a = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
            let ptx = a.series("ptx_loss")
            #expect(ptx.count == 4)
            #expect(ptx.last! < ptx.first!, "ptx_loss \(ptx)")
        }

        /// PPO-ptx on pretraining text (the `replay` input): the next-token loss on the windows is
        /// reported each iteration, it changes the weights, and since each update draws its windows
        /// from its own position, a killed run still resumes to the uninterrupted bytes.
        @Test func ppoWithReplayReportsItsLossAndResumesToTheUninterruptedBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.ppoInputs(h, replay: true)
            let plain = try h.run(PPOStage.self, name: "ppo", inputs: inputs.filter { $0.key != "replay" }, with: Self.ppo)
            var p = Self.ppo
            p["max_iters"] = .int(5)
            let whole = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
            let replay = whole.series("replay_loss")
            #expect(replay.count == 5 && replay.allSatisfy { $0.isFinite && $0 > 0 }, "replay_loss \(replay)")
            let state = h.root.appendingPathComponent("state").path
            _ = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p, state: state)
            let resumed = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p, state: state)
            #expect(resumed.messages.contains("resumed from iteration 3"))
            #expect(files(whole.outputs["model"]!) == files(resumed.outputs["model"]!))
            p["max_iters"] = Self.ppo["max_iters"]
            let again = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
            #expect(files(plain.outputs["model"]!) != files(again.outputs["model"]!), "replay must change the update")
            p["replay_ratio"] = .double(0)
            let off = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: p)
            // The weights, not train_config.json: that records replay_ratio
            #expect(files(plain.outputs["model"]!)["model.safetensors"] == files(off.outputs["model"]!)["model.safetensors"])
            #expect(off.series("replay_loss").isEmpty)
        }

        /// Replay shards from another tokenizer, or too few tokens for one window, fail before
        /// any rollout and name the input.
        @Test func ppoRejectsReplayShardsItCannotUse() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Self.ppoInputs(h, replay: true)
            let shard = URL(fileURLWithPath: inputs["replay"]!).appendingPathComponent("train-00000.bin")
            var bytes = [UInt8](try Data(contentsOf: shard))
            let wider = h.root.appendingPathComponent("wider")
            try FileManager.default.createDirectory(at: wider, withIntermediateDirectories: true)
            bytes.replaceSubrange(12..<16, with: withUnsafeBytes(of: UInt32(5000).littleEndian, Array.init))  // header: vocabulary size
            try Data(bytes).write(to: wider.appendingPathComponent("train-00000.bin"))
            inputs["replay"] = wider.path
            func expectFailure(_ message: String) {
                do {
                    _ = try h.run(PPOStage.self, name: "ppo", inputs: inputs, with: Self.ppo)
                    Issue.record("ppo ran on \(inputs["replay"]!)")
                } catch {
                    #expect("\(error)".contains(message), "\(error)")
                }
            }
            expectFailure("input 'replay': the shards use a vocabulary of 5000")
            // 10 tokens: the header with count 10, then 10 two-byte tokens
            var short = Array(bytes[0..<32])
            short.replaceSubrange(12..<16, with: withUnsafeBytes(of: UInt32(320).littleEndian, Array.init))
            short.replaceSubrange(16..<24, with: withUnsafeBytes(of: UInt64(10).littleEndian, Array.init))
            short += [UInt8](repeating: 1, count: 20)
            let tiny = h.root.appendingPathComponent("tiny")
            try FileManager.default.createDirectory(at: tiny, withIntermediateDirectories: true)
            try Data(short).write(to: tiny.appendingPathComponent("train-00000.bin"))
            inputs["replay"] = tiny.path
            expectFailure("input 'replay': the shards' training split holds 10 tokens")
        }
    }
}
