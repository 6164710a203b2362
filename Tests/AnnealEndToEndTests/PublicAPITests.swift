import Foundation
import Testing

/// The library products' public API is a contract with plugin authors (docs/plugins.md):
/// the symbols the compiler exports must be exactly those listed in docs/api/public-api.txt.
/// Read from the built modules with swift-symbolgraph-extract, so nothing public slips in
/// (or out) unnoticed: a deliberate change updates the list and the version in the same commit.
enum PublicAPI {
    static let modules = ["AnnealCompute", "AnnealModels", "AnnealTrain", "AnnealStageKit"]
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var listPath: String { repository.appendingPathComponent("docs/api/public-api.txt").path }

    /// The build's `Modules` directory next to this test bundle (absent when the bundle was
    /// copied elsewhere, as scripts/test-unprivileged does).
    static var modulesDirectory: String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("Modules")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("AnnealStageKit.swiftmodule").path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var isCheckable: Bool {
        modulesDirectory != nil && FileManager.default.isReadableFile(atPath: listPath)
            && (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                .contains { FileManager.default.isExecutableFile(atPath: "\($0)/swift-symbolgraph-extract") }
    }

    /// `MODULE KIND PATH: DECLARATION`, one line per public symbol, sorted.
    static func extract(modules directory: String) throws -> [String] {
        // .build/x86_64-unknown-linux-gnu/debug/Modules: the triple the modules were built for.
        let triple = URL(fileURLWithPath: directory).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("anneal-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        var lines = Set<String>()
        for module in modules {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["swift-symbolgraph-extract", "-module-name", module, "-I", directory,
                           "-I", repository.appendingPathComponent("Sources/CBLAS").path,
                           "-Xcc", "-fmodule-map-file=" + repository.appendingPathComponent("Sources/CBLAS/module.modulemap").path,
                           "-target", triple, "-minimum-access-level", "public", "-skip-synthesized-members",
                           "-output-dir", output.path]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "swift-symbolgraph-extract \(module): \(message)")
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: output.path) where file.hasSuffix(".symbols.json") {
            let module = String(file.prefix { $0 != "." && $0 != "@" })
            let data = try Data(contentsOf: output.appendingPathComponent(file))
            let graph = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            for symbol in graph?["symbols"] as? [[String: Any]] ?? [] {
                let kind = ((symbol["kind"] as? [String: Any])?["identifier"] as? String ?? "").replacingOccurrences(of: "swift.", with: "")
                let path = (symbol["pathComponents"] as? [String] ?? []).joined(separator: ".")
                let declaration = (symbol["declarationFragments"] as? [[String: Any]] ?? []).compactMap { $0["spelling"] as? String }.joined()
                lines.insert("\(module) \(kind) \(path): \(declaration)")
            }
        }
        return lines.sorted()
    }
}

@Suite struct PublicAPITests {
    @Test(.enabled(if: PublicAPI.isCheckable, "needs the build's Modules directory and swift-symbolgraph-extract"))
    func theLibraryProductsExportExactlyTheListedAPI() throws {
        let now = try PublicAPI.extract(modules: PublicAPI.modulesDirectory!)
        let listed = try String(contentsOfFile: PublicAPI.listPath, encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.isEmpty }
        let added = Set(now).subtracting(listed).sorted(), removed = Set(listed).subtracting(now).sorted()
        if !added.isEmpty || !removed.isEmpty {
            let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("public-api.txt").path
            try (PublicAPI.header + now.joined(separator: "\n") + "\n").write(toFile: fresh, atomically: true, encoding: .utf8)
            Issue.record("""
                the public API of the library products changed:
                \((added.map { "+ " + $0 } + removed.map { "- " + $0 }).joined(separator: "\n"))
                if deliberate, cp \(fresh) docs/api/public-api.txt and bump the API version in docs/plugins.md
                """)
        }
    }
}

extension PublicAPI {
    static let header = """
        # The public API of Anneal's library products (AnnealCompute, AnnealModels, AnnealTrain,
        # AnnealStageKit), one symbol a line: MODULE KIND PATH: DECLARATION. Checked against the
        # built modules by Tests/AnnealEndToEndTests/PublicAPITests.swift; see docs/plugins.md.

        """
}
