import Foundation
import Testing

/// SIGKILL at several points of a stage writing output, concurrent runs, repro and --locked.
@Suite struct CrashAndReproTests {
    static let writer = """
        import os, sys, time
        d = sys.argv[1]
        for i in range(8):
            with open(os.path.join(d, "part%02d" % i), "wb") as f:
                f.write(bytes([i]) * 1000000)
            time.sleep(0.1)

        """
    static let pipeline = """
        name: crash
        stages:
          big:
            run: python3 ${inputs.script} ${outputs.o}
            inputs: {script: {file: writer.py}}
            outputs: [o]
          small:
            run: sh -c 'cat ${inputs.b}/part* | sha256sum > ${outputs.o}/sum.txt'
            inputs: {b: big.o}
            outputs: [o]

        """

    func objectDirs(_ s: Sandbox) -> [String] {
        let objects = s.dir + "/cache/objects"
        return ((try? FileManager.default.subpathsOfDirectory(atPath: objects)) ?? []).filter { $0.split(separator: "/").count == 2 }
    }

    @Test func sigkillNeverLeavesPartialArtifacts() throws {
        let ref = Sandbox("crashref")
        defer { ref.remove() }
        ref.write("writer.py", Self.writer)
        ref.write("p.yaml", Self.pipeline)
        let want = ref.run().json?["stages"]?.listValue?.map { $0["outputs"]! }

        let s = Sandbox()
        defer { s.remove() }
        s.write("writer.py", Self.writer)
        s.write("p.yaml", Self.pipeline)
        for delay in [0.15, 0.35, 0.55, 0.8, 1.1] {
            let p = s.start(["run", "p.yaml"])
            Thread.sleep(forTimeInterval: delay)
            kill(p.process.processIdentifier, SIGKILL)
            p.process.waitUntilExit()
            // Every visible object is whole: its contents hash to its name.
            let verify = s.anneal("cache", "verify", "--json")
            #expect(verify.code == 0, "after a kill at \(delay)s: \(verify.stdout)")
            if let lock = s.read("p.lock") { #expect(lock.hasSuffix("\n") && lock.contains("schema: 1")) }
            for o in objectDirs(s) {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/objects/" + o)) ?? []
                #expect(files.count == 8 || files == ["sum.txt"], "partial object \(o): \(files)")
            }
        }
        let final = s.run()
        #expect(final.json?["stages"]?.listValue?.map { $0["outputs"]! } == want)
        #expect(s.anneal("cache", "verify").code == 0)
    }

    @Test func corruptedObjectIsReportedAndNeverServed() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: c\nstages:\n  a:\n    run: sh -c 'echo data > ${outputs.o}/f'\n    outputs: [o]\n")
        let digest = s.run().json!["stages"]!.listValue![0]["outputs"]!["o"]!.stringValue!
        let file = "\(s.dir)/cache/objects/\(digest.prefix(2))/\(digest)/f"
        chmod(file, 0o644)
        try "tampered\n".write(toFile: file, atomically: false, encoding: .utf8)
        let v = s.anneal("cache", "verify", "--json")
        #expect(v.code == 1)
        #expect(v.json?["corrupt"]?.listValue?.compactMap(\.stringValue) == [digest])
        #expect(s.status().reasons("a") == ["outputs not in the cache (collected, quarantined, or a new cache directory)"])
        let r = s.run()
        #expect(r.statuses["a"] == "ran")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "data\n")
    }

    static let deterministic = """
        name: det
        seed: 5
        params: {n: 7}
        stages:
          gen:
            run: sh -c 'seq 1 ${params.n} > ${outputs.o}/nums.txt'
            outputs: [o]
          rev:
            run: sh -c 'sort -rn ${inputs.i}/nums.txt > ${outputs.o}/rev.txt'
            inputs: {i: gen.o}
            outputs: [o]

        """

