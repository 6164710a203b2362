import Foundation
import Testing

/// The habits DVC and Snakemake users bring (issue 8, section 3): each test drives the real
/// binary the way such a user would and failed before its fix.
@Suite struct HabitTests {
    static let chain = """
        name: h
        seed: 4
        params: {n: 3}
        stages:
          gen:
            run: sh -c 'seq 1 ${params.n} > ${outputs.o}/v'
            outputs: [o]
          use:
            run: sh -c 'sort -rn ${inputs.i}/v > ${outputs.o}/v'
            inputs: {i: gen.o}
            outputs: [o]
          other:
            run: sh -c 'echo other > ${outputs.o}/v'
            outputs: [o]

        """

    @Test func dryRunHonoursOnlyAndForce() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.chain)
        _ = s.run()
        let dry = s.anneal("run", "p.yaml", "--dry-run", "--json", "--only", "gen", "--force", "gen")
        #expect(dry.code == 0)
        #expect(dry.statuses == ["gen": "stale"], "--only leaves out what it does not select")
        #expect(dry.reasons("gen") == ["forced"])
        let text = s.anneal("run", "p.yaml", "--dry-run", "--force", "use")
        #expect(text.stdout.contains("use    would run: forced"))
        #expect(text.stdout.contains("1 of 3 stages would run"))
        let forced = s.run("p.yaml", ["--force", "gen"])
        #expect(forced.reasons("gen") == ["forced"])
    }

    @Test func textOutputSaysHowManyReasonsItLeftOut() {
        let s = Sandbox()
        defer { s.remove() }
        let p = { (a: Int) in "name: r\nparams: {a: \(a), b: \(a), c: \(a), d: \(a), e: \(a)}\nstages:\n  x:\n    run: sh -c 'echo ${params.a} ${params.b} ${params.c} ${params.d} ${params.e} > ${outputs.o}/v'\n    outputs: [o]\n" }
        s.write("p.yaml", p(1))
        _ = s.run()
        s.write("p.yaml", p(2))
        #expect(s.anneal("status", "p.yaml").stdout.contains("param params.e: 1 → 2"), "status shows every reason")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 0)
        #expect(r.stderr.contains("▶ x (param params.a: 1 → 2; param params.b: 1 → 2; param params.c: 1 → 2; +2 more)"), "\(r.stderr)")
    }

    @Test func threadsAreClampedToJobs() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: t\nstages:\n  w:\n    run: sh -c 'echo $ANNEAL_THREADS > ${outputs.o}/t'\n    outputs: [o]\n    threads: 8\n")
        let r = s.run("p.yaml", ["--jobs", "2"])
        let digest = r.json?["stages"]?.listValue?.first?["outputs"]?["o"]?.stringValue ?? ""
        #expect(try String(contentsOfFile: "\(s.dir)/cache/objects/\(digest.prefix(2))/\(digest)/t", encoding: .utf8) == "2\n")
    }

    @Test func reproOfAPipelineIsAUsageError() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.chain)
        let r = s.anneal("repro", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("repro takes a lockfile"), "\(r.stderr)")
        #expect(r.stderr.contains("p.lock"))
        s.write("pipeline.txt", Self.chain)
        let other = s.anneal("repro", "pipeline.txt")
        #expect(other.code == 2)
        #expect(other.stderr.contains("pipeline.txt is not a lockfile"), "\(other.stderr)")
    }

    @Test func initThenRunWithNoArgument() {
        let s = Sandbox()
        defer { s.remove() }
        #expect(s.anneal("init", "ws").code == 0)
        let ws = Sandbox.Subdirectory(sandbox: s, path: "ws")
        let r = ws.anneal(["run", "--json"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.statuses == ["repeat": "ran", "count": "ran"])
        #expect(FileManager.default.fileExists(atPath: s.dir + "/ws/pipelines/example.lock"))
        #expect(ws.anneal(["repro"]).code == 0, "repro with no argument uses the default pipeline's lock")
    }

    @Test func setIsRecordedInTheLockAndReproApplied() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: o\nparams: {n: 2}\nstages:\n  a:\n    run: sh -c 'seq ${params.n} > ${outputs.o}/v'\n    outputs: [o]\n    with: {k: 1}\n")
        _ = s.run("p.yaml", ["--set", "params.n=3", "--set", "stages.a.with.k=5"])
        #expect(s.read("p.lock")?.contains("overrides: [\"params.n=3\",\"stages.a.with.k=5\"]") == true, "\(s.read("p.lock") ?? "")")
        let r = s.anneal("repro", "p.lock")
        #expect(r.code == 0, "\(r.stdout)\(r.stderr)")
        let bad = s.anneal("run", "p.yaml", "--set", "params.m=3")
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("override names no pipeline param 'params.m'; did you mean 'params.n'?"), "\(bad.stderr)")
    }

    @Test func withOverrideIsNotReportedAsRemoved() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: o\nparams: {n: 2}\nstages:\n  a:\n    run: sh -c 'echo 1 > ${outputs.o}/v'\n    outputs: [o]\n    with: {k: '${params.n}'}\n")
        // Overriding a `with` value that referred to a pipeline param adds or removes no param.
        _ = s.run("p.yaml", ["--set", "stages.a.with.k=7"])
        #expect(s.status().reasons("a") == ["param with.k: 7 → 2"])
        #expect(s.anneal("status", "p.yaml", "--set", "stages.a.with.j=2", "--json").reasons("a") == ["param with.j added: 2", "param with.k: 7 → 2"])
        _ = s.run()
        #expect(s.anneal("status", "p.yaml", "--set", "stages.a.with.k=8", "--json").reasons("a") == ["param with.k: 2 → 8"])
    }

    @Test func failedStageShowsItsLogTailAndTheCommandForTheRest() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: f\nstages:\n  bad:\n    run: sh -c 'seq 1 30; exit 4'\n    outputs: [o]\n")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 1)
        #expect(r.stderr.contains("    21\n") && r.stderr.contains("    30\n") && !r.stderr.contains("    20\n"), "\(r.stderr)")
        #expect(r.stderr.contains("whole log: anneal log "), "\(r.stderr)")
    }

    @Test func logFollowsARunningStage() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: f\nstages:\n  slow:\n    run: sh -c 'echo begin; sleep 2; echo end; echo x > ${outputs.o}/v'\n    outputs: [o]\n")
        let p = s.start(["run", "p.yaml"])
        var during = ""
        for _ in 0..<100 where !during.contains("begin") {
            Thread.sleep(forTimeInterval: 0.1)
            during = s.anneal("log", "last", "slow").stdout
        }
        #expect(during.contains("begin") && !during.contains("end"), "the log of a running stage: \(during)")
        let followed = s.anneal("log", "last", "slow", "--follow")
        #expect(followed.stdout == "begin\nend\n")
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 0)
    }

    @Test func logFollowEndsWhenTheRunIsKilled() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: f\nstages:\n  slow:\n    run: sh -c 'echo begin; sleep 5; echo x > ${outputs.o}/v'\n    outputs: [o]\n")
        let p = s.start(["run", "p.yaml"])
        var during = ""
        for _ in 0..<100 where !during.contains("begin") {
            Thread.sleep(forTimeInterval: 0.1)
            during = s.anneal("log", "last", "slow").stdout
        }
        kill(p.process.processIdentifier, SIGKILL)
        p.process.waitUntilExit()
        // The ledger still says `running`; nobody holds the cache lock, so following ends.
        #expect(s.anneal("log", "last", "slow", "--follow").stdout == "begin\n")
    }

    @Test func runsFromASubdirectoryOrWithDashC() {
        let s = Sandbox()
        defer { s.remove() }
        #expect(s.anneal("init", ".").code == 0)
        s.write("data/deep/keep.txt", "x")
        let sub = Sandbox.Subdirectory(sandbox: s, path: "data/deep")
        let r = sub.anneal(["run", "--json"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.statuses == ["repeat": "ran", "count": "ran"])
        #expect(!FileManager.default.fileExists(atPath: s.dir + "/data/deep/cache"), "the cache is the workspace's")
        #expect(sub.anneal(["status", "../../pipelines/example.yaml", "--json"]).statuses == ["repeat": "fresh", "count": "fresh"])
        let other = Sandbox("dashc")
        defer { other.remove() }
        let c = other.anneal(["-C", s.dir, "status", "--json"])
        #expect(c.statuses == ["repeat": "fresh", "count": "fresh"], "\(c.stderr)")
        let lost = other.anneal(["status"])
        #expect(lost.code == 2)
        #expect(lost.stderr.contains("-C DIR"), "\(lost.stderr)")
    }

    @Test func lockedReportsEveryDifferenceBeforeRunningAnything() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.chain)
        _ = s.run()
        let changed = Self.chain.replacingOccurrences(of: "{n: 3}", with: "{n: 4}").replacingOccurrences(of: "echo other", with: "echo changed")
            + "  fresh:\n    run: sh -c 'echo new > ${outputs.o}/v'\n    outputs: [o]\n"
        s.write("p.yaml", changed)
        let r = s.anneal("run", "p.yaml", "--locked", "--json")
        #expect(r.code == 1)
        #expect(r.statuses == ["gen": "failed", "use": "skipped", "other": "failed", "fresh": "failed"])
        #expect(r.stderr.contains("--locked: stage 'gen' differs from p.lock: param params.n: 3 → 4"))
        #expect(r.stderr.contains("--locked: stage 'other' differs from p.lock: command changed"))
        #expect(r.stderr.contains("--locked: stage 'fresh' differs from p.lock: not in the lockfile"))
        #expect(s.anneal("runs", "--json").json?["runs"]?.listValue?.first?["stages"]?["ran"] == nil, "nothing ran")
    }

    @Test func ambiguousRunPrefixListsTheCandidates() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.chain)
        let a = s.run().json?["run"]?.stringValue ?? "", b = s.run().json?["run"]?.stringValue ?? ""
        let common = String(zip(a, b).prefix { $0 == $1 }.map(\.0))
        let r = s.anneal("log", common)
        #expect(r.code == 2)
        #expect(r.stderr.contains("ambiguous") && r.stderr.contains(a) && r.stderr.contains(b), "\(r.stderr)")
    }

    @Test func finishedLineShowsHeadlineMetrics() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("fit.sh", """
            echo '{"metrics": {"warmup": 9}}' >&3
            echo '{"metrics": {"loss": 0.123456789, "tokens": 42, "rate": 12345.678}}' >&3
            echo 1 > "$ANNEAL_OUTPUT_O/v"

            """)
        s.write("p.yaml", "name: m\nstages:\n  fit:\n    run: sh ${inputs.script}\n    inputs: {script: {file: fit.sh}}\n    outputs: [o]\n")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 0)
        #expect(r.stderr.contains("✓ fit ran in ") && r.stderr.contains("  loss 0.1235  rate 12350  tokens 42\n"), "\(r.stderr)")
        let finished = r.stderr.split(separator: "\n").first { $0.contains("✓ fit ran") } ?? ""
        #expect(!finished.contains("warmup"), "headline metrics are those of the last report")
        // A plugin declares its headline: the finished line shows those, in that order.
        s.write("stages/fitter/stage.yaml", "version: 1\ncommand: sh ${plugin}/fit.sh\noutputs: [o]\nheadline: [tokens, warmup]\n")
        s.write("stages/fitter/fit.sh", s.read("fit.sh")!)
        s.write("q.yaml", "name: q\nstages:\n  fit: {uses: fitter}\n")
        let q = s.anneal("run", "q.yaml")
        #expect(q.stderr.contains("  tokens 42  warmup 9\n"), "\(q.stderr)")
    }

    static func trainer(_ loss: String, sleep: Int = 0) -> String {
        "name: m\nstages:\n  train:\n    run: sh ${inputs.script} \(loss) \(sleep)\n    inputs: {script: {file: train.sh}}\n    outputs: [o]\n"
    }

    static let trainScript = """
        for i in 1 2 3; do echo "{\\"step\\": $i, \\"metrics\\": {\\"loss\\": $1$i}}" >&3; done
        sleep $2
        echo x > "$ANNEAL_OUTPUT_O/v"

        """

    @Test func metricsShowWhatThePipelineHoldsNow() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.sh", Self.trainScript)
        s.write("p.yaml", Self.trainer("0.5"))
        s.write("q.yaml", Self.trainer("0.9"))
        _ = s.run("p.yaml")
        let other = s.run("q.yaml").json?["run"]?.stringValue ?? ""
        // An interrupted forced rerun reports a partial value that is no result of the pipeline.
        s.write("p.yaml", Self.trainer("0.1", sleep: 30))
        let p = s.start(["run", "p.yaml"])
        var seen = false
        for _ in 0..<100 where !seen {
            Thread.sleep(forTimeInterval: 0.1)
            seen = s.anneal("log", "last").stdout.contains("running")
        }
        Thread.sleep(forTimeInterval: 0.3)
        kill(p.process.processIdentifier, SIGINT)
        p.process.waitUntilExit()
        s.write("p.yaml", Self.trainer("0.5"))
        let now = s.anneal("metrics", "p.yaml", "--json")
        #expect(now.code == 0, "\(now.stderr)")
        #expect(now.json?["stages"]?["train"]?["loss"]?.doubleValue == 0.53, "\(now.stdout)")
        let series = s.anneal("metrics", "p.yaml", "--stage", "train", "--json").json?["series"]?["loss"]?.listValue ?? []
        #expect(series.compactMap { $0["value"]?.doubleValue } == [0.51, 0.52, 0.53])
        #expect(s.anneal("metrics", "p.yaml", "--run", other, "--json").json?["stages"]?["train"]?["loss"]?.doubleValue == 0.93)
        #expect(s.anneal("metrics", "p.yaml").stdout == "train: loss=0.53\n")
    }

    @Test func commandStageThatCannotReadTheSeedIgnoresIt() {
        let s = Sandbox()
        defer { s.remove() }
        let p = { (seed: Int) in """
            name: seed
            seed: \(seed)
            stages:
              blind:
                run: sh -c 'echo $ANNEAL_SEED > ${outputs.o}/v'
                outputs: [o]
              reads:
                run: sh -c 'echo ${seed} > ${outputs.o}/v'
                outputs: [o]
              declares:
                run: sh -c 'echo $ANNEAL_SEED > ${outputs.o}/v'
                outputs: [o]
                seed: 3

            """ }
        s.write("p.yaml", p(1))
        _ = s.run()
        s.write("p.yaml", p(2))
        let st = s.status()
        #expect(st.statuses == ["blind": "fresh", "reads": "stale", "declares": "fresh"])
        #expect(st.reasons("reads") == ["seed 1 → 2", "param seed: 1 → 2"] || st.reasons("reads") == ["param seed: 1 → 2"] || st.reasons("reads") == ["seed 1 → 2"])
    }

    @Test func reproNamesTheFirstDivergingFile() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: d
            stages:
              mix:
                run: sh -c 'echo same > ${outputs.o}/a.txt; cat /proc/sys/kernel/random/uuid > ${outputs.o}/b.txt; echo same > ${outputs.o}/c.txt'
                outputs: [o]

            """)
        _ = s.run()
        let r = s.anneal("repro", "p.lock", "--json")
        #expect(r.code == 1)
        let details = r.json?["stages"]?.listValue?.first?["details"]?.listValue?.compactMap(\.stringValue) ?? []
        #expect(details.contains("output 'o': first differing file b.txt"), "\(details)")
        let fresh = s.anneal("repro", "p.lock", "--cache", s.dir + "/empty-cache", "--json")
        let none = fresh.json?["stages"]?.listValue?.first?["details"]?.listValue?.compactMap(\.stringValue) ?? []
        #expect(none.contains { $0.contains("original object is not in the cache") }, "\(none)")
    }
}

extension Sandbox {
    /// A directory inside a sandbox, to run `anneal` from.
    struct Subdirectory {
        var sandbox: Sandbox
        var path: String

        func anneal(_ args: [String]) -> Result {
            Sandbox(existing: sandbox.dir + "/" + path).anneal(args)
        }
    }

    init(existing dir: String) {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.dir = dir
    }
}
