import AnnealCompute
import AnnealModels
import AnnealPipeline
@testable import AnnealStages
import AnnealText
import Foundation
import Testing

/// sft and reward on a tiny context: TinyWorld data through tokenize and a tiny pretrain
/// (2 layers, width 16, context 64), then a few fine-tuning steps.
extension InProcessStageTests {
    @Suite struct FineTuneStageTests {
        static let pretrain: [String: Value] = [
            "n_layer": .int(2), "n_head": .int(2), "n_embd": .int(16), "block_size": .int(64), "batch_size": .int(4),
            "max_iters": .int(20), "warmup_iters": .int(2), "learning_rate": .double(1e-2), "min_lr": .double(1e-3),
            "eval_interval": .int(0), "eval_iters": .int(1), "checkpoint_interval": .int(0),
        ]

        static let sft: [String: Value] = [
            "block_size": .int(64), "batch_size": .int(4), "max_iters": .int(24), "warmup_iters": .int(2),
            "learning_rate": .double(1e-2), "min_lr": .double(1e-3), "eval_interval": .int(8), "eval_iters": .int(2),
            "checkpoint_interval": .int(8), "val_share": .double(0.2),
        ]

        /// World → tokenize (vocab 320) → pretrain: what sft and reward read.
        static func data(_ h: StageHarness) throws -> [String: String] {
            let world = try h.run(TinyWorldStage.self, name: "world", with: [
                "countries": .int(6), "people": .int(8), "sft_pairs": .int(40), "preference_pairs": .int(40), "ppo_prompts": .int(4),
            ])
            let tok = try h.run(TokenizeStage.self, name: "tokenize", inputs: ["docs": world.outputs["corpus"]!],
                                with: ["vocab_size": .int(320), "validation_share": .double(0.2)])
            let pre = try h.run(PretrainStage.self, name: "pretrain",
                                inputs: ["shards": tok.outputs["shards"]!, "tokenizer": tok.outputs["tokenizer"]!], with: pretrain)
            return ["model": pre.outputs["model"]!, "tokenizer": tok.outputs["tokenizer"]!, "data": world.outputs["sft"]!,
                    "prefs": world.outputs["prefs"]!, "eval": world.outputs["eval"]!, "truth": world.outputs["truth"]!,
                    "replay": tok.outputs["shards"]!]
        }

        static func mean(_ xs: ArraySlice<Double>) -> Double { xs.reduce(0, +) / Double(xs.count) }