    @Test func reproConfirmsDeterministicAndNamesTheDivergingStage() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.deterministic + """
              stamp:
                run: sh -c 'cat /proc/sys/kernel/random/uuid > ${outputs.o}/id'
                inputs: {i: rev.o}
                outputs: [o]
              after:
                run: sh -c 'cp ${inputs.i}/id ${outputs.o}/id'
                inputs: {i: stamp.o}
                outputs: [o]

            """)
        s.run()
        let r = s.anneal("repro", "p.lock", "--json")
        #expect(r.code == 1)
        #expect(r.json?["first_divergence"]?.stringValue == "stamp")
        let verdicts = Dictionary(uniqueKeysWithValues: (r.json?["stages"]?.listValue ?? []).map { ($0["name"]!.stringValue!, $0["status"]!.stringValue!) })
        #expect(verdicts == ["gen": "match", "rev": "match", "stamp": "diverged", "after": "diverged"])

        let d = Sandbox("reprodet")
        defer { d.remove() }
        d.write("p.yaml", Self.deterministic)
        d.run()
        let ok = d.anneal("repro", "p.lock")
        #expect(ok.code == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("reproduced: every output digest of 2 stages matches p.lock"))
    }

    @Test func lockedRefusesAChangedPipelineNamingTheStage() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.deterministic)
        let none = s.anneal("run", "p.yaml", "--locked")
        #expect(none.code == 1)
        s.run()
        #expect(s.anneal("run", "p.yaml", "--locked").code == 0)
        s.write("p.yaml", Self.deterministic.replacingOccurrences(of: "{n: 7}", with: "{n: 8}"))
        let r = s.anneal("run", "p.yaml", "--locked", "--json")
        #expect(r.code == 1)
        #expect(r.statuses == ["gen": "failed", "rev": "skipped"])
        #expect(r.stderr.contains("--locked: stage 'gen' differs from p.lock: param params.n: 7 → 8"))
    }

    @Test func twoRunsOnOneCacheBothFinish() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: two\nstages:\n" + (0..<4).map { "  s\($0):\n    run: sh -c 'sleep 0.6; echo \($0) > ${outputs.o}/v'\n    outputs: [o]\n" }.joined())
        let a = s.start(["run", "p.yaml", "--json"]), b = s.start(["run", "p.yaml", "--json"])
        let outs = [a, b].map { p in
            let o = p.stdout.fileHandleForReading.readDataToEndOfFile()
            let e = p.stderr.fileHandleForReading.readDataToEndOfFile()
            p.process.waitUntilExit()
            return (p.process.terminationStatus, Sandbox.Result(code: 0, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self)))
        }
        #expect(outs.allSatisfy { $0.0 == 0 })
        // One ran everything; the other waited for the lock (and said so), then found it all cached.
        let statuses = outs.map { Set($0.1.statuses.values) }
        #expect(statuses.contains(["ran"]) && statuses.contains(["cached"]))
        #expect(outs.contains { $0.1.stderr.contains("waiting for another anneal") })
        #expect(s.anneal("cache", "verify").code == 0)
    }

    /// A runner killed with SIGKILL cannot stop its stages (each runs in its own process
    /// group); the next writer of the cache ends what it left running before it starts
    /// anything, so two attempts at one stage never run, or write its resume state, at once.
    @Test func theNextRunEndsTheStagesAKilledRunLeftRunning() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: orphan
            stages:
              slow:
                run: sh -c 'echo $$ > slow.pid; [ -e go ] || sleep 300; echo ok > ${outputs.o}/r'
                outputs: [o]

            """)
        let first = s.start(["run", "p.yaml"])
        var waited = 0
        while s.read("slow.pid") == nil, waited < 600 { Thread.sleep(forTimeInterval: 0.05); waited += 1 }
        let old = try #require(s.read("slow.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(Self.isRunning(old), "the stage should outlive the SIGKILLed runner")
        s.write("go", "")
        let again = s.anneal("run", "p.yaml")
        #expect(again.code == 0, "\(again.stderr)")
        #expect(again.stderr.contains("ended the processes of stage 'slow'"), "\(again.stderr)")
        #expect(!Self.isRunning(old), "the leftover stage \(old) still runs")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/tmp").isEmpty)
    }

    /// Alive and not a zombie (an orphan in a container whose init never reaps stays a zombie).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// A lockfile removed while the run goes on (a `git checkout`, a stage that cleans up) is
    /// written again at the end, even when its contents did not change.
    @Test func aLockfileDeletedDuringTheRunIsWrittenAgain() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: gone\nstages:\n  a:\n    run: sh -c 'rm -f p.lock; echo 1 > ${outputs.o}/v'\n    outputs: [o]\n")
        s.run()
        let first = try #require(s.read("p.lock"))
        let again = s.run("p.yaml", ["--force", "a"])
        #expect(again.statuses == ["a": "ran"])
        #expect(s.read("p.lock") == first)
    }

    /// A lockfile that exists but cannot be read is not "no lockfile": `--locked` says what is
    /// wrong with it (exit 3), a plain run warns before replacing it.
    @Test func anUnreadableLockfileIsNamedNotTakenForMissing() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: odd\nstages:\n  a:\n    run: sh -c 'echo 1 > ${outputs.o}/v'\n    outputs: [o]\n")
        try FileManager.default.createDirectory(atPath: s.dir + "/p.lock", withIntermediateDirectories: true)
        let locked = s.anneal("run", "p.yaml", "--locked")
        #expect(locked.code == 3, "\(locked.stderr)")
        #expect(locked.stderr.contains("cannot read the lockfile") && locked.stderr.contains("not a regular file"), "\(locked.stderr)")
        #expect(!locked.stderr.contains("there is no lockfile"))
        let plain = s.anneal("run", "p.yaml")
        #expect(plain.stderr.contains("ignoring the unreadable lockfile"), "\(plain.stderr)")
    }
}
