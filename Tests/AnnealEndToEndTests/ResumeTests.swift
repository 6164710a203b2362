import AnnealPipeline
import Foundation
import Testing

/// A training stage killed mid-run resumes from its last checkpoint on the next `anneal run`
/// and ends with the bytes an uninterrupted run gives.
@Suite struct ResumeTests {
    static let pipeline = """
    name: resume
    seed: 5
    stages:
      world:
        uses: synth/tinyworld
        with: {countries: 6, people: 8, sft_pairs: 10, preference_pairs: 10, ppo_prompts: 4}
      tokenize:
        uses: tokenize
        inputs: {docs: world.corpus}
        with: {vocab_size: 320, validation_share: 0.2}
      pretrain:
        uses: pretrain
        inputs: {shards: tokenize.shards, tokenizer: tokenize.tokenizer}
        with: {n_layer: 2, n_head: 2, n_embd: 16, block_size: 16, batch_size: 8, max_iters: 150, warmup_iters: 5,
               learning_rate: 0.01, min_lr: 0.001, dropout: 0.1, eval_interval: 50, eval_iters: 2, checkpoint_interval: 10}

    """

    /// A brief pretrain, then sft and reward, for the fine-tuning stages' resume test: each
    /// checkpoints every 5 steps of 60, so a kill lands mid-run.
    static let fineTunePipeline = """
    name: resume-fine-tune
    seed: 5
    stages:
      world:
        uses: synth/tinyworld
        with: {countries: 6, people: 8, sft_pairs: 20, preference_pairs: 20, ppo_prompts: 12}
      tokenize:
        uses: tokenize
        inputs: {docs: world.corpus}
        with: {vocab_size: 320, validation_share: 0.2}
      pretrain:
        uses: pretrain
        inputs: {shards: tokenize.shards, tokenizer: tokenize.tokenizer}
        with: {n_layer: 2, n_head: 2, n_embd: 16, block_size: 64, batch_size: 4, max_iters: 10, warmup_iters: 2,
               learning_rate: 0.01, min_lr: 0.001, eval_interval: 0, eval_iters: 1, checkpoint_interval: 0}
      sft:
        uses: sft
        inputs: {model: pretrain.model, tokenizer: tokenize.tokenizer, data: world.sft, replay: tokenize.shards}
        with: {block_size: 64, batch_size: 4, max_iters: 60, warmup_iters: 2, learning_rate: 0.003, min_lr: 0.0003,
               val_share: 0.2, replay_ratio: 1.0, dropout: 0.1, eval_interval: 20, eval_iters: 2, checkpoint_interval: 5}
      reward:
        uses: reward
        inputs: {model: sft.model, tokenizer: tokenize.tokenizer, prefs: world.prefs}
        with: {block_size: 64, batch_size: 4, max_iters: 60, warmup_iters: 2, learning_rate: 0.003, min_lr: 0.0003,
               val_share: 0.2, dropout: 0.1, eval_interval: 20, checkpoint_interval: 5}
      ppo:
        uses: ppo
        inputs: {policy: sft.model, reward: reward.model, prompts: world.prompts, tokenizer: tokenize.tokenizer}
        with: {block_size: 64, rollouts: 4, batch_size: 2, ppo_epochs: 2, max_new_tokens: 8, max_iters: 24, warmup_iters: 1,
               val_share: 0.25, eval_interval: 8, checkpoint_interval: 3}

    """

    static func modelDigest(_ r: Sandbox.Result, stage: String = "pretrain") -> String? {
        (r.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == stage }?["outputs"]?["model"]?.stringValue
    }

    /// The pid of the `anneal exec-stage KIND` child of `runner`, once it runs.
    static func stagePID(of runner: Int32, kind: String) -> Int32? {
        for pid in MPIProbe.children(of: runner) {
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            let args = cmd.split(separator: "\0").map(String.init)
            if let at = args.firstIndex(of: "exec-stage"), args.dropFirst(at + 1).first == kind { return pid }
        }
        return nil
    }

