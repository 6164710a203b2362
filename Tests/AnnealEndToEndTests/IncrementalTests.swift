import Foundation
import Testing

/// Incrementality of the real binary on a real command-stage pipeline: what reruns after each
/// kind of change, and what `status` says about it.
@Suite struct IncrementalTests {
    static let pipeline = """
        name: inc
        seed: 11
        params: {n: 5, zeros: "0", tag: one}
        stages:
          gen:
            run: sh -c 'seq 1 ${params.n} > ${outputs.nums}/nums.txt'
            outputs: [nums]
          square:
            run: sh -c 'sed "s/$/${params.zeros}/" ${inputs.src}/nums.txt > ${outputs.sq}/sq.txt; true ${params.tag}'
            inputs: {src: gen.nums}
            outputs: [sq]
          total:
            run: sh -c 'sort -rn ${inputs.sq}/sq.txt > ${outputs.sum}/sorted.txt'
            inputs: {sq: square.sq}
            outputs: [sum]
          notes:
            run: sh -c 'wc -l < ${inputs.notes} > ${outputs.count}/count.txt'
            inputs: {notes: {file: notes.txt}}
            outputs: [count]

        """

    func sandbox(_ name: String = #function) -> Sandbox {
        let s = Sandbox(name)
        s.write("p.yaml", Self.pipeline)
        s.write("notes.txt", "a\nb\n")
        return s
    }

    @Test func secondRunExecutesNothingAndHashesNothing() {
        let s = sandbox()
        defer { s.remove() }
        let first = s.run()
        #expect(Set(first.statuses.values) == ["ran"])
        #expect(first.json?["stats"]?["files_hashed"]?.intValue == 1)
        // The input was written just now, too recently for the stat cache to trust its mtime.
        Thread.sleep(forTimeInterval: 2.1)
        _ = s.run()
        let third = s.run()
        #expect(Set(third.statuses.values) == ["cached"])
        #expect(third.json?["stats"]?["files_hashed"]?.intValue == 0)
        #expect(s.status().statuses == ["gen": "fresh", "square": "fresh", "total": "fresh", "notes": "fresh"])
    }

