import AnnealEngine
import ArgumentParser
import Foundation

/// `anneal exec-swift-plugin DIR PRODUCT`: the command of every Swift plugin (`swift:` in its
/// manifest). Runs in the stage's process: builds the package if its sources have no binary
/// yet (`SwiftPluginBuild`, the compiler's output going to the stage's log), then replaces
/// itself with the binary, which inherits the stage protocol's environment and descriptors.
struct ExecSwiftPlugin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-swift-plugin", abstract: "Build a Swift plugin if needed and run it as the stage (used by the runner).",
        shouldDisplay: false)

    @Argument var directory: String
    @Argument var product: String

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let build: SwiftPluginBuild
        do {
            build = SwiftPluginBuild(
                pluginDirectory: URL(fileURLWithPath: directory).standardizedFileURL.path, product: product,
                expectedDigest: env["ANNEAL_PLUGIN_DIGEST"],
                builds: env["ANNEAL_PLUGIN_BUILDS"] ?? FileManager.default.currentDirectoryPath + "/cache/plugins-build",
                annealPackage: try AnnealPackage.path(environment: env), jobs: Int(env["ANNEAL_THREADS"] ?? "") ?? 1,
                workspace: env["ANNEAL_WORKSPACE"])
        }
        let progress = env["ANNEAL_PROGRESS_FD"].flatMap(Int32.init)
        let binary: String
        do {
            binary = try build.binary { line in
                printError(line)
                // The live line says why the stage takes minutes before its first step.
                if let progress, ["building ", "built ", "waiting "].contains(where: line.hasPrefix) {
                    let json = "{\"message\":\"\(line.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"}\n"
                    _ = json.withCString { write(progress, $0, strlen($0)) }
                }
            }
        } catch {
            printError("error: \(error.description)")
            throw Failure(code: Exit.failed)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(binary), nil]
        execv(binary, argv)
        printError("error: cannot run the built plugin \(binary): \(String(cString: strerror(errno)))")
        throw Failure(code: Exit.failed)
    }
}

/// The Anneal checkout Swift plugins build against: `ANNEAL_PACKAGE_PATH`, else the checkout
/// this binary was built from (its sources' path, recorded at compile time).
enum AnnealPackage {
    static func path(environment: [String: String]) throws -> String {
        if let p = environment["ANNEAL_PACKAGE_PATH"], !p.isEmpty {
            let absolute = URL(fileURLWithPath: p).standardizedFileURL.path
            guard isAnneal(absolute) else {
                throw UsageError("ANNEAL_PACKAGE_PATH is \(p), which holds no Anneal package (Package.swift with the AnnealStageKit product); point it at an Anneal checkout")
            }
            return absolute
        }
        // Sources/anneal/SwiftPluginCommand.swift → the checkout.
        let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard isAnneal(built) else {
            throw UsageError("this anneal was built from \(built), which no longer holds its sources; set ANNEAL_PACKAGE_PATH to an Anneal checkout so Swift plugins can build against it")
        }
        return built
    }

    static func isAnneal(_ dir: String) -> Bool {
        guard let text = try? String(contentsOfFile: dir + "/Package.swift", encoding: .utf8) else { return false }
        return text.contains("name: \"AnnealStageKit\"")
    }
}