    /// Starts `anneal run`, SIGKILLs the stage process of `kind` once a resume checkpoint is
    /// on disk (the only state in the cache then is that stage's: upstream stages were run
    /// before), and waits for the runner, which must report a failed stage.
    static func killAtFirstCheckpoint(_ s: Sandbox, kind: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let runner = s.start(["run", "p.yaml", "--json"])
        var killed = false
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, runner.process.isRunning {
            let states = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []
            let checkpointed = states.contains { FileManager.default.fileExists(atPath: "\(s.dir)/cache/state/\($0)/checkpoint/progress.json") }
            if checkpointed, let pid = stagePID(of: runner.process.processIdentifier, kind: kind) {
                kill(pid, SIGKILL)
                killed = true
                break
            }
            usleep(20_000)
        }
        #expect(killed, "\(kind) never wrote a checkpoint", sourceLocation: sourceLocation)
        _ = runner.stdout.fileHandleForReading.readDataToEndOfFile()
        _ = runner.stderr.fileHandleForReading.readDataToEndOfFile()
        runner.process.waitUntilExit()
        #expect(runner.process.terminationStatus == 1, sourceLocation: sourceLocation)
    }

    /// The log of `stage` in the run `r` reported.
    static func log(_ s: Sandbox, _ r: Sandbox.Result, stage: String) -> String {
        guard let runID = r.json?["run"]?.stringValue else { return "" }
        return s.anneal("log", runID, stage).stdout
    }

    @Test func sigkilledPretrainResumesToTheUninterruptedBytes() throws {
        let whole = Sandbox()
        defer { whole.remove() }
        whole.write("p.yaml", Self.pipeline)
        let uninterrupted = try #require(Self.modelDigest(whole.run()))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: whole.dir + "/cache/state")) ?? []
        #expect(left.isEmpty, "the state of a committed stage is deleted")

        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline)
        Self.killAtFirstCheckpoint(s, kind: "pretrain")

        let rerun = s.run()
        #expect(rerun.statuses["pretrain"] == "ran")
        #expect(Self.modelDigest(rerun) == uninterrupted)
        let log = Self.log(s, rerun, stage: "pretrain")
        #expect(log.contains("resumed from step "), "log: \(log.suffix(400))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []).isEmpty)
    }

    /// The same for `sft`, `reward` and then `ppo`: each is killed mid-run after its upstream
    /// stages completed, resumes on the next run (its log names the step or iteration), and its
    /// model has the bytes of an uninterrupted run's — for ppo that needs the rollout sampler's
    /// state and the KL controller's β restored too.
    @Test func sigkilledSFTRewardAndPPOResumeToTheUninterruptedBytes() throws {
        let whole = Sandbox()
        defer { whole.remove() }
        whole.write("p.yaml", Self.fineTunePipeline)
        let reference = whole.run()
        let sft = try #require(Self.modelDigest(reference, stage: "sft"))
        let reward = try #require(Self.modelDigest(reference, stage: "reward"))
        let ppo = try #require(Self.modelDigest(reference, stage: "ppo"))

        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.fineTunePipeline)
        s.run("p.yaml", ["--only", "pretrain"])
        Self.killAtFirstCheckpoint(s, kind: "sft")
        let sftRerun = s.run("p.yaml", ["--only", "sft"])
        #expect(sftRerun.statuses["sft"] == "ran")
        #expect(Self.modelDigest(sftRerun, stage: "sft") == sft)
        let sftLog = Self.log(s, sftRerun, stage: "sft")
        #expect(sftLog.contains("resumed from step "), "log: \(sftLog.suffix(400))")

        Self.killAtFirstCheckpoint(s, kind: "reward")
        let rewardRerun = s.run("p.yaml", ["--only", "reward"])
        #expect(rewardRerun.statuses["reward"] == "ran")
        #expect(Self.modelDigest(rewardRerun, stage: "reward") == reward)
        let rewardLog = Self.log(s, rewardRerun, stage: "reward")
        #expect(rewardLog.contains("resumed from step "), "log: \(rewardLog.suffix(400))")

        Self.killAtFirstCheckpoint(s, kind: "ppo")
        let ppoRerun = s.run()
        #expect(ppoRerun.statuses["ppo"] == "ran")
        #expect(Self.modelDigest(ppoRerun, stage: "ppo") == ppo)
        let ppoLog = Self.log(s, ppoRerun, stage: "ppo")
        #expect(ppoLog.contains("resumed from iteration "), "log: \(ppoLog.suffix(400))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []).isEmpty)
    }
}
