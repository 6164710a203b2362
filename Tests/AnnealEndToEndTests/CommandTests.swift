import Foundation
import Testing

/// The commands besides `run`: exact diagnostics, exit codes, JSON shapes.
@Suite struct CommandTests {
    @Test func invalidPipelineReportsEveryProblemAndExits2() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: bad
            stages:
              gen:
                run: echo ${params.nn} > ${outputs.o}/x
                outputs: [o]
              use:
                run: cat ${inputs.src}/x > ${outputs.out}/y
                inputs: {src: gen.oo}
                outputs: [out]
                threds: 2

            """)
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr == """
            p.yaml:4:15: error: unresolved interpolation '${params.nn}': no 'nn' under 'params'
             4 |     run: echo ${params.nn} > ${outputs.o}/x
               |               ^
            p.yaml:8:19: error: unknown output 'gen.oo' in input 'src' of stage 'use'; did you mean 'gen.o'?
             8 |     inputs: {src: gen.oo}
               |                   ^
            p.yaml:10:5: error: unknown key 'threds' in stage 'use'; did you mean 'threads'?
             10 |     threds: 2
                |     ^
            3 errors

            """)
        #expect(!FileManager.default.fileExists(atPath: s.dir + "/cache/ledger.sqlite"), "nothing runs until the file is valid")
        #expect(s.anneal("validate", "p.yaml").code == 2)
        #expect(s.anneal("validate", "missing.yaml").stderr.contains("missing.yaml: error: no such pipeline file"))
    }

    @Test func usageErrorsExit2() {
        let s = Sandbox()
        defer { s.remove() }
        #expect(s.anneal("run", "--jobs", "0").code == 2)
        #expect(s.anneal("frobnicate").code == 2)
        #expect(s.anneal("--help").code == 0)
    }

    @Test func setOverridesAreValidatedLikeTheFile() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: o\nparams: {n: 2}\nstages:\n  a:\n    run: sh -c 'seq ${params.n} > ${outputs.o}/v'\n    outputs: [o]\n")
        let r = s.run("p.yaml", ["--set", "params.n=3"])
        #expect(r.statuses == ["a": "ran"])
        #expect(s.anneal("status", "p.yaml", "--set", "params.n=3", "--json").statuses == ["a": "fresh"])
        #expect(s.status().reasons("a") == ["param params.n: 3 → 2"])
        let bad = s.anneal("validate", "p.yaml", "--set", "stages.b.with.x=1")
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("override names no stage 'b'"))
    }

    @Test func dagFormats() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("d.txt", "x")
        s.write("p.yaml", "name: g\nstages:\n  a:\n    run: sh -c 'cp ${inputs.d} ${outputs.o}/'\n    inputs: {d: {file: d.txt}}\n    outputs: [o]\n  b:\n    run: sh -c 'cp ${inputs.i}/* ${outputs.o}/'\n    inputs: {i: a.o}\n    outputs: [o]\n")
        #expect(s.anneal("dag", "p.yaml").stdout == "a (run)\n  ← d: d.txt\n  → o\nb (run)\n  ← i: a.o\n  → o\n")
        let dot = s.anneal("dag", "p.yaml", "--format", "dot").stdout
        #expect(dot.hasPrefix("digraph \"g\" {") && dot.contains("\"a\" -> \"b\" [label=\"o → i\"];"))
        let mermaid = s.anneal("dag", "p.yaml", "--format", "mermaid").stdout
        #expect(mermaid.hasPrefix("graph LR\n") && mermaid.contains("s_a -->|o| s_b"))
    }

    /// `anneal path` takes the run's `--set` overrides: without them it resolves the pipeline
    /// as written, whose output a run with overrides never made.
    @Test func pathTakesTheRunsOverrides() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: m\nparams: {n: 1}\nstages:\n  a:\n    run: sh -c 'echo ${params.n} > ${outputs.o}/v'\n    outputs: [o]\n")
        s.run("p.yaml", ["--set", "params.n=7"])
        let plain = s.anneal("path", "a.o", "-p", "p.yaml")
        #expect(plain.code != 0, "a.o of the pipeline as written was never made")
        let path = s.anneal("path", "a.o", "-p", "p.yaml", "--set", "params.n=7")
        #expect(path.code == 0, "\(path.stderr)")
        #expect(try String(contentsOfFile: path.stdout.trimmingCharacters(in: .newlines) + "/v", encoding: .utf8) == "7\n")
    }

    @Test func pathRunsLogAndMetrics() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.sh", """
            for i in 1 2 3; do echo "{\\"step\\": $i, \\"total\\": 3, \\"metrics\\": {\\"loss\\": 0.$((4 - i))}}" >&3; done
            echo done > "$ANNEAL_OUTPUT_MODEL/w"
            echo trained

