import AnnealPipeline
import Foundation
import Testing

extension Tag {
    /// Tests that compile a Swift plugin package, which builds Anneal's library products in
    /// release inside the plugin's build directory: minutes. Skip them with
    /// `ANNEAL_SKIP_PLUGIN_BUILD=1` or `swift test --skip SwiftPluginBuild`.
    @Tag static var compilesPlugin: Self
}

/// What building a Swift plugin needs: the Anneal sources the binary builds against (its own
/// checkout, like this test file's, or `ANNEAL_PACKAGE_PATH`) and `swift` on PATH. A test run
/// as another user from copied binaries (scripts/test-unprivileged) may see neither.
enum PluginBuild {
    static var annealPackage: String {
        ProcessInfo.processInfo.environment["ANNEAL_PACKAGE_PATH"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static var isPossible: Bool {
        let env = ProcessInfo.processInfo.environment
        guard env["ANNEAL_SKIP_PLUGIN_BUILD"] == nil, FileManager.default.isReadableFile(atPath: annealPackage + "/Package.swift") else { return false }
        return (env["PATH"] ?? "").split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/swift") }
    }
}

@Suite(.serialized) struct SwiftPluginBuildTests {
    /// The closing scenario of the plugins issue, on one build directory (one compilation of
    /// Anneal's libraries, then incremental rebuilds of the plugin's own module):
    /// `init --stage lrfind --swift`, a pipeline using it runs; an edit of its Swift source
    /// reruns exactly it and its dependents with reason `plugin files changed`; `repro`
    /// matches; a compile error fails the stage showing the compiler's file:line:col and
    /// publishes no binary; restoring the source serves the earlier result from the cache.
    @Test(.tags(.compilesPlugin), .enabled(if: PluginBuild.isPossible, "needs the Anneal sources and the Swift toolchain"))
    func scaffoldedPluginBuildsRunsRebuildsAndReportsCompileErrors() throws {
        let box = Sandbox()
        defer { box.remove() }
        let scaffold = box.anneal("init", "--stage", "lrfind", "--swift")
        #expect(scaffold.code == 0, "\(scaffold.stderr)")
        #expect(scaffold.stdout.contains("created stages/lrfind"))
        box.write("p.yaml", """
            name: p
            seed: 5
            stages:
              world:
                uses: synth/tinyworld
                with: {countries: 6, people: 12}
              tokenize:
                uses: tokenize
                inputs: {docs: world.corpus}
                with: {vocab_size: 300}
              pretrain:
                uses: pretrain
                inputs: {shards: tokenize.shards, tokenizer: tokenize.tokenizer}
                with: {n_layer: 1, n_head: 2, n_embd: 16, block_size: 16, batch_size: 2, max_iters: 3, warmup_iters: 1,
                       eval_iters: 1, eval_interval: 0, checkpoint_interval: 0}
              lrfind:
                uses: lrfind
                inputs: {model: pretrain.model, shards: tokenize.shards}
                with: {steps: 3, block_size: 16, batch_size: 2, eval_batches: 1}
              report:
                run: sh -c 'ls ${inputs.model} > ${outputs.r}/files.txt'
                inputs: {model: lrfind.model}
                outputs: [r]

            """)
        let first = box.run()
        #expect(Set(first.statuses.values) == ["ran"], "\(first.stdout)")
        let metrics = (first.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == "lrfind" }?["metrics"]
        #expect(metrics?["val_loss"]?.doubleValue?.isFinite == true && metrics?["val_loss_before"]?.doubleValue != nil)
        let report = box.anneal("path", "report.r", "-p", "p.yaml").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((try? String(contentsOfFile: report + "/files.txt", encoding: .utf8))?.contains("model.safetensors") == true)

        // An edit that changes what the stage writes: it and its dependent rerun, nothing else.
        let source = "stages/lrfind/Sources/lrfind/Lrfind.swift"
        let original = try #require(box.read(source))
        let anchor = "        try Checkpoint.save(model, to: out)\n"
        #expect(original.contains(anchor))
        let edited = original.replacingOccurrences(of: anchor, with: anchor + "        try \"edited\\n\".write(to: out.appendingPathComponent(\"note.txt\"), atomically: true, encoding: .utf8)\n")
        box.write(source, edited)
        let stale = box.status()
        #expect(stale.statuses == ["world": "fresh", "tokenize": "fresh", "pretrain": "fresh", "lrfind": "stale", "report": "stale"])
        #expect(stale.reasons("lrfind").contains { $0.hasPrefix("plugin files changed") }, "\(stale.reasons("lrfind"))")
        let second = box.run()
        #expect(second.statuses == ["world": "cached", "tokenize": "cached", "pretrain": "cached", "lrfind": "ran", "report": "ran"])
        #expect(second.reasons("lrfind").contains { $0.hasPrefix("plugin files changed") })
        let repro = box.anneal("repro", "p.lock", "--json")
        #expect(repro.code == 0 && repro.json?["reproduced"]?.boolValue == true, "\(repro.stdout) \(repro.stderr.suffix(800))")

        // A compile error: the stage fails with the compiler's location, no binary appears.
        let binaries = try builtBinaries(box)
        #expect(binaries.count == 2)
        let broken = "        let broken: Int = \"not a number\"\n"
        box.write(source, edited.replacingOccurrences(of: anchor, with: anchor + broken))
        let line = edited.prefix(upTo: edited.range(of: anchor)!.upperBound).split(separator: "\n", omittingEmptySubsequences: false).count
        let failed = box.run("p.yaml", code: 1)
        #expect(failed.statuses["lrfind"] == "failed" && failed.statuses["report"] == "skipped")
        let error = (failed.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == "lrfind" }?["error"]?.stringValue ?? ""
        #expect(error.contains("\(source):\(line):27: error: cannot convert value of type 'String' to specified type 'Int'"), "\(error)")
        #expect(error.contains("Swift plugin 'lrfind' did not build"))
        #expect(try builtBinaries(box) == binaries)

        // Back to the edited source: its result is still in the cache, nothing builds.
        box.write(source, edited)
        let restored = box.run()
        #expect(Set(restored.statuses.values) == ["cached"])
    }

    func builtBinaries(_ box: Sandbox) throws -> [String] {
        let builds = box.dir + "/cache/plugins-build"
        let roots = try FileManager.default.contentsOfDirectory(atPath: builds)
        #expect(roots.count == 1)
        return try FileManager.default.contentsOfDirectory(atPath: "\(builds)/\(roots[0])/bin").sorted()
    }
}

@Suite struct SwiftPluginScaffoldTests {
    @Test func initStageWritesAPluginTheRegistryAcceptsAndRefusesToOverwrite() throws {
        let box = Sandbox()
        defer { box.remove() }
        #expect(box.anneal("init", "--stage", "lr-find", "--swift").code == 0)
        for file in ["stages/lr-find/stage.yaml", "stages/lr-find/Package.swift", "stages/lr-find/Sources/lr-find/LrFind.swift"] {
            #expect(box.read(file) != nil, "\(file)")
        }
        let described = box.anneal("stages", "lr-find", "--json")
        #expect(described.code == 0, "\(described.stderr)")
        let params = described.json?["stages"]?.listValue?.first?["params"]?.listValue?.compactMap { $0["name"]?.stringValue }
        #expect(params == ["steps", "learning_rate", "batch_size", "block_size", "eval_batches"])
        let again = box.anneal("init", "--stage", "lr-find", "--swift")
        #expect(again.code == 2 && again.stderr.contains("stages/lr-find already exists"))
    }

    @Test func initStageNeedsSwiftAndAValidName() {
        let box = Sandbox()
        defer { box.remove() }
        let noSwift = box.anneal("init", "--stage", "x")
        #expect(noSwift.code == 2 && noSwift.stderr.contains("--stage scaffolds a Swift plugin: add --swift"), "\(noSwift.stderr)")
        let bad = box.anneal("init", "--stage", "../x", "--swift")
        #expect(bad.code == 2 && bad.stderr.contains("invalid stage name '../x'"), "\(bad.stderr)")
        let both = box.anneal("init", "ws", "--stage", "x", "--swift")
        #expect(both.code == 2)
        #expect(!FileManager.default.fileExists(atPath: box.dir + "/stages"))
    }
}
