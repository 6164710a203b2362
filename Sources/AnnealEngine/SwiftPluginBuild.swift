import Foundation

/// Builds a Swift plugin's executable and hands back the binary to run.
///
/// Layout under `builds` (`cache/plugins-build`, outside the objects and never hashed;
/// deleting it only costs a rebuild):
///
///     <product>-<id>/          id: hash of the plugin's directory and the Anneal package
///       lock                   flock: one build at a time per plugin, across processes
///       scratch/               SwiftPM's build directory, kept so rebuilds are incremental
///       bin/<digest>-<libs>/<product>  one binary per digest of the plugin's files and of
///                          Anneal's library sources, published by a rename
///
/// A binary is published only after `swift build` succeeded and the sources still have the
/// digest the run's action key was computed from, and by renaming a finished directory into
/// `bin/`, so a failed, killed or concurrent build never leaves a binary that is not what
/// its name says. Stages of the same plugin that start together wait for one build.
public struct SwiftPluginBuild: Sendable {
    public var pluginDirectory: String
    public var product: String
    /// The digest the run computed (`ANNEAL_PLUGIN_DIGEST`); nil to take the current one.
    public var expectedDigest: String?
    public var builds: String
    /// The Anneal checkout the package depends on by path (`ANNEAL_PACKAGE_PATH` in its
    /// manifest).
    public var annealPackage: String
    public var jobs: Int
    /// Compiler locations are shown relative to it.
    public var workspace: String?

    public init(pluginDirectory: String, product: String, expectedDigest: String?, builds: String, annealPackage: String,
                jobs: Int, workspace: String?) {
        self.pluginDirectory = pluginDirectory
        self.product = product
        self.expectedDigest = expectedDigest
        self.builds = builds
        self.annealPackage = annealPackage
        self.jobs = jobs
        self.workspace = workspace
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    var name: String { (pluginDirectory as NSString).lastPathComponent }

    /// `builds/<product>-<id>`: one per plugin directory and Anneal checkout, so two
    /// workspaces sharing a cache, or two checkouts, never build over each other.
    var root: String {
        let id = Digest.of(string: pluginDirectory + "\0" + annealPackage).prefix(16)
        return "\(builds)/\(product)-\(id)"
    }

    /// The binary for the plugin's current sources, built first if there is none. `log`
    /// receives every line of the build (the stage's log).
    public func binary(log: (String) -> Void) throws(Failure) -> String {
        let digest = try currentDigest()
        let binaryName = digest + "-" + (try librariesDigest()).prefix(16)
        let published = "\(root)/bin/\(binaryName)/\(product)"
        if FileManager.default.isExecutableFile(atPath: published) { return published }
        do { try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true) } catch {
            throw Failure(description: "cannot create \(root)/bin: \(error.localizedDescription)")
        }
        let lock = CacheLock()
        do {
            try lock.acquire(path: root + "/lock") { _ in log("waiting for another build of Swift plugin '\(name)'") }
        } catch { throw Failure(description: error.description) }
        defer { lock.release() }
        recordSource()
        // Another process may have built it while this one waited.
        if FileManager.default.isExecutableFile(atPath: published) { return published }

        let first = !FileManager.default.fileExists(atPath: root + "/scratch")
        log("building Swift plugin '\(name)' (swift build -c release)" + (first ? "; a first build compiles Anneal's libraries too, minutes" : ""))
        let started = Date()
        let (status, output) = try runSwiftBuild(log: log)
        guard status == 0 else {
            throw Failure(description: Self.summary(of: output, plugin: name, status: status, workspace: workspace))
        }
        guard try currentDigest() == digest else {
            throw Failure(description: "the files of plugin '\(name)' changed during its build; run again to build and run the new version")
        }
        try publish(from: "\(root)/scratch/release/\(product)", to: "\(root)/bin/\(binaryName)")
        log(String(format: "built Swift plugin '%@' in %.1f s", name, Date().timeIntervalSince(started)))
        return published
    }

    /// Anneal's library sources, which the binary links: a change to them (a `git pull`)
    /// rebuilds it. It does not rerun the plugin's stages: their keys cover the plugin's
    /// files and version, as a built-in stage's key covers its version, not Anneal's code.
    static let librarySources = ["Package.swift", "Sources/CBLAS", "Sources/AnnealCompute", "Sources/AnnealText",
                                 "Sources/AnnealModels", "Sources/AnnealTrain", "Sources/AnnealStageKit"]

    func librariesDigest() throws(Failure) -> String {
        var manifest = ""
        for path in Self.librarySources {
            let full = annealPackage + "/" + path
            guard FileManager.default.fileExists(atPath: full) else { manifest += "\(path)\0-\n"; continue }
            do { manifest += "\(path)\0\(try Digest.ofTree(full).digest)\n" } catch { throw Failure(description: error.description) }
        }
        return Digest.of(string: manifest)
    }

    private func currentDigest() throws(Failure) -> String {
        let now: String
        do { now = try SwiftPlugin.sourceDigest(of: pluginDirectory).digest } catch { throw Failure(description: error.description) }
        if let expectedDigest, expectedDigest != now {
            throw Failure(description: "the files of plugin '\(name)' changed after this run computed its key; run again to build and run the new version")
        }
        return now
    }