    @Test func parameterChangeRerunsExactlyItsCone() {
        let s = sandbox()
        defer { s.remove() }
        s.run()
        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "zeros: \"0\"", with: "zeros: \"00\""))
        let st = s.status()
        #expect(st.statuses == ["gen": "fresh", "square": "stale", "total": "stale", "notes": "fresh"])
        #expect(st.reasons("square") == ["param params.zeros: 0 → 00"])
        #expect(st.reasons("total") == ["input sq: upstream square is stale"])
        let r = s.run()
        #expect(r.statuses == ["gen": "cached", "square": "ran", "total": "ran", "notes": "cached"])
        #expect(r.reasons("square") == ["param params.zeros: 0 → 00"])
        #expect(r.reasons("total") == ["input sq changed"])
    }

    @Test func unchangedOutputsStopTheRerun() {
        let s = sandbox()
        defer { s.remove() }
        s.run()
        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "tag: one", with: "tag: two"))
        #expect(s.run().statuses == ["gen": "cached", "square": "ran", "total": "cached", "notes": "cached"])
    }

    @Test func identicalContentTouchRerunsNothing() {
        let s = sandbox()
        defer { s.remove() }
        s.run()
        Thread.sleep(forTimeInterval: 1.1)
        s.write("notes.txt", "a\nb\n")
        #expect(Set(s.status().statuses.values) == ["fresh"])
        let r = s.run()
        #expect(Set(r.statuses.values) == ["cached"])
        #expect(r.json?["stats"]?["files_hashed"]?.intValue == 1)
        s.write("notes.txt", "a\nb\nc\n")
        let st = s.status()
        #expect(st.statuses["notes"] == "stale")
        #expect(st.reasons("notes") == ["input notes changed"])
        #expect(s.run().statuses == ["gen": "cached", "square": "cached", "total": "cached", "notes": "ran"])
    }

    @Test func revertedChangeIsServedFromTheCache() {
        let s = sandbox()
        defer { s.remove() }
        s.run()
        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "n: 5", with: "n: 6"))
        #expect(s.run().statuses["gen"] == "ran")
        s.write("p.yaml", Self.pipeline)
        #expect(Set(s.run().statuses.values) == ["cached"])
    }

    /// The lockfile is rewritten when its bytes would change, also by a run that only served
    /// cached stages, and left alone (bytes and mtime) by a no-op; `--only` keeps the entries
    /// of the stages it did not select.
    @Test func theLockfileIsRewrittenExactlyWhenItChanges() throws {
        let s = sandbox()
        defer { s.remove() }
        s.run()
        let first = try #require(s.read("p.lock"))
        let lockPath = s.dir + "/p.lock"
        func mtime() -> Date? { (try? FileManager.default.attributesOfItem(atPath: lockPath))?[.modificationDate] as? Date }
        let stamp = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded())
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: lockPath)
        #expect(Set(s.run().statuses.values) == ["cached"])
        #expect(s.read("p.lock") == first && mtime() == stamp, "a no-op rewrote the lockfile")

        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "n: 5", with: "n: 6"))
        s.run()
        let changed = try #require(s.read("p.lock"))
        #expect(changed != first)
        s.write("p.yaml", Self.pipeline)
        #expect(Set(s.run().statuses.values) == ["cached"])
        #expect(s.read("p.lock") == first, "served from the cache, the lock must describe the pipeline again")

        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "n: 5", with: "n: 7"))
        #expect(s.run("p.yaml", ["--only", "notes"]).statuses == ["notes": "cached"])
        #expect(s.read("p.lock") == first, "--only keeps the other stages' entries")
    }

    @Test func forceAndOnlySelectStages() {
        let s = sandbox()
        defer { s.remove() }
        let only = s.run("p.yaml", ["--only", "square"])
        #expect(only.statuses == ["gen": "ran", "square": "ran"])
        let forced = s.run("p.yaml", ["--force", "gen"])
        #expect(forced.statuses == ["gen": "ran", "square": "cached", "total": "ran", "notes": "ran"])
        let bad = s.anneal("run", "p.yaml", "--only", "sqare")
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("did you mean 'square'?"))
    }

    @Test func dryRunRunsNothing() {
        let s = sandbox()
        defer { s.remove() }
        let r = s.anneal("run", "p.yaml", "--dry-run", "--json")
        #expect(r.code == 0)
        #expect(Set(r.statuses.values) == ["stale"])
        #expect(!FileManager.default.fileExists(atPath: s.dir + "/p.lock"))
        #expect(Set(s.status().statuses.values) == ["stale"])
    }

    @Test func pluginVersionBumpRerunsIt() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("stages/upper/stage.yaml", "version: 1\ncommand: sh ${plugin}/up.sh\ninputs: [text]\noutputs: [text]\nparams:\n  suffix: {type: string, default: '!'}\n")
        s.write("stages/upper/up.sh", "tr a-z A-Z < \"$ANNEAL_INPUT_TEXT/t\" > \"$ANNEAL_OUTPUT_TEXT/t\"\n")
        s.write("p.yaml", "name: plug\nstages:\n  src:\n    run: sh -c 'echo hello > ${outputs.o}/t'\n    outputs: [o]\n  up:\n    uses: upper\n    inputs: {text: src.o}\n")
        #expect(s.run().statuses == ["src": "ran", "up": "ran"])
        s.write("stages/upper/stage.yaml", "version: 2\ncommand: sh ${plugin}/up.sh\ninputs: [text]\noutputs: [text]\nparams:\n  suffix: {type: string, default: '!'}\n")
        let st = s.status()
        #expect(st.statuses == ["src": "fresh", "up": "stale"])
        #expect(st.reasons("up") == ["plugin version 1 → 2"])
        #expect(s.run().statuses == ["src": "cached", "up": "ran"])
        s.write("stages/upper/up.sh", "tr a-z A-Z < \"$ANNEAL_INPUT_TEXT/t\" > \"$ANNEAL_OUTPUT_TEXT/t\"; echo >> \"$ANNEAL_OUTPUT_TEXT/t\"\n")
        #expect(s.status().reasons("up") == ["plugin files changed (same version)"])
        s.write("p.yaml", "name: plug\nstages:\n  src:\n    run: sh -c 'echo hello > ${outputs.o}/t'\n    outputs: [o]\n  up:\n    uses: upper\n    inputs: {text: src.o}\n    with: {suffix: '?'}\n")
        #expect(s.status().reasons("up").contains("param with.suffix: ! → ?"))
    }
}
