@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

@Suite struct FactsAndLockfileTests {
    func facts(lr: Double = 2e-4, input: String = "aa", command: String? = nil) -> StageFacts {
        var f = StageFacts(kind: "sft", version: "2", command: command, plugin: nil, seed: 7,
                           params: .map(["lr": .double(lr), "lora": .map(["rank": .int(8)])]),
                           referenced: ["params.width": .int(128)], inputs: ["model": OutputFact(digest: String(repeating: input, count: 32), size: 10)],
                           outputNames: ["model"])
        f.outputs = ["model": OutputFact(digest: String(repeating: "ff", count: 32), size: 20)]
        return f
    }

    @Test func keyCoversWhatDecidesTheOutputAndNothingElse() {
        let base = facts()
        #expect(base.key == facts().key)
        #expect(base.key != facts(lr: 1e-4).key)
        #expect(base.key != facts(input: "bb").key)
        var other = base
        other.outputs = [:]
        #expect(other.key == base.key, "outputs are not part of the key")
        other.seed = 8
        #expect(other.key != base.key)
        // Map key order in the file cannot change the key: canonical JSON sorts keys.
        let reordered = Value.parseJSON(#"{"lora":{"rank":8},"lr":0.0002}"#)!
        other = base
        other.params = reordered
        #expect(other.key == base.key)
    }

    /// The key format is a contract with every cache and lockfile: these bytes and this digest
    /// may change only with `StageFacts.keyFormat`.
    @Test func keyBytesArePinned() {
        let f = facts()
        let canonical = #"{"format":1,"inputs":{"model":""# + String(repeating: "aa", count: 32)
            + #""},"kind":"sft","outputs":["model"],"params":{"lora":{"rank":8},"lr":0.0002},"referenced":{"params.width":128},"seed":7,"version":"2"}"#
        #expect(f.keyMaterial.canonicalJSON == canonical)
        #expect(f.key == "2ecfa2497bd33bd4c8aa9c194612080329fc2366110ab587e56c0b925f9ca80a")
        #expect(f.key == Digest.of(string: canonical))
    }

    /// The key is memoized: every change to a field it covers must give the key of facts built
    /// with that value from the start, also in a copy made after the key was read.
    @Test func aChangedFieldChangesTheMemoizedKey() {
        let base = facts()
        _ = base.key
        var changes: [(inout StageFacts) -> Void] = [
            { $0.kind = "pretrain" }, { $0.version = "3" }, { $0.command = "echo" }, { $0.plugin = "p" }, { $0.seed = nil },
            { $0.params = .map([:]) }, { $0.referenced = [:] }, { $0.outputNames = ["x"] },
            { $0.inputs = ["model": OutputFact(digest: String(repeating: "bb", count: 32), size: 10)] },
        ]
        changes.append { $0.params = .map(["lr": .double(1e-4), "lora": .map(["rank": .int(8)])]) }
        for change in changes {
            var copy = base
            change(&copy)
            let fresh = StageFacts(kind: copy.kind, version: copy.version, command: copy.command, plugin: copy.plugin, seed: copy.seed,
                                   params: copy.params, referenced: copy.referenced, inputs: copy.inputs, outputNames: copy.outputNames)
            #expect(copy.key == fresh.key)
            #expect(copy.key != base.key)
            #expect(base.key == facts().key, "the original keeps its key")
        }
        var withOutputs = base
        withOutputs.outputs = [:]
        #expect(withOutputs.key == base.key && withOutputs != base)
    }

    @Test func reasonsNameEachDifference() {
        var now = facts(lr: 1e-4, input: "bb")
        now.version = "3"
        now.referenced = ["params.width": .int(256)]
        #expect(now.reasons(comparedTo: facts(), unknownInputs: [:]) == [
            "stage version 2 → 3", "param params.width: 128 → 256", "param with.lr: 0.0002 → 0.0001", "input model changed",
        ])
        // A built-in stage's version is the stage's; a plugin's is the plugin's.
        var plugin = facts(command: "sh run.sh")
        plugin.plugin = "digest"
        var bumped = plugin
        bumped.version = "3"
        #expect(bumped.reasons(comparedTo: plugin, unknownInputs: [:]) == ["plugin version 2 → 3"])
        var inline = facts(command: "echo")
        inline.version = "3"
        #expect(inline.reasons(comparedTo: facts(command: "echo"), unknownInputs: [:]) == ["command protocol version 2 → 3"])
        #expect(facts().reasons(comparedTo: facts(), unknownInputs: ["model": "pretrain"]) == ["input model: upstream pretrain is stale"])
        #expect(facts(command: "b").reasons(comparedTo: facts(command: "a"), unknownInputs: [:]) == ["command changed"])
    }

    @Test func aStageThatCannotReadTheSeedLeavesItOutOfItsKey() {
        var blind = facts(command: "echo")
        blind.seed = nil
        #expect(!blind.keyMaterial.canonicalJSON.contains("\"seed\""))
        #expect(facts(command: "echo").reasons(comparedTo: blind, unknownInputs: [:]) == ["seed unread → 7"])
    }

    @Test func referencesThatComeOrGoAreNotReportedAsParams() {
        // `with: {k: ${params.n}}` overridden by `--set stages.a.with.k=7`: params.n was not removed.
        var now = facts()
        now.params = .map(["k": .int(7)])
        now.referenced = [:]
        var old = facts()
        old.params = .map(["k": .int(2)])
        old.referenced = ["params.n": .int(2)]
        #expect(now.reasons(comparedTo: old, unknownInputs: [:]) == ["param with.k: 2 → 7"])
        #expect(old.reasons(comparedTo: now, unknownInputs: [:]) == ["param with.k: 7 → 2"])
    }

    @Test func lockfileRoundTripsAndIsSorted() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        var b = facts(command: "sh -c 'echo \"hi\" ${outputs.o}'")
        b.params = .map(["text": .string("a: b\n\u{e9}"), "xs": .list([.double(0.1), .bool(true), .null])])
        let lock = Lockfile(tool: "anneal test", compute: .map(["cores": .int(2)]), pipeline: "p.yaml", name: "n",
                            stages: ["zeta": facts(), "alpha": b], overrides: ["params.n=3", "stages.a.with.k='x y'"])
        try lock.write(to: dir + "/p.lock")
        let text = try String(contentsOfFile: dir + "/p.lock", encoding: .utf8)
        #expect(text.range(of: "\"alpha\"")!.lowerBound < text.range(of: "\"zeta\"")!.lowerBound)
        let back = try Lockfile.read(dir + "/p.lock")
        #expect(back.stages == lock.stages)
        #expect(back.compute == lock.compute && back.pipeline == "p.yaml")
        #expect(back.overrides == ["params.n=3", "stages.a.with.k='x y'"])
        #expect(Lockfile.path(forPipeline: "pipelines/tinychat.yaml") == "pipelines/tinychat.lock")
    }

    /// The byte encoder writes what the string encoder it replaced wrote (kept here as the reference).
    @Test func lockfileBytesAreThoseOfTheStringEncoder() {
        func reference(_ l: Lockfile) -> String {
            func facts(_ title: String, _ m: [String: OutputFact]) -> String {
                if m.isEmpty { return "    \(title): {}\n" }
                var out = "    \(title):\n"
                for k in m.keys.sorted() { out += "      \(Value.jsonQuoted(k)): \(m[k]!.value.canonicalJSON)\n" }
                return out
            }
            var out = "# Written by anneal after every stage; commit it. `anneal repro` rebuilds from it.\n"
            out += "schema: \(Lockfile.schemaVersion)\n"
            out += "tool: \(Value.jsonQuoted(l.tool))\n"
            out += "compute: \(l.compute.canonicalJSON)\n"
            out += "pipeline: \(Value.jsonQuoted(l.pipeline))\n"
            out += "name: \(Value.jsonQuoted(l.name))\n"
            if !l.overrides.isEmpty { out += "overrides: \(Value.list(l.overrides.map(Value.string)).canonicalJSON)\n" }
            out += l.stages.isEmpty ? "stages: {}\n" : "stages:\n"
            for name in l.stages.keys.sorted() {
                let f = l.stages[name]!
                out += "  \(Value.jsonQuoted(name)):\n"
                out += "    kind: \(Value.jsonQuoted(f.kind))\n"
                out += "    version: \(Value.jsonQuoted(f.version))\n"
                out += "    key: \(Value.jsonQuoted(f.key))\n"
                if let seed = f.seed { out += "    seed: \(seed)\n" }
                if let c = f.command { out += "    command: \(Value.jsonQuoted(c))\n" }
                if let p = f.plugin { out += "    plugin: \(Value.jsonQuoted(p))\n" }
                out += "    params: \(f.params.canonicalJSON)\n"
                out += "    referenced: \(Value.map(f.referenced).canonicalJSON)\n"
                out += "    outputs_declared: \(Value.list(f.outputNames.map(Value.string)).canonicalJSON)\n"
                out += facts("inputs", f.inputs)
                out += facts("outputs", f.outputs)
            }
            return out
        }
        var b = facts(command: "sh -c 'echo \"h\u{e9}\" ${outputs.o}'\n\t")
        b.params = .map(["text": .string("a: b\n\u{1F600}"), "xs": .list([.double(0.1), .bool(true), .null, .int(-3)])])
        b.plugin = String(repeating: "ab", count: 32)
        b.inputs = [:]
        var c = facts()
        c.seed = nil
        c.outputs = [:]
        for lock in [Lockfile(tool: "anneal t", compute: .map(["cores": .int(2), "blas": .string("x y")]), pipeline: "p \"q\".yaml",
                              name: "n", stages: ["zeta": facts(), "alpha": b, "mid": c], overrides: ["params.n=3", "a=\"b\""]),
                     Lockfile(tool: "", compute: .map([:]), pipeline: "", name: "", stages: [:])] {
            #expect(lock.encodedBytes() == Array(reference(lock).utf8))
            #expect(lock.encoded() == reference(lock))
        }
    }

    @Test func aLockSnapshotParsesOnlyWhenAskedAndReportsAnUnreadableFileOnce() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let lock = Lockfile(tool: "t", compute: .map([:]), pipeline: "p.yaml", name: "n", stages: ["a": facts()])
        try lock.write(to: dir + "/p.lock")
        let good = LockSnapshot(path: dir + "/p.lock") { _ in Issue.record("a valid lockfile was reported") }
        #expect(good.exists && good.bytes == Array(lock.encoded().utf8))
        #expect(good.lockfile?.stages == lock.stages)

        try "schema: [".write(toFile: dir + "/bad.lock", atomically: false, encoding: .utf8)
        let reports = Reports()
        let bad = LockSnapshot(path: dir + "/bad.lock") { reports.add($0.description) }
        #expect(reports.all.isEmpty, "reading the bytes parses nothing")
        #expect(bad.lockfile == nil && bad.lockfile == nil)
        #expect(reports.all.count == 1 && reports.all[0].contains("bad.lock"))
        #expect(throws: StoreError.self) { try bad.verified() }

        let none = LockSnapshot(path: dir + "/none.lock") { _ in Issue.record("a missing lockfile was reported") }
        #expect(!none.exists && none.lockfile == nil)
        #expect(try none.verified() == nil)
    }

    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
    }

    @Test func lockfileRejectsHandEditsAndOtherSchemas() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let lock = Lockfile(tool: "t", compute: .map([:]), pipeline: "p.yaml", name: "n", stages: ["a": facts()])
        try lock.write(to: dir + "/p.lock")
        let text = try String(contentsOfFile: dir + "/p.lock", encoding: .utf8)
        try text.replacingOccurrences(of: "\"seed\": 7", with: "x").replacingOccurrences(of: "seed: 7", with: "seed: 8")
            .write(toFile: dir + "/edited.lock", atomically: false, encoding: .utf8)
        #expect(throws: StoreError.self) { try Lockfile.read(dir + "/edited.lock") }
        try text.replacingOccurrences(of: "schema: 1", with: "schema: 99").write(toFile: dir + "/future.lock", atomically: false, encoding: .utf8)
        do {
            _ = try Lockfile.read(dir + "/future.lock")
            Issue.record("a future schema was accepted")
        } catch {
            #expect(error.description.contains("has lockfile schema 99; this anneal reads schema 1"))
        }
    }

    @Test func pluginManifestValidation() {
        let good = PluginManifest.parse("version: 2\ncommand: run.sh\ninputs: [a]\noutputs: [b]\nthreads: 2\nparams:\n  k: {type: float, default: 0.5}\n", file: "m.yaml", directoryName: "x")
        if case .success(let m) = good {
            #expect(m.schema.version == "2" && m.schema.threads == 2 && m.schema.params.first?.kind == .float)
        } else { Issue.record("valid manifest rejected") }
        let bad = PluginManifest.parse("versoin: 2\ncommand: x\noutputs: [b]\n", file: "m.yaml", directoryName: "x")
        if case .failure(let e) = bad {
            #expect(e.diagnostics.map(\.description) == [
                "m.yaml:1:1: error: missing required key 'version' (bump it when the stage's behaviour changes)",
                "m.yaml:1:1: error: unknown manifest key 'versoin'; did you mean 'version'?",
            ])
        } else { Issue.record("invalid manifest accepted") }
    }

    @Test func pluginManifestOutputsAreNames() {
        let text = """
            version: 1
            command: x
            outputs:
              - ../../../../tmp/x/important
              - ..
              - .
              - ""
              - a/b
              - x y
              - fine_name-2

            """
        guard case .failure(let e) = PluginManifest.parse(text, file: "m.yaml", directoryName: "x") else {
            Issue.record("outputs that are paths were accepted")
            return
        }
        let rule = "output names must start with a letter and hold only letters, digits, '_' and '-'"
        #expect(e.diagnostics.map(\.description) == [
            "m.yaml:4:5: error: invalid output name '../../../../tmp/x/important': \(rule)",
            "m.yaml:5:5: error: invalid output name '..': \(rule)",
            "m.yaml:6:5: error: invalid output name '.': \(rule)",
            "m.yaml:7:6: error: invalid output name '': \(rule)",
            "m.yaml:8:5: error: invalid output name 'a/b': \(rule)",
            "m.yaml:9:5: error: invalid output name 'x y': \(rule)",
        ])
    }
}

