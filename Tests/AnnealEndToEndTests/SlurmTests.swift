import AnnealPipeline
import Foundation
import Testing

/// The Slurm executor against a real Slurm (a single node started by scripts/slurm-up, which
/// scripts/test runs first). Each test's pipeline has its own name, so its jobs are found by
/// job name even while other tests' jobs share the queue.
@Suite(.enabled(if: SlurmQueueProbe.isUp, "Slurm is not up (`scontrol ping` fails): start it with scripts/slurm-up, as scripts/test does"))
struct SlurmTests {
    @Test func tinychatOnSlurmGivesTheLocalLockfile() throws {
        let local = Sandbox(), slurm = Sandbox()
        defer { local.remove(); slurm.remove() }
        let text = try DataPipelineTests.shrunkenTinychat()
        local.write("pipelines/tinychat.yaml", text)
        slurm.write("pipelines/tinychat.yaml", text)
        let l = local.anneal(["run", "--json"])
        #expect(l.code == 0, "\(l.stderr.suffix(800))")
        let s = slurm.anneal(["run", "--json", "--executor", "slurm"])
        #expect(s.code == 0, "\(s.stderr.suffix(800))")
        #expect(s.statuses == l.statuses)
        #expect(s.statuses.values.allSatisfy { $0 == "ran" })
        let lock = try #require(local.read("pipelines/tinychat.lock"))
        #expect(slurm.read("pipelines/tinychat.lock") == lock)
        // Every stage ran as a job, and each job's log says what being one cost.
        let log = slurm.anneal("log", "last", "pretrain", "--cache", "cache").stdout
        #expect(log.contains("anneal: submit to start"))
        #expect(SlurmQueueProbe.jobs(named: "anneal:tinychat:pretrain").count >= 1)
        #expect(slurm.anneal(["run", "--json", "--executor", "slurm"]).statuses.values.allSatisfy { $0 == "cached" })
    }