    /// SwiftPM resolves Anneal's dependencies again for the plugin, cloning them with git from
    /// wherever the machine keeps them; git (2.35.2+) refuses repositories another user owns
    /// ("detected dubious ownership"), so on a shared machine, where an administrator installed
    /// Anneal and its package copies, nobody else could build a plugin. git honours
    /// `safe.directory` only from the system or global file (not `-c` or `GIT_CONFIG_*` before
    /// 2.46), so this build's git commands get a global file of their own (`GIT_CONFIG_GLOBAL`)
    /// that includes the user's and adds it: the user already trusts these sources enough to
    /// compile and run them. Nothing changes for anything outside this build.
    static func trustPackageCopies(_ env: inout [String: String], configFile: String) throws(Failure) {
        var includes: [String] = []
        if let global = env["GIT_CONFIG_GLOBAL"], !global.isEmpty {
            includes = [global]
        } else if let home = env["HOME"], !home.isEmpty {
            let xdg = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
            includes = [xdg + "/git/config", home + "/.gitconfig"]
        }
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let text = "# Written by anneal for its Swift plugin builds; see SwiftPluginBuild.trustPackageCopies.\n"
            + includes.map { "[include]\n\tpath = \(quoted($0))\n" }.joined() + "[safe]\n\tdirectory = *\n"
        do { try text.write(toFile: configFile, atomically: true, encoding: .utf8) } catch {
            throw Failure(description: "cannot write \(configFile): \(error.localizedDescription)")
        }
        env["GIT_CONFIG_GLOBAL"] = configFile
    }

    /// `swift build` in the stage's process group (Ctrl-C and `--jobs` reach it), its output
    /// copied line by line into `log` and kept for the error summary.
    private func runSwiftBuild(log: (String) -> Void) throws(Failure) -> (Int32, [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "build", "-c", "release", "--package-path", pluginDirectory, "--scratch-path", root + "/scratch",
                       "--product", product, "-j", String(max(1, jobs))]
        var env = ProcessInfo.processInfo.environment
        env["ANNEAL_PACKAGE_PATH"] = annealPackage
        try Self.trustPackageCopies(&env, configFile: root + "/gitconfig")
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw Failure(description: "cannot start `swift build` for plugin '\(name)': \(error.localizedDescription); Swift plugins need the Swift toolchain on PATH")
        }
        var lines: [String] = []
        var pending = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                lines.append(line)
                log(line)
            }
        }
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            lines.append(line)
            log(line)
        }
        p.waitUntilExit()
        if p.terminationReason == .uncaughtSignal { return (128 + p.terminationStatus, lines) }
        return (p.terminationStatus, lines)
    }

    /// Copies the binary into a private directory, then renames that into `bin/<digest>-<libs>`.
    private func publish(from binary: String, to directory: String) throws(Failure) {
        let fm = FileManager.default
        let temporary = "\(root)/bin/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try fm.copyItem(atPath: binary, toPath: "\(temporary)/\(product)")
            chmod("\(temporary)/\(product)", 0o755)
        } catch {
            FileTree.remove(temporary)
            throw Failure(description: "cannot copy the built plugin '\(name)' from \(binary): \(error.localizedDescription)")
        }
        if rename(temporary, directory) != 0 {
            let code = errno
            FileTree.remove(temporary)
            // Only a build of the same digest can have put it there: the same binary.
            if !fm.isExecutableFile(atPath: "\(directory)/\(product)") {
                throw Failure(description: "cannot publish the built plugin '\(name)' as \(directory): \(String(cString: strerror(code)))")
            }
        }
    }

    /// The failed build's verdict, for the end of the stage's log, which `anneal run` shows:
    /// each compiler error at its `file:line:col` (relative to the workspace), at most 5.
    static func summary(of output: [String], plugin: String, status: Int32, workspace: String?) -> String {
        var errors: [String] = []
        for line in output {
            guard let range = line.range(of: ": error: ") else { continue }
            var location = String(line[..<range.lowerBound])
            let parts = location.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 3, Int(parts[parts.count - 1]) != nil, Int(parts[parts.count - 2]) != nil else { continue }
            if let workspace, location.hasPrefix(workspace + "/") { location.removeFirst(workspace.count + 1) }
            let entry = location + line[range.lowerBound...]
            if !errors.contains(entry) { errors.append(entry) }
        }
        if errors.isEmpty {
            // Not the compiler (a manifest, a missing product): SwiftPM's own `error:` lines.
            for line in output where line.hasPrefix("error: ") && !errors.contains(line) { errors.append(line) }
        }
        let shown = errors.prefix(5).map { "  " + $0 }
        let more = errors.count > 5 ? ["  … and \(errors.count - 5) more errors above"] : []
        let verdict = status > 128 ? "was stopped by signal \(status - 128)" : "failed (swift build exited \(status))"
        return (["Swift plugin '\(plugin)' did not build: its build \(verdict)" + (errors.isEmpty ? "" : ":")] + shown + more)
            .joined(separator: "\n")
    }
}
