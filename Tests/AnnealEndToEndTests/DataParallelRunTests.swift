import AnnealPipeline
import Foundation
import Testing

/// `tasks: 2` on the local executor: pretrain as two processes through `mpirun`, gradients
/// all-reduced over Open MPI, against the same stage as one process.
@Suite(.enabled(if: MPIProbe.hasOpenMPI, "Open MPI's mpirun is not on PATH: install openmpi-bin and libopenmpi-dev (SLURM_MPI=1 scripts/slurm-up does, as scripts/test runs it)"))
struct DataParallelRunTests {
    /// A pretrain of 40 steps over 8-sequence batches, checkpointing every 10.
    static func pipeline(name: String = "dp", tasks: Int) -> String {
        """
        name: \(name)
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
            threads: 1
            tasks: \(tasks)
            inputs: {shards: tokenize.shards, tokenizer: tokenize.tokenizer}
            with: {n_layer: 2, n_head: 2, n_embd: 16, block_size: 16, batch_size: 8, max_iters: 40, warmup_iters: 5,
                   learning_rate: 0.01, min_lr: 0.001, eval_interval: 10, eval_iters: 2, checkpoint_interval: 10}

        """
    }

    /// `name` → value by step, of the pipeline's last pretrain run.
    static func series(_ s: Sandbox, _ name: String) -> [Int: Double] {
        let r = s.anneal("metrics", "p.yaml", "--stage", "pretrain", "--json")
        var out: [Int: Double] = [:]
        for point in r.json?["series"]?[name]?.listValue ?? [] {
            if let step = point["step"]?.intValue, let v = point["value"]?.doubleValue { out[step] = v }
        }
        return out
    }

    static func modelDigest(_ r: Sandbox.Result) -> String? { ResumeTests.modelDigest(r) }

    /// The largest loss difference measured here was 2.4e-7 (float rounding of a sum taken in
    /// two parts); 1e-5 is the tolerance the docs state.
    @Test func twoTasksFollowTheOneTaskLossCurve() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline(tasks: 1))
        let one = s.run()
        let oneLoss = Self.series(s, "loss"), oneVal = Self.series(s, "val_loss")
        s.write("p.yaml", Self.pipeline(tasks: 2))
        // Where a stage runs does not change what it computes: tasks is not in the action key.
        #expect(s.run().statuses["pretrain"] == "cached")
        let two = s.run("p.yaml", ["--force", "pretrain"])
        #expect(two.statuses["pretrain"] == "ran")
        let twoLoss = Self.series(s, "loss"), twoVal = Self.series(s, "val_loss")
        #expect(oneLoss.count == 40 && twoLoss.keys.sorted() == oneLoss.keys.sorted())
        #expect(oneVal.count == 5 && twoVal.keys.sorted() == oneVal.keys.sorted())
        for (step, loss) in oneLoss { #expect(abs(loss - twoLoss[step]!) <= 1e-5, "step \(step): \(loss) vs \(twoLoss[step]!)") }
        for (step, loss) in oneVal { #expect(abs(loss - twoVal[step]!) <= 1e-5, "val at \(step): \(loss) vs \(twoVal[step]!)") }
        #expect(oneLoss[40]! < oneLoss[1]! - 0.5, "it trains")
        let log = ResumeTests.log(s, two, stage: "pretrain")
        #expect(log.contains("data-parallel: 2 tasks share each batch of 8 sequences"), "\(log.suffix(600))")
        #expect(Self.modelDigest(one) != nil && Self.modelDigest(two) != nil)
        // Two tasks again: the same bytes (the reduction order is fixed).
        #expect(Self.modelDigest(s.run("p.yaml", ["--force", "pretrain"])) == Self.modelDigest(two))
    }

    /// The relay is the runner's child; SIGKILL it once a checkpoint is on disk: the runner
    /// ends mpirun and the tasks with it, and the rerun resumes to the uninterrupted bytes.
    @Test func aKilledTwoTaskPretrainResumesToTheUninterruptedBytes() throws {
        let whole = Sandbox()
        defer { whole.remove() }
        whole.write("p.yaml", Self.pipeline(tasks: 2))
        let uninterrupted = try #require(Self.modelDigest(whole.run()))

        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline(tasks: 2))
        let runner = s.start(["run", "p.yaml", "--json"])
        var killed = false
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, runner.process.isRunning, !killed {
            let states = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? []
            if states.contains(where: { FileManager.default.fileExists(atPath: "\(s.dir)/cache/state/\($0)/checkpoint/progress.json") }),
               let relay = MPIProbe.child(of: runner.process.processIdentifier, running: "exec-tasks") {
                kill(relay, SIGKILL)
                killed = true
            }
            usleep(20_000)
        }
        #expect(killed, "pretrain never wrote a checkpoint")
        _ = runner.stdout.fileHandleForReading.readDataToEndOfFile()
        _ = runner.stderr.fileHandleForReading.readDataToEndOfFile()
        runner.process.waitUntilExit()
        #expect(runner.process.terminationStatus == 1)
        #expect(MPIProbe.processes(running: s.dir).isEmpty, "no task outlives the killed stage")

        let rerun = s.run()
        #expect(rerun.statuses["pretrain"] == "ran")
        #expect(Self.modelDigest(rerun) == uninterrupted)
        #expect(ResumeTests.log(s, rerun, stage: "pretrain").contains("resumed from step "))
    }
}

/// Without Open MPI a stage of several tasks fails, saying what to install.
@Suite struct DataParallelWithoutMPITests {
    @Test func aStageOfTwoTasksWithoutMpirunSaysWhatToInstall() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", DataParallelRunTests.pipeline(tasks: 2))
        let r = s.anneal(["run", "p.yaml", "--json"], environment: ["PATH": s.dir + "/no-mpi-here"])
        #expect(r.code == 1)
        #expect(r.statuses["pretrain"] == "failed")
        let error = (r.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == "pretrain" }?["error"]?.stringValue ?? ""
        #expect(error.contains("through mpirun, which is not on PATH: install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)"),
                "\(error)")
    }
}

enum MPIProbe {
    static var hasOpenMPI: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/mpirun")
        }
    }

    static func cmdline(_ pid: Int32) -> [String] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return text.split(separator: "\0").map(String.init)
    }

    /// The child of `parent` whose command line has `argument`.
    static func child(of parent: Int32, running argument: String) -> Int32? {
        children(of: parent).first { cmdline($0).contains(argument) }
    }

    /// The children of every thread of `parent`: the runner starts local stages from the
    /// threads that watch them, and /proc lists a child under the thread that started it.
    static func children(of parent: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(parent)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(parent)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }

    /// Live processes whose environment names `text` (a sandbox's stage processes do, in
    /// their ANNEAL_* paths).
    static func processes(running text: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.filter { pid in
            guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].split(separator: " ").first != "Z" else { return false }
            return String(decoding: env, as: UTF8.self).contains(text + "/cache/")
        }
    }
}
