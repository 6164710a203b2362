import AnnealPipeline
import Foundation
import Testing

/// A scratch workspace and the real `anneal` binary built next to this test bundle.
struct Sandbox {
    let dir: String

    init(_ name: String = #function) {
        let base = NSTemporaryDirectory() + "anneal-e2e-" + name.filter { $0.isLetter || $0.isNumber } + "-"
        dir = base + String(UInt32.random(in: 0...UInt32.max))
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["ANNEAL_BIN"] { return b }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("anneal").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for config in ["release", "debug"] {
            let p = root.appendingPathComponent(".build/\(config)/anneal").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        fatalError("cannot find the anneal binary; set ANNEAL_BIN")
    }

    func write(_ path: String, _ text: String) {
        let full = dir + "/" + path
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: dir + "/" + path, encoding: .utf8) }

    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
        var json: Value? { Value.parseJSON(stdout) }

        /// `{name: status}` of a `run --json` / `status --json` object.
        var statuses: [String: String] {
            var out: [String: String] = [:]
            for s in json?["stages"]?.listValue ?? [] { out[s["name"]?.stringValue ?? ""] = s["status"]?.stringValue }
            return out
        }

        func reasons(_ stage: String) -> [String] {
            (json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == stage }?["reasons"]?.listValue?.compactMap(\.stringValue) ?? []
        }
    }

    @discardableResult
    func anneal(_ args: String...) -> Result { anneal(args) }

    func anneal(_ args: [String], environment: [String: String] = [:]) -> Result {
        let p = start(args, environment: environment)
        let out = p.stdout.fileHandleForReading.readDataToEndOfFile()
        let err = p.stderr.fileHandleForReading.readDataToEndOfFile()
        p.process.waitUntilExit()
        return Result(code: p.process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }

    struct Running {
        var process: Process
        var stdout: Pipe
        var stderr: Pipe
    }

    func start(_ args: [String], environment: [String: String] = [:]) -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var env = ProcessInfo.processInfo.environment
        env["ANNEAL_CACHE"] = nil
        env.merge(environment) { _, b in b }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try! p.run()
        return Running(process: p, stdout: out, stderr: err)
    }

    /// `run --json` on the pipeline, expecting exit `code`.
    func run(_ pipeline: String = "p.yaml", _ extra: [String] = [], code: Int32 = 0,
             sourceLocation: SourceLocation = #_sourceLocation) -> Result {
        let r = anneal(["run", pipeline, "--json"] + extra)
        #expect(r.code == code, "anneal run exited \(r.code): \(r.stderr.suffix(600))", sourceLocation: sourceLocation)
        return r
    }

    func status(_ pipeline: String = "p.yaml") -> Result { anneal("status", pipeline, "--json") }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
