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

    static func modelDigest(_ r: Sandbox.Result) -> String? {
        (r.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == "pretrain" }?["outputs"]?["model"]?.stringValue
    }

    /// The pid of the `anneal exec-stage pretrain` child of `runner`, once it runs.
    static func stagePID(of runner: Int32) -> Int32? {
        let children = (try? String(contentsOfFile: "/proc/\(runner)/task/\(runner)/children", encoding: .utf8)) ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) {
            let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            if cmd.contains("exec-stage") && cmd.contains("pretrain") { return pid }
        }
        return nil
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
        let runner = s.start(["run", "p.yaml", "--json"])
        // Wait for pretrain's first checkpoint, then SIGKILL the stage process.
        var killed = false
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, runner.process.isRunning {
            let states = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []
            let checkpointed = states.contains { FileManager.default.fileExists(atPath: "\(s.dir)/cache/state/\($0)/checkpoint/progress.json") }
            if checkpointed, let pid = Self.stagePID(of: runner.process.processIdentifier) {
                kill(pid, SIGKILL)
                killed = true
                break
            }
            usleep(20_000)
        }
        #expect(killed, "pretrain never wrote a checkpoint")
        _ = runner.stdout.fileHandleForReading.readDataToEndOfFile()
        _ = runner.stderr.fileHandleForReading.readDataToEndOfFile()
        runner.process.waitUntilExit()
        #expect(runner.process.terminationStatus == 1)

        let rerun = s.run()
        #expect(rerun.statuses["pretrain"] == "ran")
        #expect(Self.modelDigest(rerun) == uninterrupted)
        let runID = try #require(rerun.json?["run"]?.stringValue)
        let log = s.anneal("log", runID, "pretrain").stdout
        #expect(log.contains("resumed from step "), "log: \(log.suffix(400))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []).isEmpty)
    }
}
