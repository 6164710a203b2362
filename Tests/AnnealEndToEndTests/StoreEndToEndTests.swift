import Foundation
import Testing

/// The store holds what its digests say whatever a stage does: background processes, links
/// out of an output, outputs replaced, objects half deleted, damaged ledgers, killed runs.
/// Stage scripts read their paths from the environment (`ANNEAL_OUTPUT_O`), so these tests
/// do not depend on how `${…}` is interpolated into commands.
@Suite struct StoreEndToEndTests {
    func pipeline(_ stages: String) -> String { "name: store\nstages:\n" + stages }

    /// One stage `a` running `sh a.sh` with output `o` (and input `n` if given).
    func single(_ s: Sandbox, script: String, input: String? = nil) {
        s.write("a.sh", script)
        s.write("p.yaml", pipeline("  a:\n    run: sh a.sh\n    outputs: [o]\n" + (input.map { "    inputs: {n: {file: \($0)}}\n" } ?? "")))
    }

    func error(_ r: Sandbox.Result, _ stage: String = "a") -> String {
        (r.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == stage }?["error"]?.stringValue ?? ""
    }

    func digest(_ r: Sandbox.Result, _ stage: String = "a") -> String {
        (r.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == stage }?["outputs"]?["o"]?.stringValue ?? ""
    }

    /// Waits for `p` to exit, killing it (and failing) if it has not within `limit` seconds:
    /// a hang must fail the test, not the whole test run.
    func finish(_ p: Sandbox.Running, within limit: Double, sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        let deadline = Date().addingTimeInterval(limit)
        while p.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.process.isRunning {
            kill(p.process.processIdentifier, SIGKILL)
            Issue.record("anneal did not finish", sourceLocation: sourceLocation)
        }
        p.process.waitUntilExit()
        return p.process.terminationStatus
    }