@Suite struct ConsoleReporterTests {
    @Test func liveLineIsCutToTheTerminalWidth() {
        let line = "  ⋯ pretrain  1m02s  step 120/2000  3.1 steps/s  ETA 10m06s  loss 2.314  lr 0.0003"
        #expect(ConsoleReporter.fit(line, width: 40) == "  ⋯ pretrain  1m02s  step 120/2000  3.…")
        #expect(ConsoleReporter.fit(line, width: 40).count == 39, "the last column stays free")
        #expect(ConsoleReporter.fit("short", width: 40) == "short")
        #expect(ConsoleReporter.terminalWidth(fd: -1, environment: ["COLUMNS": "52"]) == 52)
        #expect(ConsoleReporter.terminalWidth(fd: -1, environment: [:]) == 80)
    }

    @Test func metricsReadAsIntegersOrFourSignificantDigits() {
        #expect(ConsoleReporter.short(42) == "42")
        #expect(ConsoleReporter.short(0.123456789) == "0.1235")
        #expect(ConsoleReporter.short(2.0001) == "2")
        #expect(ConsoleReporter.short(12345.678) == "12350")
        #expect(ConsoleReporter.short(0.000123456) == "0.0001235")
        #expect(ConsoleReporter.short(-3.14159) == "-3.142")
    }

    @Test func reasonsBeyondTheFirstFewAreCounted() {
        #expect(ConsoleReporter.summary(of: ["a", "b"]) == "a; b")
        #expect(ConsoleReporter.summary(of: ["a", "b", "c", "d", "e"]) == "a; b; c; +2 more")
    }
}