    /// `tasks: 2` as one job of two tasks (`srun --mpi=pmix`) computes the bytes two local
    /// tasks (`mpirun`) do, and reports its progress through the relay.
    @Test(.enabled(if: MPIProbe.hasOpenMPI, "Open MPI is not installed (SLURM_MPI=1 scripts/slurm-up installs it)"))
    func aTwoTaskPretrainOnSlurmGivesTheLocalBytes() throws {
        let local = Sandbox(), slurm = Sandbox()
        defer { local.remove(); slurm.remove() }
        let name = SlurmQueueProbe.uniqueName("dp")
        local.write("p.yaml", DataParallelRunTests.pipeline(name: name, tasks: 2))
        slurm.write("p.yaml", DataParallelRunTests.pipeline(name: name, tasks: 2))
        let l = local.run()
        let s = slurm.run("p.yaml", ["--executor", "slurm"])
        #expect(ResumeTests.modelDigest(s) == ResumeTests.modelDigest(l))
        #expect(slurm.read("p.lock") == local.read("p.lock"))
        #expect(DataParallelRunTests.series(slurm, "loss").count == 40, "every step's loss came through the relay")
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):pretrain").isEmpty)
        let job = try #require(SlurmQueueProbe.jobs(named: "anneal:\(name):pretrain").first)
        let shown = (try? SlurmQueueProbe.squeue(["scontrol", "show", "job", job])) ?? ""
        #expect(shown.contains("NumTasks=2"), "\(shown)")
    }

    @Test func aFailingJobIsAFailedStageWithItsLog() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("fail")
        s.write("p.yaml", "name: \(name)\nexecutor: slurm\nstages:\n  a: {run: 'echo about to fail; exit 3', outputs: [o]}\n")
        let r = s.run(code: 1)
        #expect(r.statuses == ["a": "failed"])
        let error = r.json?["stages"]?.listValue?.first?["error"]?.stringValue ?? ""
        #expect(error.hasPrefix("stage 'a' failed with exit code 3 (Slurm job "), "\(error)")
        #expect(s.anneal("log", "last", "a", "--cache", "cache").stdout.contains("about to fail"))
        #expect(r.stderr.contains("Slurm job "), "the live line names the job")
    }

    @Test func aJobOverItsTimeLimitFailsWithSlurmsReason() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("time")
        // Slurm's smallest limit is a minute; its controller enforces it within about 30 s more.
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'echo sleeping; sleep 600', outputs: [o], resources: {time: '0:05'}}\n")
        let r = s.run("p.yaml", ["--executor", "slurm"], code: 1)
        let error = r.json?["stages"]?.listValue?.first?["error"]?.stringValue ?? ""
        #expect(error.hasPrefix("stage 'a' was killed by Slurm at its time limit: Slurm job "), "\(error)")
        #expect(error.contains("TIMEOUT"))
        #expect(s.anneal("log", "last", "--cache", "cache").stdout.contains("TIMEOUT"))
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").isEmpty)
    }

    @Test(arguments: [SIGINT, SIGTERM]) func interruptingTheRunCancelsItsJobs(signal: Int32) throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("cancel")
        // Two stages with the same action key (same command, no inputs) are two jobs, as they
        // are two processes locally: a once adopted b's job, and the run hung on the cancel.
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'sleep 600', outputs: [o]}\n  b: {run: 'sleep 600', outputs: [o]}\n")
        let p = s.start(["run", "p.yaml", "--executor", "slurm"])
        #expect(SlurmQueueProbe.waitUntil {
            SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").count == 1 && SlurmQueueProbe.activeJobs(named: "anneal:\(name):b").count == 1
        })
        kill(p.process.processIdentifier, signal)
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 130)
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").isEmpty)
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):b").isEmpty)
    }

    @Test func aKilledRunIsRerunByAdoptingItsJobs() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("adopt")
        // Each stage counts its executions in a file outside its outputs.
        s.write("p.yaml", """
            name: \(name)
            stages:
              a: {run: 'echo a >> runs.txt; sleep 4; echo A > ${outputs.o}/a', outputs: [o]}
              b: {run: 'echo b >> runs.txt; cat ${inputs.i}/a > ${outputs.o}/b', inputs: {i: a.o}, outputs: [o]}

            """)
        let p = s.start(["run", "p.yaml", "--executor", "slurm"])
        #expect(SlurmQueueProbe.waitUntil { SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").count == 1 })
        kill(p.process.processIdentifier, SIGKILL)
        p.process.waitUntilExit()
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").count == 1, "the job outlives the killed run")
        let r = s.run("p.yaml", ["--executor", "slurm"])
        #expect(r.statuses == ["a": "ran", "b": "ran"])
        #expect(s.read("runs.txt") == "a\nb\n", "nothing ran twice")
        #expect(SlurmQueueProbe.jobs(named: "anneal:\(name):a").count == 1, "one job for a, adopted, not resubmitted")
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").isEmpty && SlurmQueueProbe.activeJobs(named: "anneal:\(name):b").isEmpty)
        #expect(s.anneal(["run", "p.yaml", "--executor", "slurm", "--json"]).statuses == ["a": "cached", "b": "cached"])
        #expect((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/slurm")) ?? [] == [], "no job directory left")
    }

    /// The old job holds every core of the node (`cpus: 2`) and the new one needs them too: it is
    /// cancelled as the stage starts afresh, not at the end of the run, which the new job,
    /// pending behind it, would never reach.
    @Test(.timeLimit(.minutes(3)))
    func aJobOfAKilledRunWhoseKeyChangedIsCancelled() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("sweep")
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'sleep 600', outputs: [o], resources: {cpus: 2}}\n")
        let p = s.start(["run", "p.yaml", "--executor", "slurm"])
        #expect(SlurmQueueProbe.waitUntil { SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").count == 1 })
        kill(p.process.processIdentifier, SIGKILL)
        p.process.waitUntilExit()
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'echo changed', outputs: [o], resources: {cpus: 2}}\n")
        let r = s.run("p.yaml", ["--executor", "slurm"])
        #expect(r.statuses == ["a": "ran"])
        #expect(r.stderr.contains("cancelled Slurm job"), "\(r.stderr)")
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").isEmpty, "no orphan")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/slurm")) ?? [] == [])
    }

    /// A run killed between `sbatch` and writing the job id leaves a record with only the
    /// token; the job is still found (by the token in its comment) and cancelled.
    @Test func aJobWhoseIdWasNeverRecordedIsStillCancelled() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("noid")
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'sleep 600', outputs: [o]}\n")
        let p = s.start(["run", "p.yaml", "--executor", "slurm"])
        #expect(SlurmQueueProbe.waitUntil { SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").count == 1 })
        kill(p.process.processIdentifier, SIGKILL)
        p.process.waitUntilExit()
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/slurm")) ?? []
        #expect(dirs.count == 1)
        for d in dirs {
            let path = s.dir + "/cache/slurm/" + d + "/job.json"
            guard let data = FileManager.default.contents(atPath: path),
                  var record = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { Issue.record("no job.json"); continue }
            record["job"] = nil
            try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: path))
        }
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'echo changed', outputs: [o]}\n")
        let r = s.run("p.yaml", ["--executor", "slurm"])
        #expect(r.statuses == ["a": "ran"])
        #expect(r.stderr.contains("cancelled Slurm job"), "\(r.stderr)")
        #expect(SlurmQueueProbe.activeJobs(named: "anneal:\(name):a").isEmpty, "no orphan")
    }

    @Test func aJobTheClusterCannotRunIsAFailedStage() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("refused")
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'true', outputs: [o], resources: {mem: 100000000}}\n")
        let r = s.run("p.yaml", ["--executor", "slurm"], code: 1)
        let error = r.json?["stages"]?.listValue?.first?["error"]?.stringValue ?? ""
        #expect(error.hasPrefix("stage 'a' could not start: sbatch refused the job: "), "\(error)")
        #expect(error.contains("ask for fewer cpus or less mem"), "\(error)")
    }

    @Test func aJobOverItsMemoryFailsWithSlurmsReason() throws {
        let s = Sandbox()
        defer { s.remove() }
        let name = SlurmQueueProbe.uniqueName("mem")
        // About 200 MB held for 5 s, against a 50 MB limit Slurm checks every second.
        s.write("p.yaml", "name: \(name)\nstages:\n  a: {run: 'x=$(head -c 200000000 /dev/zero | tr \"\\\\0\" a); sleep 5', outputs: [o], resources: {mem: 50M}}\n")
        let r = s.run("p.yaml", ["--executor", "slurm"], code: 1)
        let error = r.json?["stages"]?.listValue?.first?["error"]?.stringValue ?? ""
        // Without cgroups Slurm ends it FAILED by signal 9; with them, OUT_OF_MEMORY.
        #expect(error.hasPrefix("stage 'a' was killed by Slurm for exceeding its memory limit: Slurm job ")
                || error.hasPrefix("stage 'a' was killed by Slurm: Slurm job "), "\(error)")
        #expect(error.contains("raise resources.mem"), "\(error)")
    }
}

