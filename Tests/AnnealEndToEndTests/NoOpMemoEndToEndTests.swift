import AnnealPipeline
import Foundation
import Testing

/// The no-op memo through the real binary: a run or status that trusts it says exactly what
/// the slow path says, and every change the issue names (an input, a parameter, a deleted
/// object) and every other one a `stat` can see sends the command down the slow path.
@Suite struct NoOpMemoEndToEndTests {
    func sandbox(_ name: String = #function) -> Sandbox {
        let s = Sandbox(name)
        s.write("p.yaml", IncrementalTests.pipeline)
        s.write("notes.txt", "a\nb\n")
        return s
    }

    /// The memo's file (one per pipeline and cache here), and its inode: the slow path writes
    /// a new one (a new inode), the fast path leaves it alone.
    func memo(_ s: Sandbox) -> (path: String, inode: UInt64)? {
        let dir = s.dir + "/cache/noop"
        guard let name = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first else { return nil }
        var st = stat()
        guard stat(dir + "/" + name, &st) == 0 else { return nil }
        return (dir + "/" + name, UInt64(st.st_ino))
    }

    /// A full run whose input is old enough for the stat cache to trust, so the memo is written.
    func settled(_ s: Sandbox) {
        _ = s.run()
        Thread.sleep(forTimeInterval: 2.1)
        _ = s.run()
        #expect(memo(s) != nil, "a run with every stage cached left no memo")
    }

    func withoutRunID(_ r: Sandbox.Result) -> String {
        guard case .map(var m)? = r.json else { return "" }
        m["run"] = nil
        return Value.map(m).canonicalJSON
    }

    @Test func theFastPathSaysWhatTheSlowPathSays() throws {
        let s = sandbox()
        defer { s.remove() }
        settled(s)
        let before = try #require(memo(s))
        let fast = s.run(), fastStatus = s.status()
        let fastText = s.anneal("run", "p.yaml"), fastStatusText = s.anneal("status", "p.yaml")
        #expect(memo(s)?.inode == before.inode, "the fast path rewrote the memo")
        #expect(Set(fast.statuses.values) == ["cached"] && fast.json?["stats"]?["files_hashed"]?.intValue == 0)
        unlink(before.path)
        let slow = s.run()
        let slowStatus = s.status()
        unlink(before.path)
        let slowText = s.anneal("run", "p.yaml")
        unlink(before.path)
        let slowStatusText = s.anneal("status", "p.yaml")
        #expect(withoutRunID(fast) == withoutRunID(slow))
        #expect(fastStatus.stdout == slowStatus.stdout)
        #expect(fastStatusText.stdout == slowStatusText.stdout && fastStatusText.stdout.hasSuffix("everything is fresh\n"))
        // The same lines on stderr but for their clock and the run's ID.
        func lines(_ r: Sandbox.Result) -> [String] {
            r.stderr.split(separator: "\n").map { $0.replacingOccurrences(of: #"^\[[0-9:]+\] "#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}"#, with: "ID", options: .regularExpression) }
        }
        #expect(lines(fastText) == lines(slowText) && fastText.stdout == slowText.stdout)
        // The ledger has the fast run as it has any other: its stages cached, by key.
        let log = s.anneal("log", "last")
        #expect(log.code == 0 && log.stdout.contains("cached"), "\(log.stdout) \(log.stderr)")
    }

    @Test func everyChangeAStatCanSeeTakesTheSlowPath() throws {
        let s = sandbox()
        defer { s.remove() }
        settled(s)
        func slowPathTaken(_ body: () -> Void) -> Bool {
            let before = memo(s)?.inode
            body()
            return memo(s)?.inode != before
        }
        // An input rewritten with new bytes of the same size: rerun.
        var r = Sandbox.Result(code: 0, stdout: "", stderr: "")
        #expect(slowPathTaken { s.write("notes.txt", "c\nd\n"); r = s.run() })
        #expect(r.statuses == ["gen": "cached", "square": "cached", "total": "cached", "notes": "ran"])
        Thread.sleep(forTimeInterval: 2.1)
        _ = s.run()
        // A parameter: its cone reruns.
        #expect(slowPathTaken { s.write("p.yaml", IncrementalTests.pipeline.replacingOccurrences(of: "tag: one", with: "tag: two")); r = s.run() })
        #expect(r.statuses["square"] == "ran")
        // An output object deleted (as gc or a user would): its stage reruns.
        let digest = try #require(r.json?["stages"]?.listValue?.first { $0["name"]?.stringValue == "total" }?["outputs"]?["sum"]?.stringValue)
        let object = s.dir + "/cache/objects/\(digest.prefix(2))/\(digest)"
        _ = chmod(object, 0o755)
        try FileManager.default.removeItem(atPath: object)
        #expect(slowPathTaken { r = s.run() })
        #expect(r.statuses["total"] == "ran")
        // The lockfile deleted: written again, nothing runs.
        unlink(s.dir + "/p.lock")
        #expect(slowPathTaken { r = s.run() })
        #expect(Set(r.statuses.values) == ["cached"] && FileManager.default.fileExists(atPath: s.dir + "/p.lock"))
        // An action entry rewritten (a forced rerun writes a new file): the memo no longer vouches.
        let key = try #require(r.json?["stages"]?.listValue?.first { $0["name"]?.stringValue == "gen" }?["key"]?.stringValue)
        let entry = s.dir + "/cache/actions/\(key.prefix(2))/\(key).json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: entry))
        unlink(entry)
        try bytes.write(to: URL(fileURLWithPath: entry))
        #expect(slowPathTaken { r = s.run() })
        #expect(Set(r.statuses.values) == ["cached"])
        // A damaged memo: ignored, and replaced.
        let m = try #require(memo(s))
        try Data("anneal-noop-memo 1\nsum\tdeadbeef\n".utf8).write(to: URL(fileURLWithPath: m.path))
        #expect(slowPathTaken { r = s.run() })
        #expect(Set(r.statuses.values) == ["cached"] && s.status().statuses.values.allSatisfy { $0 == "fresh" })
        // A run with `--set` values (another memo; here in another cache) rewrote the lockfile,
        // so the next run without them cannot trust its memo: the slow path writes the lock back.
        #expect(s.run("p.yaml", ["--set", "params.tag=three", "--cache", "cache2"]).statuses["square"] == "ran")
        #expect(slowPathTaken { r = s.run() })
        #expect(r.statuses["square"] == "cached" && s.read("p.lock")?.contains("three") == false)
        // A run that is not all cached or committed removes the memo.
        s.write("p.yaml", IncrementalTests.pipeline.replacingOccurrences(of: "sort -rn", with: "false && sort -rn"))
        _ = s.run(code: 1)
        #expect(memo(s) == nil, "a failed run left the memo")
    }

    @Test func aStatusFromTheMemoStillSeesAChangedInput() {
        let s = sandbox()
        defer { s.remove() }
        settled(s)
        s.write("notes.txt", "a\nb\nc\n")
        let st = s.status()
        #expect(st.statuses["notes"] == "stale" && st.reasons("notes") == ["input notes changed"])
    }
}
