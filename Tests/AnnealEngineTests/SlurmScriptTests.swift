@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// The batch script runs here with /bin/sh, as a node would run it: no Slurm needed.
@Suite struct SlurmScriptTests {
    func invocation(dir: String, argv: [String], resources: StageResources = StageResources()) -> StageInvocation {
        StageInvocation(stage: "fit", key: String(repeating: "ab", count: 32), pipeline: "tiny chat", argv: argv,
                        environment: ["ANNEAL_STAGE": "fit", "ANNEAL_PARAMS": dir + "/it's params.json", "HOME": "/nowhere"],
                        directory: dir, logPath: dir + "/100%.log", scratch: dir, outputs: [:], threads: 2, resources: resources)
    }

    func sh(_ script: String, environment: [String: String] = [:]) throws -> (code: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [script]
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test func scriptRunsTheInvocationAndRecordsItsEnd() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let argv = ["/bin/sh", "-c", "echo \"$ANNEAL_STAGE $ANNEAL_PARAMS ${ANNEAL_STALE-unset}\"; printf '{\"step\": 3}\\n' >&3; exit 4"]
        let script = SlurmBatchScript.render(invocation(dir: dir, argv: argv), directory: dir)
        try script.write(toFile: dir + "/job.sh", atomically: false, encoding: .utf8)
        // A variable of the submitting run's environment does not leak into the stage.
        let r = try sh(dir + "/job.sh", environment: ["ANNEAL_STALE": "leaked"])
        #expect(r.code == 4)
        #expect(r.out == "fit \(dir)/it's params.json unset\n")
        #expect(try String(contentsOfFile: dir + "/progress", encoding: .utf8) == "{\"step\": 3}\n")
        let exit = try String(contentsOfFile: dir + "/exit", encoding: .utf8).split(separator: "\n")
        #expect(exit.count == 2 && exit[1] == "4" && Double(exit[0]) != nil)
        #expect(FileManager.default.fileExists(atPath: dir + "/started"))
    }

    @Test func aNodeThatCannotSeeTheJobDirectoryFailsSayingSo() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let unseen = dir + "/not-shared"
        let script = SlurmBatchScript.render(invocation(dir: unseen, argv: ["/bin/true"]), directory: unseen)
        try script.write(toFile: dir + "/copy.sh", atomically: false, encoding: .utf8)  // as sbatch keeps a copy
        let r = try sh(dir + "/copy.sh")
        #expect(r.code == SlurmBatchScript.unsharedFileSystem)
        #expect(r.out.contains("cannot see the job directory \(unseen): the cache and the workspace must be on a file system shared by the submitting host and every node"))
    }

    @Test func sbatchArgumentsCarryResourcesNameAndComment() {
        let dir = "/c"
        var args = SlurmBatchScript.arguments(invocation(dir: dir, argv: ["x"]), token: "t0")
        #expect(args == ["--job-name=anneal:tiny_chat:fit",
                         "--comment=anneal:pipeline=tiny_chat,stage=fit,key=\(String(repeating: "ab", count: 32)),token=t0",
                         "--output=/c/100%%.log", "--error=/c/100%%.log", "--open-mode=append", "--chdir=/c", "--no-requeue",
                         "--ntasks=1", "--cpus-per-task=2"])
        args = SlurmBatchScript.arguments(invocation(dir: dir, argv: ["x"], resources: StageResources(cpus: 4, mem: "2G", time: "1:00", partition: "p", gres: "gpu:1")), token: "t0")
        #expect(Array(args.suffix(5)) == ["--cpus-per-task=4", "--mem=2G", "--time=1:00", "--partition=p", "--gres=gpu:1"])
    }

    @Test func aStageOfSeveralTasksRunsThemThroughSrunUnderTheRelay() {
        var inv = invocation(dir: "/c", argv: ["/bin/anneal", "exec-stage", "pretrain"])
        inv.tasks = 3
        inv.threads = 1
        inv.environment["ANNEAL_BIN"] = "/bin/anneal"
        #expect(SlurmBatchScript.arguments(inv, token: "t0").contains("--ntasks=3"))
        #expect(SlurmBatchScript.arguments(inv, token: "t0").contains("--cpus-per-task=1"))
        let script = SlurmBatchScript.render(inv, directory: "/c")
        #expect(script.contains("'/bin/anneal' 'exec-tasks' '/c/progress.fifo' '--' 'srun' '--mpi=pmix' '--ntasks=3' '--cpus-per-task=1' "
                                + "'--kill-on-bad-exit=1' '/bin/anneal' 'exec-stage' 'pretrain' 3>>\"$dir/progress\""), "\(script)")
        let local = TaskLaunch.local(inv)
        #expect(Array(local.prefix(8)) == ["/bin/anneal", "exec-tasks", "/c/progress.fifo", "--", "mpirun", "-n", "3", "--bind-to"])
        #expect(Array(local.suffix(3)) == ["/bin/anneal", "exec-stage", "pretrain"])
        #expect(local.contains("--allow-run-as-root") == (geteuid() == 0))
    }

    /// The relay passes the FIFO's path to the launched command and ends with its status.
    @Test func theRelayGivesTheTasksItsFIFOAndTheLaunchersStatus() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let progress = Pipe()
        let code = TaskLaunch.relay(fifo: dir + "/progress.fifo", command: [
            "/bin/sh", "-c", "test -p \"$ANNEAL_PROGRESS_PATH\" && test -z \"$ANNEAL_PROGRESS_FD\" && echo '{\"step\":1}' >\"$ANNEAL_PROGRESS_PATH\" && exit 5",
        ], to: progress.fileHandleForWriting.fileDescriptor)
        try progress.fileHandleForWriting.close()
        #expect(code == 5)
        #expect(String(decoding: progress.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "{\"step\":1}\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/progress.fifo"), "the FIFO is removed")
        #expect(TaskLaunch.relay(fifo: dir + "/f", command: ["/bin/sh", "-c", "kill -TERM $$"], to: nil) == 128 + SIGTERM)
    }

    @Test func squeueLinesParse() {
        let info = SlurmJobInfo.parse("12|PENDING|Priority|2026-12-01T15:08:20|N/A|anneal:pipeline=p,stage=a,key=k,token=t|1:00")
        #expect(info == SlurmJobInfo(id: 12, state: "PENDING", reason: "Priority", submitTime: "2026-12-01T15:08:20", startTime: "N/A",
                                     comment: "anneal:pipeline=p,stage=a,key=k,token=t", timeLimit: "1:00"))
        #expect(info?.isTerminal == false)
        #expect(SlurmJobInfo.parse("13|CANCELLED by 0|None|a|b|c|d")?.state == "CANCELLED")
        #expect(SlurmJobInfo.parse("13|CANCELLED by 0|None|a|b|c|d")?.isTerminal == true)
        #expect(SlurmJobInfo.parse("x|RUNNING|None|a|b|c|d") == nil)
        #expect(SlurmJobInfo.parse("1|RUNNING|None") == nil)
    }
}
