import AnnealCompute
import AnnealEngine
import AnnealPipeline
import AnnealStages
import ArgumentParser
import Foundation

let toolVersion = "anneal 0.1.0"
/// How help texts name the default pipeline (`Workspace.defaultPipeline` picks it).
let defaultPipeline = "pipelines/tinychat.yaml, or the only pipeline in pipelines/"

struct Anneal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anneal",
        abstract: "A declarative, content-addressed pipeline runner for training language models.",
        discussion: """
            Run from a workspace or any directory inside it; `anneal -C DIR COMMAND …` runs as if \
            started in DIR.
            """,
        version: toolVersion,
        subcommands: [Run.self, Status.self, Dag.self, Validate.self, Repro.self, PathCommand.self,
                      Runs.self, Log.self, Metrics.self, Exp.self, Diff.self, Report.self, GC.self, Cache.self, Init.self, Stages.self, Encode.self, Decode.self, Chat.self, Generate.self, Export.self, Bench.self, ExecStage.self, ExecSwiftPlugin.self, ExecTasks.self]
    )
}

/// `--cache DIR`, shared by every command that touches the store.
struct CacheOption: ParsableArguments {
    @Option(name: .customLong("cache"), help: "Cache directory (default: $ANNEAL_CACHE or ./cache).")
    var directory: String?

    var path: String {
        (directory ?? ProcessInfo.processInfo.environment["ANNEAL_CACHE"].flatMap { $0.isEmpty ? nil : $0 }).map(Workspace.userPath) ?? "cache"
    }

    var store: ContentStore { ContentStore(root: path) }
}

/// The pipeline argument and `--set` overrides of commands that work on a pipeline.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "Pipeline file (default: \(defaultPipeline)).")
    var pipeline: String?

    @Option(name: .customLong("set"), help: "Override a value: stages.NAME.with.KEY=VALUE, params.NAME=VALUE or seed=N.")
    var overrides: [String] = []

    var file: String { pipeline.map(Workspace.userPath) ?? Workspace.defaultPipeline ?? Workspace.standardPipeline }

    /// Options for commands that name their pipeline with `-p FILE` rather than positionally.
    static func named(_ file: String?, overrides: [String] = []) throws -> PipelineOptions {
        var options = try PipelineOptions.parse([])
        options.pipeline = file
        options.overrides = overrides
        return options
    }
}

enum Workspace {
    static var root: String { FileManager.default.currentDirectoryPath }

    static var registry: StageRegistry {
        StageRegistry(builtins: BuiltinStages.schemas, pluginsDirectory: root + "/stages", workspace: root)
    }

    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static var computeFingerprint: Value {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        // What the bytes of numeric stages depend on besides their inputs: the BLAS kernel
        // OpenBLAS picked for this CPU and the thread counts that set reduction orders —
        // OpenBLAS's (OPENBLAS_NUM_THREADS or the cores) as well as Anneal's kernels'. A
        // built-in stage lowers both to its ANNEAL_THREADS budget.
        return .map(["arch": .string(machine), "os": .string("linux"),
                     "cores": .int(ProcessInfo.processInfo.activeProcessorCount),
                     "blas": .string("openblas " + BLAS.coreName), "threads": .int(ComputeThreads.count),
                     "blas_threads": .int(BLAS.threads)])
    }

    /// Loads and validates a pipeline; invalid files print every diagnostic and exit 2.
    static func project(_ options: PipelineOptions, store: ContentStore) throws -> Project {
        let registry = self.registry
        let loader = PipelineLoader(catalog: registry, workspace: root)
        if options.pipeline == nil, Workspace.defaultPipeline == nil { throw noDefaultPipeline }
        let spec: PipelineSpec
        // Read here and hashed, so a no-op memo (`NoOpMemo`) names the very bytes parsed.
        let bytes = FileManager.default.contents(atPath: options.file).map { Array($0) }
        do throws(PipelineErrors) {
            if let bytes {
                spec = try loader.load(bytes: bytes, file: options.file, overrides: options.overrides)
            } else {
                spec = try loader.load(file: options.file, overrides: options.overrides)
            }
        } catch {
            var e = error
            e.sources.merge(registry.sources) { a, _ in a }
            throw e
        }
        var project = Project(spec: spec, registry: registry, store: store, workspace: root, pipelinePath: options.file,
                              lockPath: Lockfile.path(forPipeline: options.file), builtinLauncher: [executable, "exec-stage"],
                              computeFingerprint: computeFingerprint, toolVersion: toolVersion)
        project.overrides = options.overrides
        project.pipelineDigest = bytes.map { Digest.of($0) }
        return project
    }

    /// The cache's ledger if anything has run with it; read-only commands never create one.
    static func existingLedger(_ store: ContentStore) -> Ledger? {
        FileManager.default.fileExists(atPath: store.ledgerPath) ? try? Ledger(path: store.ledgerPath) : nil
    }

    static func readLock(_ path: String, verifyKeys: Bool = false) throws -> Lockfile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Lockfile.read(path, verifyKeys: verifyKeys)
    }
}

/// Built-in stage kinds compiled into this binary. Each runs in a child process through
/// `anneal exec-stage KIND`, with the same protocol as plugins.
enum BuiltinStages {
    static var schemas: [StageSchema] { StageCatalogue.schemas }
}
