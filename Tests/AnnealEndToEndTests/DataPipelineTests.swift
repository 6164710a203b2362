import Foundation
import Testing

/// The built-in stages through the real binary: tinyworld → clean → dedup → tokenize →
/// pretrain (tiny), reproduced bit for bit from its lockfile, and a user's own JSONL file.
@Suite struct DataPipelineTests {
    /// The source tree, for its pipelines; `ANNEAL_REPOSITORY` when the tests run where the
    /// clone is out of reach (scripts/test-unprivileged).
    static var repository: String {
        if let r = ProcessInfo.processInfo.environment["ANNEAL_REPOSITORY"] { return r }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The default pipeline with a smaller world and model, so a test runs all of it quickly;
    /// the stages are those of the default pipeline.
    static func shrunkenTinychat() throws -> String {
        let text = try String(contentsOfFile: Self.repository + "/pipelines/tinychat.yaml", encoding: .utf8)
            .replacingOccurrences(of: "countries: 16, people: 48", with: "countries: 12, people: 30")
            .replacingOccurrences(of: "vocab: 2048", with: "vocab: 600")
            .replacingOccurrences(of: "n_layer: 4, n_head: 4, n_embd: 192, block_size: 128, batch_size: 8",
                                  with: "n_layer: 1, n_head: 2, n_embd: 16, block_size: 64, batch_size: 4")
            .replacingOccurrences(of: "max_iters: 800", with: "max_iters: 6")
            .replacingOccurrences(of: "checkpoint_interval: 100", with: "checkpoint_interval: 2")
            .replacingOccurrences(of: "{method: full, block_size: 128, batch_size: 8", with: "{method: full, block_size: 64, batch_size: 4")
            .replacingOccurrences(of: "max_iters: 400", with: "max_iters: 4")
            .replacingOccurrences(of: "max_iters: 600", with: "max_iters: 4")
            .replacingOccurrences(of: "{block_size: 128, batch_size: 8", with: "{block_size: 64, batch_size: 4")
            .replacingOccurrences(of: "max_tokens: 64}", with: "max_tokens: 16, sample_prompts: 20}")
            .replacingOccurrences(of: "{block_size: 128, rollouts: 64, batch_size: 32, ppo_epochs: 4, max_new_tokens: 40",
                                  with: "{block_size: 64, rollouts: 4, batch_size: 2, ppo_epochs: 1, max_new_tokens: 8")
            .replacingOccurrences(of: "max_iters: 60", with: "max_iters: 2")
        #expect(!text.contains("block_size: 128"), "every stage fits the shrunken model's context")
        #expect(!text.contains("max_iters: 60,") && !text.contains("max_iters: 40"), "ppo's iterations are shrunk too")
        #expect(text.contains("countries: 12") && text.contains("vocab: 600") && text.contains("max_iters: 6") && text.contains("max_tokens: 16"))
        return text
    }

    @Test func tinychatDataHalfRunsAndReproduces() throws {
        let s = Sandbox()
        defer { s.remove() }
        let text = try Self.shrunkenTinychat()
        s.write("pipelines/tinychat.yaml", text)
        let r = s.anneal(["run", "--json"])
        #expect(r.code == 0, "\(r.stderr.suffix(800))")
        #expect(r.statuses == ["world": "ran", "clean": "ran", "dedup": "ran", "tokenize": "ran", "pretrain": "ran",
                              "sft": "ran", "reward": "ran", "ppo": "ran", "dpo": "ran", "eval": "ran"])
        let metrics = Dictionary(uniqueKeysWithValues: (r.json?["stages"]?.listValue ?? []).map { ($0["name"]!.stringValue!, $0["metrics"]!) })
        #expect((metrics["clean"]?["removed"]?.doubleValue ?? 0) > 0, "planted junk is removed")
        #expect((metrics["dedup"]?["exact_duplicates"]?.doubleValue ?? 0) > 0, "planted duplicates are found")
        #expect(metrics["tokenize"]?["vocab_size"]?.doubleValue == 600)
        for name in ["loss", "val_loss", "unigram_entropy", "cloze_exact_match"] {
            #expect(metrics["pretrain"]?[name]?.doubleValue != nil, "pretrain reports \(name)")
        }
        for name in ["loss", "val_loss", "heldout_exact_match", "seen_exact_match"] {
            #expect(metrics["sft"]?[name]?.doubleValue != nil, "sft reports \(name)")
        }
        for name in ["loss", "val_accuracy", "val_margin", "val_reward_mean", "val_reward_std"] {
            #expect(metrics["reward"]?[name]?.doubleValue != nil, "reward reports \(name)")
        }
        for name in ["reward_mean", "reward_std", "kl", "entropy", "clip_fraction", "value_loss", "approx_kl", "response_length",
                     "val_reward_mean", "val_win_rate", "val_kl", "ptx_loss", "replay_loss"] {
            #expect(metrics["ppo"]?[name]?.doubleValue != nil, "ppo reports \(name)")
        }
        for name in ["loss", "reward_chosen", "reward_rejected", "accuracy", "margin", "val_accuracy", "val_margin"] {
            #expect(metrics["dpo"]?[name]?.doubleValue != nil, "dpo reports \(name)")
        }
        for name in ["truth_accuracy.sft", "refusal_rate.sft", "false_refusal_rate.pretrain", "distinct_2.sft",
                     "perplexity.pretrain", "retention.sft", "win_rate.sft_vs_pretrain", "win_rate.ppo_vs_sft", "gold_win_rate.dpo_vs_sft", "kl.ppo", "truth_accuracy.dpo", "gold_win_rate_ci_low.sft_vs_pretrain",
                     "reward_hacking.sft_vs_pretrain"] {
            #expect(metrics["eval"]?[name]?.doubleValue != nil, "eval reports \(name)")
        }
        // Without --json the run ends with eval's summary table, also when every stage is cached.
        let again = s.anneal(["run"])
        #expect(again.code == 0 && again.stdout.contains("== eval: report/summary.md ==") && again.stdout.contains("| sft_vs_pretrain |"),
                "\(again.stdout)")
        // An sft parameter changes sft and what trains on its model, nothing upstream, and
        // status says why.
        let changed = s.anneal(["status", "--json", "--set", "stages.sft.with.learning_rate=0.0001"])
        #expect(changed.statuses == ["world": "fresh", "clean": "fresh", "dedup": "fresh", "tokenize": "fresh",
                                     "pretrain": "fresh", "sft": "stale", "reward": "stale", "ppo": "stale", "dpo": "stale",
                                     "eval": "stale"], "\(changed.stdout)")
        #expect(changed.reasons("sft").contains { $0.contains("learning_rate") && $0.contains("0.0001") }, "\(changed.reasons("sft"))")
        #expect(changed.reasons("reward").contains { $0.contains("sft") }, "\(changed.reasons("reward"))")
        // A ppo parameter reruns only ppo and eval, which reads ppo's model.
        let ppoChanged = s.anneal(["status", "--json", "--set", "stages.ppo.with.beta=0.5"])
        #expect(ppoChanged.statuses == ["world": "fresh", "clean": "fresh", "dedup": "fresh", "tokenize": "fresh",
                                        "pretrain": "fresh", "sft": "fresh", "reward": "fresh", "ppo": "stale", "dpo": "fresh",
                                        "eval": "stale"], "\(ppoChanged.stdout)")
        #expect(ppoChanged.reasons("ppo").contains { $0.contains("beta") && $0.contains("0.5") }, "\(ppoChanged.reasons("ppo"))")
        #expect(ppoChanged.reasons("eval").contains { $0.contains("ppo") }, "\(ppoChanged.reasons("eval"))")
        for output in ["world.sft", "world.prefs", "world.prompts", "world.eval", "world.truth", "clean.report", "tokenize.shards"] {
            #expect(s.anneal(["path", output, "--cache", "cache"]).code == 0, "\(output) exists")
        }
        // The same pipeline, rebuilt from scratch, gives the same bytes at every stage.
        let repro = s.anneal("repro", "pipelines/tinychat.lock")
        #expect(repro.code == 0, "\(repro.stdout)\(repro.stderr.suffix(500))")
        // encode/decode through STAGE.OUTPUT round-trip a text.
        s.write("q.txt", "Where does Bob live? <|user|>\n")
        let ids = s.anneal("encode", "tokenize.tokenizer", "q.txt")
        #expect(ids.code == 0 && ids.stdout.hasPrefix("["))
        s.write("ids.json", ids.stdout)
        #expect(s.anneal("decode", "tokenize.tokenizer", "ids.json").stdout == "Where does Bob live? <|user|>\n")
    }

    @Test func userJSONLThroughCleanDedupTokenize() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("pipelines/my-data.yaml", try String(contentsOfFile: Self.repository + "/pipelines/my-data.yaml", encoding: .utf8))
        s.write("data/my.jsonl", try String(contentsOfFile: Self.repository + "/data/my.jsonl", encoding: .utf8))
        let r = s.run("pipelines/my-data.yaml")
        let stages = r.json?["stages"]?.listValue ?? []
        let kept = stages.first { $0["name"]?.stringValue == "dedup" }?["metrics"]?["kept"]?.doubleValue
        #expect(kept == 60, "the junk line and the copy are gone; the 60 distinct documents stay")
        let dir = s.anneal("path", "dedup.docs", "-p", "pipelines/my-data.yaml").stdout.trimmingCharacters(in: .newlines)
        let first = try String(contentsOfFile: dir + "/docs.jsonl", encoding: .utf8).split(separator: "\n").first ?? ""
        #expect(first.contains("\"id\": \"doc00\"") || first.contains("\"id\":\"doc00\""), "documents keep all their fields")
        // A bad parameter is caught before anything runs, at its line and column.
        s.write("pipelines/bad.yaml", "name: b\nstages:\n  d:\n    uses: dedup\n    inputs: {docs: {file: data/my.jsonl}}\n    with: {treshold: 0.5}\n")
        let bad = s.anneal("validate", "pipelines/bad.yaml")
        #expect(bad.stderr.hasPrefix("pipelines/bad.yaml:6:12: error: unknown parameter 'with.treshold' of stage 'd'; did you mean 'threshold'?"))
    }
}
