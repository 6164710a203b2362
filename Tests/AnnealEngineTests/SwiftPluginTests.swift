@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// Swift plugins without compiling one (Tests/AnnealEndToEndTests/SwiftPluginTests.swift
/// compiles): the manifest key, the digest, the build's error summary.
@Suite struct SwiftPluginTests {
    func parse(_ text: String) -> Result<PluginManifest, PipelineErrors> {
        PluginManifest.parse(text, file: "stages/p/stage.yaml", directoryName: "p")
    }

    func workspace(_ files: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "anneal-swiftplugin-" + UUID().uuidString
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func theCommandIsTheRunnersOwnWithNoMachinePath() throws {
        let m = try parse("version: 1\nswift: lrfind\noutputs: [o]\n").get()
        #expect(m.swiftProduct == "lrfind")
        #expect(m.command == "\"$ANNEAL_BIN\" exec-swift-plugin ${plugin} lrfind")
    }

    @Test func swiftAndCommandExcludeEachOtherAndTheProductIsAName() {
        guard case .failure(let e) = parse("version: 1\nswift: a\ncommand: sh x.sh\noutputs: [o]\n"),
              case .failure(let f) = parse("version: 1\nswift: '../x y'\noutputs: [o]\n") else {
            Issue.record("accepted")
            return
        }
        #expect(e.diagnostics.map(\.description) == [
            "stages/p/stage.yaml:3:10: error: a Swift plugin has no 'command': the runner builds and runs its product 'a'; remove 'command', or 'swift' to run a script",
        ])
        #expect(f.diagnostics.map(\.description) == [
            "stages/p/stage.yaml:1:1: error: missing required key 'command'; or 'swift: PRODUCT' for a plugin that is a Swift package",
            "stages/p/stage.yaml:2:9: error: 'swift' names the package's executable product, a name of letters, digits, '_' and '-'; e.g. swift: lrfind, for .executable(name: \"lrfind\", …) in Package.swift",
        ])
    }

    @Test func aSwiftPluginWithoutAPackageIsBroken() throws {
        let dir = try workspace(["stages/p/stage.yaml": "version: 1\nswift: p\noutputs: [o]\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = StageRegistry(pluginsDirectory: dir + "/stages", workspace: dir)
        #expect(registry.kinds["p"] == nil)
        #expect(registry.broken["p"]?.map(\.description) == [
            "stages/p/stage.yaml:2:8: error: plugin 'p' says 'swift:' but its directory has no Package.swift; `anneal init --stage NAME --swift` writes one",
        ])
    }

    /// A `swift build` by hand in the plugin's directory leaves `.build` and
    /// `Package.resolved`: they must not rerun every stage using the plugin.
    @Test func theDigestCoversTheSourcesNotWhatSwiftPMWrites() throws {
        let dir = try workspace(["stages/p/stage.yaml": "version: 1\nswift: p\noutputs: [o]\n", "stages/p/Package.swift": "// package\n",
                                 "stages/p/Sources/p/P.swift": "print(1)\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func digest() -> String? {
            if case .plugin(_, _, let d)? = StageRegistry(pluginsDirectory: dir + "/stages", workspace: dir).kinds["p"]?.launch { return d }
            return nil
        }
        let before = try #require(digest())
        try "{}".write(toFile: dir + "/stages/p/Package.resolved", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/stages/p/.build/release", withIntermediateDirectories: true)
        try "binary".write(toFile: dir + "/stages/p/.build/release/p", atomically: true, encoding: .utf8)
        #expect(digest() == before)
        try "print(2)\n".write(toFile: dir + "/stages/p/Sources/p/P.swift", atomically: true, encoding: .utf8)
        #expect(digest() != before)
    }

    @Test func aFailedBuildEndsWithTheCompilersLocationsRelativeToTheWorkspace() {
        let output = [
            "[3/4] Compiling p P.swift",
            "/ws/stages/p/Sources/p/P.swift:3:9: error: cannot find 'x' in scope",
            " 3 |     print(x)",
            "   |         `- error: cannot find 'x' in scope",
            "/ws/stages/p/Sources/p/P.swift:3:9: error: cannot find 'x' in scope",
            "/elsewhere/Q.swift:1:2: error: expected expression",
            "/ws/stages/p/Sources/p/P.swift:4:1: warning: unused",
        ]
        #expect(SwiftPluginBuild.summary(of: output, plugin: "p", status: 1, workspace: "/ws") == """
            Swift plugin 'p' did not build: its build failed (swift build exited 1):
              stages/p/Sources/p/P.swift:3:9: error: cannot find 'x' in scope
              /elsewhere/Q.swift:1:2: error: expected expression
            """)
        #expect(SwiftPluginBuild.summary(of: ["error: no product named 'q'"], plugin: "p", status: 1, workspace: "/ws") == """
            Swift plugin 'p' did not build: its build failed (swift build exited 1):
              error: no product named 'q'
            """)
        #expect(SwiftPluginBuild.summary(of: [], plugin: "p", status: 143, workspace: nil) == "Swift plugin 'p' did not build: its build was stopped by signal 15")
    }

    /// gc keeps each plugin's newest binary, drops older ones and a killed publish's
    /// leftovers, drops the whole build of a plugin whose directory is gone, and leaves a
    /// build whose lock is held (in progress) alone.
    @Test func pruneKeepsTheNewestBinaryAndDropsBuildsOfRemovedPlugins() throws {
        let plugin = try workspace(["stages/p/stage.yaml": "name: p\n"]) + "/stages/p"
        let builds = try workspace([
            "p-1/source": plugin + "\n", "p-1/scratch/x.o": "obj",
            "p-1/bin/old/p": "1", "p-1/bin/new/p": "22", "p-1/bin/.tmp-9-1/p": "3",
            "gone-2/source": "/nonexistent/stages/gone\n", "gone-2/scratch/y.o": "obj", "gone-2/bin/a/gone": "4",
            "busy-3/bin/a/busy": "5", "busy-3/bin/b/busy": "6",
        ])
        defer { try? FileManager.default.removeItem(atPath: builds) }
        func age(_ path: String, _ seconds: Int) {
            var times = [timespec(tv_sec: time(nil) - seconds, tv_nsec: 0), timespec(tv_sec: time(nil) - seconds, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, builds + "/" + path, &times, 0)
        }
        age("p-1/bin/old", 100)
        age("p-1/bin/.tmp-9-1", 10)
        age("p-1/bin/new", 50)
        let busy = open(builds + "/busy-3/lock", O_RDWR | O_CREAT, 0o644)
        #expect(flock(busy, LOCK_EX) == 0)
        defer { close(busy) }

        let dry = SwiftPluginBuild.prune(builds: builds, dryRun: true)
        #expect(Set(dry.paths) == [builds + "/p-1/bin/old", builds + "/p-1/bin/.tmp-9-1", builds + "/gone-2"])
        #expect(dry.bytes >= 1 + 1 + 3 + 3 + 1 + 24)
        #expect(FileManager.default.fileExists(atPath: builds + "/gone-2/scratch/y.o"), "a dry run removes nothing")

        let real = SwiftPluginBuild.prune(builds: builds, dryRun: false)
        #expect(Set(real.paths) == Set(dry.paths))
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: builds + "/p-1/bin/new/p") && fm.fileExists(atPath: builds + "/p-1/scratch/x.o"))
        #expect(!fm.fileExists(atPath: builds + "/p-1/bin/old") && !fm.fileExists(atPath: builds + "/p-1/bin/.tmp-9-1"))
        #expect(!fm.fileExists(atPath: builds + "/gone-2"))
        #expect(fm.fileExists(atPath: builds + "/busy-3/bin/a/busy") && fm.fileExists(atPath: builds + "/busy-3/bin/b/busy"))
    }

    /// A plugin build clones Anneal's dependencies from the machine's package copies, which an
    /// administrator owns; git refuses another user's repository ("dubious ownership") unless
    /// `safe.directory` comes from the global file, so the build's git gets one of its own that
    /// includes the user's. Needs root to give a repository away.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/git"), "needs root and git"))
    func aPluginBuildClonesARepositoryAnotherUserOwns() throws {
        let dir = try workspace(["work/README": "x\n", "home/.gitconfig": "[user]\n\tname = Someone\n"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func git(_ args: [String], env: [String: String]) -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try? p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        var env = ["PATH": "/usr/bin:/bin", "HOME": dir + "/home", "GIT_CONFIG_NOSYSTEM": "1"]
        #expect(git(["-C", "work", "init", "-q"], env: env).0 == 0)
        #expect(git(["-C", "work", "add", "README"], env: env).0 == 0)
        #expect(git(["-C", "work", "-c", "user.email=a@b", "commit", "-qm", "x"], env: env).0 == 0)
        #expect(git(["clone", "-q", "--bare", "work", "copy.git"], env: env).0 == 0)
        #expect(chownTree(dir + "/copy.git", to: 65534))

        let refused = git(["clone", "-q", "copy.git", "plain"], env: env)
        #expect(refused.0 != 0 && refused.1.contains("dubious ownership"), "\(refused)")
        try SwiftPluginBuild.trustPackageCopies(&env, configFile: dir + "/gitconfig")
        #expect(env["GIT_CONFIG_GLOBAL"] == dir + "/gitconfig")
        let cloned = git(["clone", "-q", "copy.git", "trusted"], env: env)
        #expect(cloned.0 == 0, "\(cloned)")
        // The user's own global settings still apply: the generated file includes them.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = ["config", "user.name"]
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let name = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(name == "Someone\n")
    }

    func chownTree(_ path: String, to uid: uid_t) -> Bool {
        guard lchown(path, uid, uid) == 0 else { return false }
        for entry in (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [] where lchown(path + "/" + entry, uid, uid) != 0 {
            return false
        }
        return true
    }
}