        @Test func sftLossGoesDownAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let all = try Self.data(h)
            let inputs = all.filter { $0.key != "prefs" }
            let a = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: Self.sft)
            let loss = a.series("loss")
            #expect(loss.count == 24)
            #expect(Self.mean(loss.suffix(6)) < Self.mean(loss.prefix(6)) - 0.3, "loss \(loss)")
            let val = a.series("val_loss")
            #expect(val.count >= 4 && val.last! < val.first!, "val loss \(val)")
            #expect(a.series("replay_loss").count == 24 && a.series("lr").count == 24 && a.series("grad_norm").count == 24
                    && a.series("tokens_per_s").count == 24)
            for name in ["heldout_exact_match", "seen_exact_match"] {
                let v = try #require(a.series(name).last, "\(name)")
                #expect(v >= 0 && v <= 1)
            }
            #expect(a.series("heldout_exact_match_capital").count == 1 && a.series("seen_exact_match_age").count == 1)
            let out = a.outputs["model"]!
            #expect(Set(files(out).keys) == ["config.json", "model.safetensors", "train_config.json", "tokenizer.json", "tokenizer.anneal.json"])
            let trainConfig = try #require(Value.parseJSON(String(decoding: files(out)["train_config.json"]!, as: UTF8.self)))
            #expect(trainConfig["stage"] == .string("sft") && trainConfig["params"]?["lora_rank"] == .int(8))

            let b = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: Self.sft)
            #expect(files(out) == files(b.outputs["model"]!))
        }

        /// sft, reward and dpo share their opening (FineTuneInputs): each still refuses a
        /// block_size past the input model's context before reading data, in the same words.
        @Test func fineTuneStagesRefuseABlockSizePastTheModelsContext() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.data(h)
            let tooLong = StageFailure("block_size 65 is longer than the input model's context 64; use at most 64")
            for stage in [SFTStage.self, RewardStage.self, DPOStage.self] as [any BuiltinStage.Type] {
                #expect(throws: tooLong) { try h.run(stage, name: stage.schema.name, inputs: inputs, with: ["block_size": .int(65)]) }
            }
        }

        @Test func sftResumesToTheUninterruptedBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.data(h).filter { $0.key != "prefs" && $0.key != "eval" }
            var p = Self.sft
            p["dropout"] = .double(0.1)
            let whole = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: p)
            let state = h.root.appendingPathComponent("state").path
            _ = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: p, state: state)
            let resumed = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: p, state: state)
            #expect(resumed.messages.contains("resumed from step 16"))
            #expect(resumed.series("loss").count == 8)
            #expect(files(whole.outputs["model"]!) == files(resumed.outputs["model"]!))
        }

        /// LoRA trains only the adapters: the base weights come out byte-identical, and folding
        /// the adapters in gives the logits of base + adapter.
        @Test func loraTrainsOnlyAdaptersAndMergesToTheSameLogits() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.data(h).filter { ["model", "tokenizer", "data"].contains($0.key) }
            var p = Self.sft
            p["method"] = .string("lora")
            p["lora_targets"] = .list([.string("c_attn"), .string("mlp.c_fc")])
            p["merge"] = .bool(false)
            let separate = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: p)
            // The validation batches are the same at every eval; a training batch's loss moves more
            // with which rows it drew than with 24 steps of adapters.
            let val = separate.series("val_loss")
            #expect(val.count == 5 && val.last! < val.first!, "val_loss \(val)")  // steps 0, 8, 16, 24 and the final report
            let base = files(inputs["model"]!), out = files(separate.outputs["model"]!)
            #expect(out["model.safetensors"] == base["model.safetensors"])
            #expect(out["adapter_model.safetensors"] != nil && out["adapter_config.json"] != nil)

            var adapted = try Checkpoint.load(from: URL(fileURLWithPath: separate.outputs["model"]!))
            let tokens: [Int32] = (0..<32).map { Int32($0 * 7 % 300) }
            let withAdapters = logits(adapted, tokens)
            #expect(withAdapters != logits(try Checkpoint.load(from: URL(fileURLWithPath: inputs["model"]!)), tokens))
            var lora = try #require(adapted.lora)
            lora.merge(into: adapted)
            adapted.lora = lora
            #expect(maxDifference(withAdapters, logits(adapted, tokens)) < 1e-5)

            p["merge"] = .bool(true)
            let merged = try h.run(SFTStage.self, name: "sft", inputs: inputs, with: p)
            #expect(files(merged.outputs["model"]!)["adapter_model.safetensors"] == nil)
            let mergedModel = try Checkpoint.load(from: URL(fileURLWithPath: merged.outputs["model"]!))
            #expect(mergedModel.lora == nil)
            #expect(maxDifference(withAdapters, logits(mergedModel, tokens)) < 1e-5)
        }

        /// An example with nothing to train on is an error naming it, never a silent zero loss.
        @Test func anExampleWithoutAnAnswerIsAnErrorNamingIt() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Self.data(h).filter { ["model", "tokenizer"].contains($0.key) }
            let file = h.root.appendingPathComponent("chat.jsonl")
            try Data("""
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
            {"messages": [{"role": "user", "content": "Is anyone there?"}]}

            """.utf8).write(to: file)
            inputs["data"] = file.path
            #expect {
                try h.run(SFTStage.self, name: "sft", inputs: inputs, with: Self.sft)
            } throws: { error in
                "\(error)".contains("chat.jsonl:2: nothing to train on: it has no assistant message")
            }
        }

        @Test func rewardLearnsAnEasyPreferenceAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            var inputs = try Self.data(h).filter { ["model", "tokenizer"].contains($0.key) }
            // Easy: the chosen answer is polite and short, the rejected one rude.
            let file = h.root.appendingPathComponent("prefs.jsonl")
            let lines = (0..<48).map { i in
                #"{"prompt": "What is \#(i) plus 1?", "chosen": "It is \#(i + 1).", "rejected": "Ugh, look it up yourself. No.", "kind": "\#(i % 3 == 0 ? "three" : "other")"}"#
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            inputs["prefs"] = file.path
            let p: [String: Value] = [
                "block_size": .int(64), "batch_size": .int(8), "max_iters": .int(30), "warmup_iters": .int(2),
                "learning_rate": .double(3e-3), "min_lr": .double(3e-4), "eval_interval": .int(10), "val_share": .double(0.25),
                "checkpoint_interval": .int(0),
            ]
            let a = try h.run(RewardStage.self, name: "reward", inputs: inputs, with: p)
            let loss = a.series("loss")
            #expect(loss.count == 30)
            #expect(Self.mean(loss.suffix(5)) < Self.mean(loss.prefix(5)), "loss \(loss)")
            let accuracy = try #require(a.series("val_accuracy").last)
            #expect(accuracy > 0.75, "val_accuracy \(a.series("val_accuracy"))")
            #expect(a.series("val_margin").last.map { $0 > 0 } == true)
            #expect(a.series("val_reward_std").count == 1 && a.series("val_reward_mean").count == 1)
            // Accuracy per kind of pair, once at the end; together they make val_accuracy.
            let three = try #require(a.series("val_accuracy.three").last), other = try #require(a.series("val_accuracy.other").last)
            #expect(a.series("val_accuracy.three").count == 1 && (0...1).contains(three) && (0...1).contains(other))
            #expect(min(three, other) <= accuracy && accuracy <= max(three, other))
            let model = try Checkpoint.load(from: URL(fileURLWithPath: a.outputs["model"]!))
            #expect(model.hasScalarHead)

            let b = try h.run(RewardStage.self, name: "reward", inputs: inputs, with: p)
            #expect(files(a.outputs["model"]!) == files(b.outputs["model"]!))
        }

        @Test func accuracyByKindCountsOnlyPairsThatNameOne() {
            let byKind = RewardStage.accuracyByKind([true, false, true, false, true], kinds: ["a", "a", nil, "b", ""])
            #expect(byKind == ["val_accuracy.a": 0.5, "val_accuracy.b": 0])
        }

        func logits(_ model: GPT, _ tokens: [Int32]) -> [Float] {
            let tape = Tape(recordsGradients: false)
            var rng = RNG(seed: 0)
            let h = model.hidden(tape, tokens: tokens, batch: 1, rng: &rng)
            return tape.value(model.logits(tape, hidden: h)).array
        }

        func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
            zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        }
    }
}