    func waitFor(_ path: String) {
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: path) { Thread.sleep(forTimeInterval: 0.05) }
    }

    @Test func aStoreIOErrorKeepsItsErrnoAndExits3() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "echo data > \"$ANNEAL_OUTPUT_O/f\"\n")
        let d = digest(s.run())
        s.write("other/objects/" + d.prefix(2), "a file where a directory belongs\n")
        let r = s.run("p.yaml", ["--cache", "other"], code: 3)
        #expect(error(r).hasSuffix("cannot move output into \(s.dir)/other/objects/\(d.prefix(2))/\(d): Not a directory"), "\(error(r))")
    }

    /// Root may write anywhere; scripts/test-unprivileged runs this one.
    @Test(.enabled(if: getuid() != 0, "needs an unprivileged user"))
    func aPermissionErrorIsReportedAsOne() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "echo data > \"$ANNEAL_OUTPUT_O/f\"\n")
        let d = digest(s.run())
        let prefix = "\(s.dir)/other/objects/\(d.prefix(2))"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        chmod(prefix, 0o555)
        defer { chmod(prefix, 0o755) }
        let r = s.run("p.yaml", ["--cache", "other"], code: 3)
        #expect(error(r).hasSuffix("cannot move output into \(prefix)/\(d): Permission denied"), "\(error(r))")
    }

    @Test func aBackgroundProcessCannotChangeAnOutputAfterItIsHashed() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: """
            exec 4>>"$ANNEAL_OUTPUT_O/f"
            echo early >&4
            (sleep 1; echo late >&4) &
            exit 0

            """)
        let d = digest(s.run())
        Thread.sleep(forTimeInterval: 2)  // past the moment the background writer would append
        #expect(s.anneal("cache", "verify").code == 0)
        #expect(s.read("cache/objects/\(d.prefix(2))/\(d)/f") == "early\n")
    }

    @Test func aBackgroundWriterOnFd3DoesNotKeepTheRunWaiting() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: """
            yes '{"step": 1}' >&3 &
            echo x > "$ANNEAL_OUTPUT_O/f"
            sleep 0.5  # the writer is going when the stage ends

            """)
        let p = s.start(["run", "p.yaml"])
        #expect(finish(p, within: 60) == 0)
    }

    @Test func fd3DataWithoutNewlinesIsDroppedNotHeld() {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: """
            head -c 50000000 /dev/zero | tr '\\0' a >&3
            echo '{"step": 7}' >&3
            echo x > "$ANNEAL_OUTPUT_O/f"

            """)
        _ = s.run()
        #expect(s.anneal("log", "last", "a").stdout.contains("anneal: dropped 1 progress line(s) longer than 1048576 bytes on fd 3"))
    }

    @Test func aKilledGcNeverLeavesAPartialObjectUnderItsName() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("big.py", """
            import os
            d = os.environ["ANNEAL_OUTPUT_O"]
            for i in range(5000):
                with open(os.path.join(d, "f%05d" % i), "w") as f:
                    f.write(str(i))

            """)
        let big = pipeline("  big:\n    run: python3 big.py\n    outputs: [o]\n")
        let small = pipeline("  small:\n    run: sh -c 'echo > \"$ANNEAL_OUTPUT_O/f\"'\n    outputs: [o]\n")
        s.write("p.yaml", big)
        let d = digest(s.run(), "big")
        let object = "\(s.dir)/cache/objects/\(d.prefix(2))/\(d)"
        s.write("p.yaml", small)
        _ = s.run()
        // Kill gc the moment the object under its name starts to change: either it is gone
        // (moved away whole) or, before the fix, some of its files are.
        let gc = s.start(["gc", "--keep-runs", "0"])
        while gc.process.isRunning, ((try? FileManager.default.contentsOfDirectory(atPath: object).count) ?? -1) == 5000 {
            Thread.sleep(forTimeInterval: 0.002)
        }
        kill(gc.process.processIdentifier, SIGKILL)
        gc.process.waitUntilExit()
        let verify = s.anneal("cache", "verify", "--json")
        #expect(verify.code == 0, "\(verify.stdout)")
        s.write("p.yaml", big)
        _ = s.run()
        #expect(try FileManager.default.contentsOfDirectory(atPath: object).count == 5000)
    }

    @Test func anOutputReplacedByALinkOrAFileIsAnErrorNamingIt() {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "rmdir \"$ANNEAL_OUTPUT_O\" && ln -s /etc \"$ANNEAL_OUTPUT_O\"\n")
        var r = s.run("p.yaml", [], code: 1)
        #expect(error(r) == "stage 'a': output 'o' was replaced by a symbolic link to /etc; a stage writes files into its output directory")
        single(s, script: "rmdir \"$ANNEAL_OUTPUT_O\" && echo x > \"$ANNEAL_OUTPUT_O\"\n")
        r = s.run("p.yaml", [], code: 1)
        #expect(error(r).hasPrefix("stage 'a': output 'o' was replaced by a regular file"))
        single(s, script: "ln -s /etc/passwd \"$ANNEAL_OUTPUT_O/p\"\n")
        r = s.run("p.yaml", [], code: 1)
        #expect(error(r) == "stage 'a': output 'o': symbolic link p -> /etc/passwd points outside the output; outputs hold only their own files")
        #expect(s.anneal("cache", "verify", "--json").json?["objects"]?.intValue == 0)
    }

    @Test func aHardLinkedInputIsCopiedIntoTheObject() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("n.txt", "mine\n")
        chmod(s.dir + "/n.txt", 0o644)
        single(s, script: "ln \"$ANNEAL_INPUT_N\" \"$ANNEAL_OUTPUT_O/h\"\n", input: "n.txt")
        let d = digest(s.run())
        var st = stat()
        stat(s.dir + "/n.txt", &st)
        #expect(st.st_mode & 0o777 == 0o644, "the user's own file is never made read-only")
        s.write("n.txt", "edited\n")
        #expect(s.read("cache/objects/\(d.prefix(2))/\(d)/h") == "mine\n")
        #expect(s.anneal("cache", "verify").code == 0)
    }

    @Test func aHalfDeletedObjectIsNeverServed() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("a.sh", "for i in $(seq 200); do echo $i > \"$ANNEAL_OUTPUT_O/f$i\"; done\n")
        s.write("p.yaml", pipeline("""
              a:
                run: sh a.sh
                outputs: [o]
              count:
                run: sh -c 'ls "$ANNEAL_INPUT_B" | wc -l > "$ANNEAL_OUTPUT_O/n"'
                inputs: {b: a.o}
                outputs: [o]

            """))
        let d = digest(s.run())
        // What an interrupted in-place delete leaves: no action entry, a writable half object.
        try FileManager.default.removeItem(atPath: s.dir + "/cache/actions")
        let object = "\(s.dir)/cache/objects/\(d.prefix(2))/\(d)"
        chmod(object, 0o755)
        for i in 1...120 { unlink("\(object)/f\(i)") }
        let r = s.run()
        #expect(r.statuses["a"] == "ran")
        #expect(try FileManager.default.contentsOfDirectory(atPath: object).count == 200)
        #expect(s.anneal("cache", "verify").code == 0)
    }

    @Test func forceReplacesADamagedObject() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "echo data > \"$ANNEAL_OUTPUT_O/f\"\n")
        let d = digest(s.run())
        let file = "\(s.dir)/cache/objects/\(d.prefix(2))/\(d)/f"
        chmod(file, 0o644)
        try "tampered\n".write(toFile: file, atomically: false, encoding: .utf8)
        #expect(s.run("p.yaml", ["--force", "a"]).statuses["a"] == "ran")
        #expect(s.read("cache/objects/\(d.prefix(2))/\(d)/f") == "data\n")
        #expect(s.anneal("cache", "verify").code == 0)
    }

    @Test func verifyWaitsForTheCacheLockAndChecksActionEntries() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "echo data > \"$ANNEAL_OUTPUT_O/f\"\n")
        _ = s.run()
        s.write("hold.py", """
            import fcntl, os, time
            f = open("cache/lock", "a")
            fcntl.flock(f, fcntl.LOCK_EX)
            open("held", "w").close()
            while not os.path.exists("release"):
                time.sleep(0.05)

            """)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "hold.py"]
        holder.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        try holder.run()
        waitFor(s.dir + "/held")
        let verify = s.start(["cache", "verify", "--json"])
        Thread.sleep(forTimeInterval: 2)
        #expect(verify.process.isRunning, "verify must wait while another process holds the cache lock")
        s.write("release", "")
        holder.waitUntilExit()
        #expect(finish(verify, within: 60) == 0)
        let err = String(decoding: verify.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.contains("waiting for another anneal"))

        // An action entry that names another key is reported and moved away.
        let actions = s.dir + "/cache/actions"
        let prefix = try FileManager.default.contentsOfDirectory(atPath: actions)[0]
        let name = try FileManager.default.contentsOfDirectory(atPath: actions + "/" + prefix)[0]
        let key = String(name.dropLast(5))
        let text = try String(contentsOfFile: "\(actions)/\(prefix)/\(name)", encoding: .utf8)
        try text.replacingOccurrences(of: key, with: String(repeating: "0", count: 64))
            .write(toFile: "\(actions)/\(prefix)/\(name)", atomically: false, encoding: .utf8)
        let v = s.anneal("cache", "verify", "--json")
        #expect(v.code == 1)
        #expect(v.json?["corrupt_actions"]?.listValue?.compactMap(\.stringValue) == [key])
        #expect(s.run().statuses["a"] == "ran")
    }

    @Test func aFailedQuarantineIsReportedAndExits3() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "echo data > \"$ANNEAL_OUTPUT_O/f\"\n")
        let d = digest(s.run())
        let file = "\(s.dir)/cache/objects/\(d.prefix(2))/\(d)/f"
        chmod(file, 0o644)
        try "tampered\n".write(toFile: file, atomically: false, encoding: .utf8)
        s.write("cache/quarantine", "a file where the quarantine directory belongs\n")
        let v = s.anneal("cache", "verify", "--json")
        #expect(v.code == 3)
        #expect(v.json?["ok"]?.boolValue == false)
        #expect(v.json?["quarantine_failures"]?.listValue?.first?.stringValue?.hasPrefix("cannot quarantine \(d) into ") == true)
        #expect(v.stderr.contains("error: cannot quarantine \(d)"))
        #expect(s.run().statuses["a"] == "ran", "the damaged object is not served")
    }

    @Test func aDamagedLedgerRowIsExit3NamingTheTable() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("n.txt", "input\n")
        // Only files older than two seconds enter the stat cache.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: s.dir + "/n.txt")
        single(s, script: "cat \"$ANNEAL_INPUT_N\" > \"$ANNEAL_OUTPUT_O/f\"\n", input: "n.txt")
        _ = s.run()
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", "import sqlite3; c = sqlite3.connect('cache/ledger.sqlite'); c.execute('UPDATE file_state SET device = NULL'); c.commit()"]
        py.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        try py.run()
        py.waitUntilExit()
        #expect(py.terminationStatus == 0)
        // A no-op decided from the memo never reads the stat cache; without one, the run does.
        try FileManager.default.removeItem(atPath: s.dir + "/cache/noop")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 3)
        #expect(r.stderr.contains("table 'file_state' holds NULL in column 'device'"), "\(r.stderr)")
    }

    @Test func aKilledRunIsMarkedInterruptedWhenTheLockIsNextTaken() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "touch started; while [ ! -e release ]; do sleep 0.05; done; echo x > \"$ANNEAL_OUTPUT_O/f\"\n")
        let p = s.start(["run", "p.yaml"])
        waitFor(s.dir + "/started")
        kill(p.process.processIdentifier, SIGKILL)
        // The orphaned stage holds a descriptor Foundation watches for anneal's exit: let it end.
        s.write("release", "")
        p.process.waitUntilExit()
        let killed = s.anneal("runs", "--json").json?["runs"]?.listValue?.first
        #expect(killed?["status"]?.stringValue == "running")
        _ = s.run()
        let runs = s.anneal("runs", "--json").json?["runs"]?.listValue ?? []
        #expect(runs.first { $0["id"] == killed?["id"] }?["status"]?.stringValue == "interrupted")
    }

    @Test func scratchOfAKilledReproIsRemovedByTheNextOne() throws {
        let s = Sandbox()
        defer { s.remove() }
        single(s, script: "touch started; while [ ! -e release ]; do sleep 0.05; done; echo x > \"$ANNEAL_OUTPUT_O/f\"\n")
        s.write("release", "")
        _ = s.run()
        try FileManager.default.removeItem(atPath: s.dir + "/release")
        try FileManager.default.removeItem(atPath: s.dir + "/started")
        let tmp = s.dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let p = s.start(["repro", "p.lock"], environment: ["TMPDIR": tmp])
        waitFor(s.dir + "/started")
        kill(p.process.processIdentifier, SIGKILL)
        // The orphaned stage holds a descriptor Foundation watches for anneal's exit: let it end.
        s.write("release", "")
        p.process.waitUntilExit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).count == 1)
        let again = s.anneal(["repro", "p.lock"], environment: ["TMPDIR": tmp])
        #expect(again.code == 0, "\(again.stdout)\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    @Test func scratchTooDeepForAPathIsRemoved() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("deep.py", """
            import os
            os.chdir(os.environ["ANNEAL_OUTPUT_O"])
            for _ in range(60):
                os.mkdir("d" * 100)
                os.chdir("d" * 100)
            open("f", "w").close()
            raise SystemExit(1)

            """)
        s.write("p.yaml", pipeline("  a:\n    run: python3 deep.py\n    outputs: [o]\n"))
        _ = s.run("p.yaml", [], code: 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/tmp") == [])
    }
}