            """)
        s.write("p.yaml", "name: m\nstages:\n  train:\n    run: sh ${inputs.script}\n    inputs: {script: {file: train.sh}}\n    outputs: [model]\n")
        let r = s.run()
        let runID = r.json?["run"]?.stringValue ?? ""
        let path = s.anneal("path", "train.model", "-p", "p.yaml")
        #expect(path.code == 0)
        #expect(try String(contentsOfFile: path.stdout.trimmingCharacters(in: .newlines) + "/w", encoding: .utf8) == "done\n")
        #expect(s.anneal("path", "train.modle", "-p", "p.yaml").stderr.contains("did you mean 'train.model'?"))
        let metrics = s.anneal("metrics", "p.yaml", "--json")
        #expect(metrics.json?["stages"]?["train"]?["loss"]?.doubleValue == 0.1)
        let series = s.anneal("metrics", "p.yaml", "--stage", "train", "--json").json?["series"]?["loss"]?.listValue ?? []
        #expect(series.compactMap { $0["step"]?.intValue } == [1, 2, 3])
        #expect(s.anneal("log", String(runID.prefix(15)), "train").stdout == "trained\n")
        let runs = s.anneal("runs", "--json").json?["runs"]?.listValue ?? []
        #expect(runs.first?["id"]?.stringValue == runID)
        #expect(runs.first?["stages"]?["ran"]?.intValue == 1)
        #expect(s.run().json?["stages"]?.listValue?.first?["metrics"]?["loss"]?.doubleValue == 0.1, "cached stages keep their metrics")
    }

    /// Resume scratch of a failed attempt stays while a kept run names its key, and goes
    /// with the runs that gc forgets.
    @Test func gcRemovesResumeScratchNothingWillResume() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: st\nstages:\n  a:\n    run: sh -c 'echo saved > \"$ANNEAL_STATE_DIR/ckpt\"; exit 1'\n    outputs: [o]\n")
        #expect(s.anneal("run", "p.yaml").code == 1)
        let states = { (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state")) ?? [] }
        #expect(states().count == 1, "the failed attempt keeps its scratch")
        #expect(s.anneal("gc").code == 0)
        #expect(states().count == 1, "a recent run still names the key")
        #expect(s.anneal("gc", "--keep-runs", "0").code == 0)
        #expect(states().isEmpty)
    }

    @Test func gcKeepsWhatTheLockfileNames() {
        let s = Sandbox()
        defer { s.remove() }
        let p = { (n: Int) in "name: gc\nstages:\n  a:\n    run: sh -c 'seq \(n) > ${outputs.o}/v'\n    outputs: [o]\n" }
        s.write("p.yaml", p(1))
        s.run()
        s.write("p.yaml", p(2))
        s.run()
        let dry = s.anneal("gc", "--keep-runs", "0", "--dry-run", "--json")
        #expect(dry.json?["objects"]?.listValue?.count == 1)
        #expect(dry.json?["dry_run"]?.boolValue == true)
        #expect(s.anneal("gc", "--keep-runs", "0").code == 0)
        #expect(s.anneal("gc", "--keep-runs", "0", "--dry-run", "--json").json?["objects"]?.listValue?.isEmpty == true)
        #expect(s.status().statuses == ["a": "fresh"])
        s.write("p.yaml", p(1))
        #expect(s.run().statuses == ["a": "ran"], "the collected version reruns")
    }

    @Test func initScaffoldsARunnableWorkspace() {
        let s = Sandbox()
        defer { s.remove() }
        #expect(s.anneal("init", "ws").code == 0)
        let inner = Sandbox("initinner")
        defer { inner.remove() }
        #expect(inner.anneal("init", ".").code == 0)
        let r = inner.run("pipelines/example.yaml")
        #expect(r.statuses == ["repeat": "ran", "count": "ran"])
        #expect(r.json?["stages"]?.listValue?.last?["metrics"]?["words"]?.doubleValue == 30)
        #expect(s.anneal("init", "ws").code == 2, "init refuses a non-empty directory")
    }

    @Test func brokenPluginManifestIsReportedWithItsOwnLocation() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("stages/x/stage.yaml", "version: 1\ncommand: true\noutputs: [o]\nparams:\n  k: {type: integer}\n")
        s.write("p.yaml", "name: b\nstages:\n  a: {uses: x}\n")
        let r = s.anneal("validate", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("\nstages/x/stage.yaml:5:13: error: unknown parameter type 'integer'; types: int, float"))
    }
}
