import AnnealCompute
import AnnealPipeline
import AnnealText
import Foundation

/// A stage kind compiled into the `anneal` binary. The runner starts it as a child process
/// (`anneal exec-stage KIND`) with the same environment protocol as plugins; `run` reads its
/// inputs, writes its outputs and reports progress through the context.
public protocol BuiltinStage: Sendable {
    /// The stage's hyperparameters; `schema.params` is `Parameters.specs`.
    associatedtype Parameters: StageParameters
    static var schema: StageSchema { get }
    static func run(_ context: StageContext) throws
}

/// Errors a built-in stage reports; the runner shows them from the stage's log.
public struct StageFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a built-in stage receives: paths, parameters, seed and threads from the environment,
/// and a writer for progress lines on `ANNEAL_PROGRESS_FD`.
public struct StageContext: Sendable {
    public var stage: String
    public var inputs: [String: String]
    public var outputs: [String: String]
    public var params: Value
    public var seed: Int
    public var threads: Int
    /// `ANNEAL_STATE_DIR`: scratch the runner keeps for this action key across attempts
    /// (resume checkpoints); nil when the stage runs without one.
    public var stateDirectory: String?
    let progressFD: Int32?

    public init(stage: String, inputs: [String: String], outputs: [String: String], params: Value, seed: Int, threads: Int,
                stateDirectory: String? = nil, progressFD: Int32? = nil) {
        self.stage = stage
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self.seed = seed
        self.threads = threads
        self.stateDirectory = stateDirectory
        self.progressFD = progressFD
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> StageContext {
        func map(_ key: String) throws -> [String: String] {
            let text = env[key] ?? env[key + "_FILE"].flatMap { FileManager.default.contents(atPath: $0) }.map { String(decoding: $0, as: UTF8.self) }
            guard let text, case .map(let m)? = Value.parseJSON(text) else {
                throw StageFailure("\(key) is missing or not a JSON object; built-in stages run under `anneal run`")
            }
            return m.compactMapValues(\.stringValue)
        }
        guard let paramsPath = env["ANNEAL_PARAMS"], let data = FileManager.default.contents(atPath: paramsPath),
              let params = Value.parseJSON(String(decoding: data, as: UTF8.self)) else {
            throw StageFailure("ANNEAL_PARAMS does not name a readable JSON file")
        }
        return StageContext(stage: env["ANNEAL_STAGE"] ?? "", inputs: try map("ANNEAL_INPUTS"), outputs: try map("ANNEAL_OUTPUTS"),
                            params: params, seed: Int(env["ANNEAL_SEED"] ?? "") ?? 0, threads: Int(env["ANNEAL_THREADS"] ?? "") ?? 1, stateDirectory: env["ANNEAL_STATE_DIR"],
                            progressFD: env["ANNEAL_PROGRESS_FD"].flatMap(Int32.init))
    }

    public func input(_ name: String) throws -> String {
        guard let p = inputs[name] else { throw StageFailure("stage '\(stage)' has no input '\(name)'") }
        return p
    }

    public func output(_ name: String) throws -> String {
        guard let p = outputs[name] else { throw StageFailure("stage '\(stage)' has no output '\(name)'") }
        return p
    }

    /// One progress line: `{"step", "total", "metrics", "message"}`, each part optional.
    public func report(step: Int? = nil, total: Int? = nil, metrics: [String: Double] = [:], message: String? = nil) {
        guard let fd = progressFD else { return }
        var m: [String: Value] = [:]
        if let step { m["step"] = .int(step) }
        if let total { m["total"] = .int(total) }
        if !metrics.isEmpty { m["metrics"] = .map(metrics.mapValues(Value.double)) }
        if let message { m["message"] = .string(message) }
        let line = Value.map(m).canonicalJSON + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }

    /// A line for the stage's log (stderr) that the runner also shows as a progress message.
    public func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        report(message: line)
    }

    /// The stage's parameters, decoded strictly: a key that is missing or of the wrong type
    /// throws, naming it (the loader has validated types and filled defaults already).
    public func parameters<P: StageParameters>(_ type: P.Type) throws -> P {
        try P.decode(params, stage: stage)
    }
}

extension Value {
    /// `model.width` → the nested value.
    func path(_ dotted: String) -> Value? {
        var v: Value? = self
        for part in dotted.split(separator: ".") { v = v?[String(part)] }
        return v
    }
}

/// Every built-in stage kind, by the name pipelines `use`.
public enum StageCatalogue {
    public static var all: [any BuiltinStage.Type] { builtinStages }

    public static var schemas: [StageSchema] { all.map { $0.schema } }

    public static func stage(named name: String) -> (any BuiltinStage.Type)? {
        all.first { $0.schema.name == name }
    }

    /// Runs `stage` in this process after giving BLAS, Anneal's kernels and AnnealText's
    /// pools the context's thread budget (`ANNEAL_THREADS`), so `--jobs` is a real budget.
    public static func run(_ stage: any BuiltinStage.Type, _ context: StageContext) throws {
        ThreadBudget.apply(context.threads)
        try stage.run(context)
    }

    /// The body of `anneal exec-stage KIND`: run the stage, print failures to stderr (the
    /// stage log) and return the process exit code.
    public static func execute(kind: String) -> Int32 {
        guard let stage = stage(named: kind) else {
            FileHandle.standardError.write(Data("error: no built-in stage kind '\(kind)'\n".utf8))
            return 2
        }
        do {
            try run(stage, try StageContext.fromEnvironment())
            return 0
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 1
        }
    }
}

/// The thread counts a stage process uses: OpenBLAS's pool, Anneal's kernels and
/// AnnealText's workers, all from one number.
public enum ThreadBudget {
    public static func apply(_ threads: Int) {
        let n = max(1, threads)
        BLAS.setThreads(n)
        ComputeThreads.count = n
        TextThreads.count = n
    }
}
