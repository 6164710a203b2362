import ArgumentParser
import Foundation

/// Commands that work inside a workspace, and the path the user named explicitly (a pipeline
/// or a lockfile), if any: it decides which workspace is meant.
protocol WorkspaceCommand {
    var explicitPath: String? { get }
}

/// Where the workspace is. The workspace root is the current directory when it holds
/// `pipelines/` or `cache/` (or `stages/`); otherwise, like git and make, anneal looks for it:
/// the parent of the `pipelines/` directory of a pipeline named explicitly, or else the nearest
/// ancestor holding `pipelines/` or `cache/`. It then works from there, and paths the user
/// typed stay relative to where they typed them. `-C DIR` starts anneal in DIR first.
extension Workspace {
    /// The directory anneal was started in, when the workspace is elsewhere (nil otherwise).
    nonisolated(unsafe) static var invokedFrom: String?

    /// Removes the leading global `-C DIR` options (`-CDIR`, `--directory DIR|=DIR`) from
    /// `args`, changing directory for each in turn, as `git -C` does.
    static func takeDirectoryOptions(_ args: [String]) throws -> [String] {
        var rest = args[...]
        while let first = rest.first {
            let dir: String
            if first == "-C" || first == "--directory" {
                guard rest.count >= 2 else { throw UsageError("\(first) needs a directory: anneal -C DIR COMMAND …") }
                dir = rest[rest.index(after: rest.startIndex)]
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--directory=") {
                dir = String(first.dropFirst("--directory=".count))
                rest = rest.dropFirst()
            } else if first.hasPrefix("-C"), first.count > 2 {
                dir = String(first.dropFirst(2))
                rest = rest.dropFirst()
            } else {
                break
            }
            guard chdir(dir) == 0 else {
                throw UsageError("cannot change to directory '\(dir)' (-C): \(String(cString: strerror(errno)))")
            }
        }
        return Array(rest)
    }

    static func isWorkspace(_ dir: String) -> Bool {
        ["pipelines", "cache", "stages"].contains { isDirectory(dir + "/" + $0) }
    }

    /// Moves to the workspace `command` means, if the current directory is not one.
    static func locate(for command: any ParsableCommand) {
        guard let c = command as? any WorkspaceCommand else { return }
        let cwd = FileManager.default.currentDirectoryPath
        guard !isWorkspace(cwd) else { return }
        var root: String?
        if let p = c.explicitPath {
            let dir = (absolute(p, from: cwd) as NSString).deletingLastPathComponent
            if (dir as NSString).lastPathComponent == "pipelines" { root = (dir as NSString).deletingLastPathComponent }
        } else {
            var dir = cwd
            while dir != "/" && root == nil {
                dir = (dir as NSString).deletingLastPathComponent
                if isDirectory(dir + "/pipelines") || isDirectory(dir + "/cache") { root = dir }
            }
        }
        guard let root, root != cwd, chdir(root) == 0 else { return }
        invokedFrom = cwd
    }

    /// A path the user typed, as seen from the workspace root: relative to the root when it is
    /// inside it (so lockfiles and the ledger record the same path from any directory).
    static func userPath(_ p: String) -> String {
        guard let from = invokedFrom, !p.hasPrefix("/") else { return p }
        let full = absolute(p, from: from)
        let root = FileManager.default.currentDirectoryPath
        return full.hasPrefix(root + "/") ? String(full.dropFirst(root.count + 1)) : full
    }

    /// `pipelines/tinychat.yaml`, or else the only pipeline in `pipelines/` (a workspace made
    /// by `anneal init` has one); nil when neither exists.
    static var defaultPipeline: String? {
        if FileManager.default.fileExists(atPath: standardPipeline) { return standardPipeline }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "pipelines")) ?? []
        let pipelines = files.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        return pipelines.count == 1 ? "pipelines/" + pipelines[0] : nil
    }

    static let standardPipeline = "pipelines/tinychat.yaml"

    /// The error for a command that needs the default pipeline where there is none.
    static var noDefaultPipeline: UsageError {
        UsageError("""
            no pipeline given, and \(FileManager.default.currentDirectoryPath) is not in a workspace with \(standardPipeline) \
            or a single pipeline in pipelines/; name a pipeline file, run from inside a workspace, or use `anneal -C DIR …`
            """)
    }

    private static func absolute(_ p: String, from dir: String) -> String {
        URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: dir + "/")).standardizedFileURL.path
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}

extension Run: WorkspaceCommand { var explicitPath: String? { pipeline.pipeline } }
extension Status: WorkspaceCommand { var explicitPath: String? { pipeline.pipeline } }
extension Dag: WorkspaceCommand { var explicitPath: String? { pipeline.pipeline } }
extension Validate: WorkspaceCommand { var explicitPath: String? { pipeline.pipeline } }
extension Repro: WorkspaceCommand { var explicitPath: String? { lockfile } }
extension PathCommand: WorkspaceCommand { var explicitPath: String? { pipelineFile } }
extension Runs: WorkspaceCommand { var explicitPath: String? { nil } }
extension Log: WorkspaceCommand { var explicitPath: String? { nil } }
extension Metrics: WorkspaceCommand { var explicitPath: String? { pipelineArgument } }
extension GC: WorkspaceCommand { var explicitPath: String? { nil } }
extension Cache.Verify: WorkspaceCommand { var explicitPath: String? { nil } }
extension Stages: WorkspaceCommand { var explicitPath: String? { nil } }
extension Encode: WorkspaceCommand { var explicitPath: String? { options.pipelineFile } }
extension Decode: WorkspaceCommand { var explicitPath: String? { options.pipelineFile } }
extension Chat: WorkspaceCommand { var explicitPath: String? { model.pipelineFile } }
extension Generate: WorkspaceCommand { var explicitPath: String? { model.pipelineFile } }
extension Export: WorkspaceCommand { var explicitPath: String? { model.pipelineFile } }