/// sft's and reward's impossible values fail at `anneal validate`, each at its value.
@Suite struct FineTuneParametersTests {
    @Test func invalidFineTuningParametersFailAtValidate() {
        let text = tokenizeStages + """
          pre:
            uses: pretrain
            inputs: {shards: tok.shards, tokenizer: tok.tokenizer}
            with: {block_size: 64}
          sft:
            uses: sft
            inputs: {model: pre.model, tokenizer: tok.tokenizer, data: {file: p.yaml}}
            with: {method: lora, lora_rank: 0, lora_targets: [attn.qkv], block_size: 128, min_lr: 0.1}
          rm:
            uses: reward
            inputs: {model: sft.model, tokenizer: tok.tokenizer, prefs: {file: p.yaml}}
            with: {learning_rate: 0, dropout: 1.0}
        """
        #expect(diagnostics(text) == [
            "p.yaml:13:37: error: parameter 'with.lora_rank' of stage 'sft' must be ≥ 1, found 0",
            "p.yaml:13:54: error: parameter 'with.lora_targets' of stage 'sft' has 'attn.qkv', which is not one of attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, c_attn, c_fc",
            "p.yaml:13:78: error: parameter 'with.block_size' of stage 'sft': 128 is longer than the context of the input model (64); use at most 64, the block_size the model was trained with",
            "p.yaml:13:91: error: parameter 'with.min_lr' of stage 'sft': 0.1 is above learning_rate 0.0003",
            "p.yaml:17:27: error: parameter 'with.learning_rate' of stage 'rm' must be > 0, found 0",
            "p.yaml:17:39: error: parameter 'with.dropout' of stage 'rm' must be in [0, 1), found 1.0",
        ])
    }
}
