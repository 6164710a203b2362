import AnnealCompute
import AnnealModels
import AnnealPipeline
@testable import AnnealStages
import AnnealText
import Foundation
import Testing

/// pretrain on a tiny context: TinyWorld data through tokenize, a 2-layer model of width 16,
/// a few dozen steps.
extension InProcessStageTests {
    @Suite struct PretrainStageTests {
        static let tiny: [String: Value] = [
            "n_layer": .int(2), "n_head": .int(2), "n_embd": .int(16), "block_size": .int(16), "batch_size": .int(8),
            "max_iters": .int(40), "warmup_iters": .int(4), "learning_rate": .double(1e-2), "min_lr": .double(1e-3),
            "eval_interval": .int(20), "eval_iters": .int(2), "checkpoint_interval": .int(10),
        ]

        /// World (small) → tokenize (vocab 320): the inputs pretrain reads.
        static func data(_ h: StageHarness) throws -> [String: String] {
            let world = try h.run(TinyWorldStage.self, name: "world", with: [
                "countries": .int(6), "people": .int(8), "sft_pairs": .int(10), "preference_pairs": .int(10), "ppo_prompts": .int(4),
            ])
            let tok = try h.run(TokenizeStage.self, name: "tokenize", inputs: ["docs": world.outputs["corpus"]!],
                                with: ["vocab_size": .int(320), "validation_share": .double(0.2)])
            return ["shards": tok.outputs["shards"]!, "tokenizer": tok.outputs["tokenizer"]!,
                    "eval": world.outputs["eval"]!, "truth": world.outputs["truth"]!]
        }

        @Test func lossGoesDownAndTwoRunsGiveTheSameBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.data(h)
            let a = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: Self.tiny)
            let loss = a.series("loss")
            #expect(loss.count == 40)
            let val = a.series("val_loss")
            #expect(val.count >= 3 && val.last! < val.first! - 0.5, "val loss \(val)")
            let first: Double = loss.prefix(5).reduce(0, +) / 5, last: Double = loss.suffix(5).reduce(0, +) / 5
            #expect(last < first - 0.5, "loss \(loss)")
            #expect(a.series("lr").count == 40 && a.series("grad_norm").count == 40 && a.series("tokens_per_s").count == 40)
            let entropy = try #require(a.series("unigram_entropy").last)
            #expect(entropy > 2 && entropy < log(320))
            let cloze = try #require(a.series("cloze_exact_match").last)
            #expect(cloze >= 0 && cloze <= 1)
            for attribute in ["capital", "language", "currency", "home", "job", "age", "pet"] {
                #expect(a.series("cloze_exact_match_" + attribute).count == 1, "\(attribute)")
            }
            #expect(a.series("val_perplexity").last.map { abs($0 - exp(val.last!)) < 1e-6 } == true)

            let out = a.outputs["model"]!
            let model = try Checkpoint.load(from: URL(fileURLWithPath: out))
            let tokenizer = try BPETokenizer.load(contentsOf: URL(fileURLWithPath: out))
            #expect(model.config == GPTConfig(vocabSize: tokenizer.vocabSize, contextLength: 16, width: 16, layers: 2, heads: 2))
            #expect(Set(files(out).keys) == ["config.json", "model.safetensors", "train_config.json", "tokenizer.json", "tokenizer.anneal.json"])
            let trainConfig = try #require(Value.parseJSON(String(decoding: files(out)["train_config.json"]!, as: UTF8.self)))
            #expect(trainConfig["params"]?["learning_rate"] == .double(1e-2) && trainConfig["iterations"] == .int(40))

            let b = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: Self.tiny)
            #expect(files(out) == files(b.outputs["model"]!))
            let c = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: Self.tiny, seed: 2)
            #expect(files(out)["model.safetensors"] != files(c.outputs["model"]!)["model.safetensors"])
        }

        /// A run that finds a checkpoint in its state directory resumes from it and ends with
        /// the bytes of a run that was never interrupted.
        @Test func resumingFromACheckpointGivesTheUninterruptedBytes() throws {
            let h = StageHarness()
            defer { h.remove() }
            let inputs = try Self.data(h)
            var dropout = Self.tiny
            dropout["dropout"] = .double(0.1)
            let whole = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: dropout)
            // A run with a state directory leaves its last checkpoint (step 30) there; the runner
            // would delete it after a commit, the harness does not, so the next run resumes.
            let state = h.root.appendingPathComponent("state").path
            _ = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: dropout, state: state)
            let resumed = try h.run(PretrainStage.self, name: "pretrain", inputs: inputs, with: dropout, state: state)
            #expect(resumed.messages.contains("resumed from step 30"))
            #expect(resumed.series("loss").count == 10)
            #expect(files(whole.outputs["model"]!) == files(resumed.outputs["model"]!))
        }

        @Test func theStageRunsOnItsThreadBudget() throws {
            let h = StageHarness()
            defer { h.remove() }
            _ = try h.run(TinyWorldStage.self, name: "world", with: ["countries": .int(3), "people": .int(2)], threads: 1)
            #expect(BLAS.threads == 1 && ComputeThreads.count == 1 && TextThreads.count == 1)
            _ = try h.run(TinyWorldStage.self, name: "world", with: ["countries": .int(3), "people": .int(2)], threads: 2)
            #expect(BLAS.threads == 2 && ComputeThreads.count == 2 && TextThreads.count == 2)
        }
    }
}
