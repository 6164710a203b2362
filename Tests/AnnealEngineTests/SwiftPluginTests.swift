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
}
