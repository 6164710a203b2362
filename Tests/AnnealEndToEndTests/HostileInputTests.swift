import Foundation
import Testing

/// Hostile files and values through the real binary: exit 2 with a location, or a run that
/// treats every value as data; never a crash, never a command nobody wrote.
@Suite struct HostileInputTests {
    @Test func valuesAndFileNamesNeverBecomeCode() throws {
        let outer = Sandbox()
        defer { outer.remove() }
        let s = Sandbox(existing: outer.dir + "/my ws")
        s.write("data/b $(touch X).txt", "hi")
        s.write("p.yaml", """
            name: q
            params: {x: safe, flags: [-n, "a b"]}
            stages:
              a:
                run: sh -c 'printf "%s|" ${params.x} > ${outputs.o}/x; cat ${inputs.f} > ${outputs.o}/f'
                inputs: {f: {file: "data/b $(touch X).txt"}}
                outputs: [o]
              b:
                run: cat ${inputs.i}/x ${inputs.i}/f > ${outputs.o}/both; printf '<%s>' ${params.flags} >> ${outputs.o}/both
                inputs: {i: a.o}
                outputs: [o]

            """)
        let r = s.run("p.yaml", ["--set", "params.x=a; touch INJ `touch INJ2` $(touch INJ3) it's"])
        #expect(r.statuses == ["a": "ran", "b": "ran"])
        let made = try FileManager.default.contentsOfDirectory(atPath: s.dir).sorted()
        #expect(made == ["cache", "data", "p.lock", "p.yaml"])
        // `path` would load the pipeline without the override: find the output in the cache.
        let objects = s.dir + "/cache/objects"
        let both = (FileManager.default.enumerator(atPath: objects)?.allObjects as? [String] ?? []).first { $0.hasSuffix("/both") }
        #expect(both.flatMap { try? String(contentsOfFile: objects + "/" + $0, encoding: .utf8) }
                == "a; touch INJ `touch INJ2` $(touch INJ3) it's|hi<-n><a b>")
    }

    @Test func deepNestingInAPipelineOrSetIsExitTwo() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: d\nparams: {x: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "}\nstages:\n  a: {run: 'true', outputs: [o]}\n")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("p.yaml:2:"))
        #expect(r.stderr.contains("error: nesting deeper than 256"))
        s.write("p.yaml", "name: d\nparams: {x: 1}\nstages:\n  a: {run: 'true', outputs: [o]}\n")
        let set = s.anneal("run", "p.yaml", "--set", "params.x=" + String(repeating: "{a: ", count: 20_000))
        #expect(set.code == 2)
        #expect(set.stderr.contains("nesting deeper than 256"))
        #expect(set.stderr.count < 1000)
    }

    @Test func aDeepLockfileIsALocatedErrorNotACrash() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: d\nstages:\n  a:\n    run: sh -c 'echo 1 > ${outputs.o}/v'\n    outputs: [o]\n")
        s.run()
        let lock = try #require(s.read("p.lock"))
        let deep = lock.replacingOccurrences(of: "    params: {}", with: "    params: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000))
        let paramsLine = try #require(lock.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == "    params: {}" }) + 1
        // Commands that need the lockfile refuse it with its location; the others do without it.
        for args in [["repro", "p.lock"], ["run", "p.yaml", "--locked"]] {
            s.write("p.lock", deep)
            let r = s.anneal(args)
            #expect(r.code == 2, "\(args) exited \(r.code): \(r.stderr.prefix(300))")
            #expect(r.stderr.contains("p.lock:\(paramsLine):") && r.stderr.contains("error: nesting deeper than 264"), "\(args): \(r.stderr.prefix(300))")
        }
        // gc refuses: the objects only that lockfile names would otherwise be collected.
        s.write("p.lock", deep)
        let gc = s.anneal("gc", "--keep-runs", "0")
        #expect(gc.code == 2, "gc exited \(gc.code): \(gc.stderr.prefix(300))")
        #expect(gc.stderr.contains("p.lock cannot be read") && gc.stderr.contains("nesting deeper than 264"), "\(gc.stderr.prefix(300))")
        #expect(s.anneal("path", "-p", "p.yaml", "a.o").code == 0, "gc kept the object")
        for args in [["status", "p.yaml"], ["path", "-p", "p.yaml", "a.o"], ["run", "p.yaml"]] {
            s.write("p.lock", deep)
            let r = s.anneal(args)
            #expect(r.code == 0, "\(args) exited \(r.code): \(r.stderr.prefix(300))")
        }
        #expect(s.read("p.lock") != deep, "run rewrites the lockfile it could not read")
    }

    /// A FIFO where an action entry should be (anyone who can write to a shared cache can plant
    /// one) is a miss, not a run blocked forever in open(2). The limit only catches that block:
    /// the test takes under a second alone, but once ran past one minute as uid 65534 while 124
    /// end-to-end tests and a training run shared the two cores.
    @Test(.timeLimit(.minutes(5)))
    func aFIFOInPlaceOfAnActionEntryIsAMiss() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: f\nstages:\n  a:\n    run: sh -c 'echo 1 > ${outputs.o}/v'\n    outputs: [o]\n")
        s.run()
        let actions = s.dir + "/cache/actions"
        let entries = (FileManager.default.enumerator(atPath: actions)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }
        #expect(entries.count == 1)
        for e in entries {
            try FileManager.default.removeItem(atPath: actions + "/" + e)
            #expect(mkfifo(actions + "/" + e, 0o644) == 0)
        }
        let r = s.run()
        #expect(r.statuses == ["a": "ran"], "\(r.stderr.prefix(300))")
    }

    @Test func aDeepActionEntryIsAMissWithAWarning() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: d\nstages:\n  a:\n    run: sh -c 'echo 1 > ${outputs.o}/v'\n    outputs: [o]\n")
        s.run()
        let actions = s.dir + "/cache/actions"
        let entries = (FileManager.default.enumerator(atPath: actions)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }
        #expect(entries.count == 1)
        for e in entries { try? FileManager.default.removeItem(atPath: actions + "/" + e); s.write("cache/actions/" + e, String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)) }
        let r = s.run()
        #expect(r.statuses == ["a": "ran"])
        #expect(r.stderr.contains("warning: ignoring the damaged action entry"), "\(r.stderr.prefix(300))")
        #expect(s.run().statuses == ["a": "cached"])
    }

    @Test func hugeThreadsAndBadBytesAreExitTwo() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: t\nstages:\n  a: {run: 'true', outputs: [o], threads: 9223372036854775807}\n  b: {run: 'true', outputs: [o], threads: 9223372036854775807}\n")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("p.yaml:3:43: error: 'threads' must be an integer in 1...4096, found 9223372036854775807"))
        try Data(Array("name: t\nstages:\n  a: {run: 'tru".utf8) + [0xFF] + Array("e', outputs: [o]}\n".utf8))
            .write(to: URL(fileURLWithPath: s.dir + "/p.yaml"))
        let bytes = s.anneal("run", "p.yaml")
        #expect(bytes.code == 2)
        #expect(bytes.stderr.contains("p.yaml:3:16: error: invalid UTF-8 (byte 0xFF)"))
    }

    @Test func pluginCommandsQuoteValuesAndKeepDollarDollarBrace() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("stages/lit/stage.yaml", """
            version: 1
            command: sh -c 'echo "$${ANNEAL_STAGE}" > ${outputs.o}/v; cat ${inputs.f} >> ${outputs.o}/v'
            inputs: [f]
            outputs: [o]

            """)
        s.write("in put's.txt", "data\n")
        s.write("p.yaml", "name: l\nstages:\n  s1: {uses: lit, inputs: {f: {file: \"in put's.txt\"}}}\n")
        let r = s.run()
        #expect(r.statuses == ["s1": "ran"])
        let out = s.anneal("path", "-p", "p.yaml", "s1.o").stdout.trimmingCharacters(in: .newlines)
        #expect((try? String(contentsOfFile: out + "/v", encoding: .utf8)) == "s1\ndata\n")
    }

    @Test func aDeepOrBadManifestIsLocated() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("stages/deep/stage.yaml", "version: 1\ncommand: x\noutputs: [o]\nparams: " + String(repeating: "[", count: 20_000) + "\n")
        s.write("stages/ctl/stage.yaml", "version: 1\ncommand: x\u{01}\noutputs: [o]\n")
        s.write("p.yaml", "name: m\nstages:\n  a: {uses: deep}\n  b: {uses: ctl}\n")
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("stages/deep/stage.yaml:4:"))
        #expect(r.stderr.contains("nesting deeper than 256"))
        #expect(r.stderr.contains("stages/ctl/stage.yaml:2:11: error: control character U+0001 is not allowed in YAML"))
    }

    /// A file name that is not UTF-8, in an output or in an input directory, fails that stage
    /// with the name escaped (Foundation's listing turned it into a name that does not exist,
    /// and the run ended with exit 3 and "No such file or directory").
    @Test func fileNamesThatAreNotUTF8AreNamedStageErrors() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: nu
            stages:
              a:
                run: python3 -c "import os,sys; open(os.path.join(sys.argv[1].encode(), b'bad\\xff.txt'), 'wb').write(b'x')" ${outputs.o}
                outputs: [o]
              c:
                run: sh -c 'ls ${inputs.d} > ${outputs.o}/l'
                inputs: {d: {file: data}}
                outputs: [o]

            """)
        try FileManager.default.createDirectory(atPath: s.dir + "/data/sub", withIntermediateDirectories: true)
        let odd = s.dir + "/data/sub/w\u{1}" // made non-UTF-8 below: Swift strings cannot hold the byte
        let bytes = Array(odd.utf8).dropLast() + [0xFE, 0]
        let fd = bytes.withUnsafeBufferPointer { p in p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { open($0, O_CREAT | O_WRONLY, 0o644) } }
        #expect(fd >= 0)
        close(fd)
        let r = s.run("p.yaml", ["--keep-going"], code: 1)
        #expect(r.statuses == ["a": "failed", "c": "failed"])
        #expect(r.stderr.contains("output 'o': o/bad\\xff.txt: the file name is not valid UTF-8"), "\(r.stderr)")
        #expect(r.stderr.contains("data/sub/w\\xfe: the file name is not valid UTF-8"), "\(r.stderr)")
        #expect(s.anneal("cache", "verify").code == 0)
    }
}