/// Without Slurm: the executor refuses to start, saying what to do.
@Suite struct SlurmUsageTests {
    @Test func theSlurmExecutorWithoutSlurmIsAUsageError() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: u\nstages:\n  a: {run: 'true', outputs: [o]}\n")
        let r = s.anneal(["run", "p.yaml", "--executor", "slurm"], environment: ["PATH": s.dir + "/no-slurm-here"])
        #expect(r.code == 2)
        #expect(r.stderr.contains("the slurm executor cannot run: the Slurm commands (sbatch, squeue, scontrol) are not on PATH"), "\(r.stderr)")
        #expect(s.anneal(["run", "p.yaml", "--executor", "slurmm"]).code == 2)
    }
}

/// `squeue` from the tests' side.
enum SlurmQueueProbe {
    static var isUp: Bool { (try? squeue(["scontrol", "ping"]))?.contains("UP") == true }

    static func uniqueName(_ what: String) -> String { "\(what)\(UInt32.random(in: 0...UInt32.max))" }

    /// Ids of the jobs of this name Slurm knows, finished ones included.
    static func jobs(named name: String) -> [String] { ids(["squeue", "-h", "--me", "-t", "all", "--name=\(name)", "-o", "%i"]) }

    /// Ids of the jobs of this name that are queued or running.
    static func activeJobs(named name: String) -> [String] { ids(["squeue", "-h", "--me", "--name=\(name)", "-o", "%i"]) }

    static func waitUntil(seconds: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    private static func ids(_ argv: [String]) -> [String] {
        ((try? squeue(argv)) ?? "").split(separator: "\n").map(String.init)
    }

    static func squeue(_ argv: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return p.terminationStatus == 0 ? text : ""
    }
}
