import AnnealPipeline
import AnnealStageKit
import AnnealTrain
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

/// Errors a built-in stage reports; the runner shows them from the stage's log. The stage
/// kit's type, so built-in stages and Swift plugins fail the same way.
public typealias StageFailure = AnnealStageKit.StageFailure

/// What a stage receives: the stage kit's context (paths, parameters, seed and threads from
/// the environment, and a writer for progress lines on `ANNEAL_PROGRESS_FD`), which Swift
/// plugins use too. Built-in stages read their parameters as a `Value` and through their
/// `StageParameters` table.
public typealias StageContext = AnnealStageKit.StageContext

extension StageContext {
    public init(stage: String, inputs: [String: String], outputs: [String: String], params: Value, seed: Int, threads: Int,
                stateDirectory: String? = nil, progressFD: Int32? = nil) {
        self.init(stage: stage, inputs: inputs, outputs: outputs, parametersJSON: Data(params.canonicalJSON.utf8), seed: seed,
                  threads: threads, stateDirectory: stateDirectory, progressFD: progressFD)
    }

    /// The resolved parameters (`ANNEAL_PARAMS`).
    public var params: Value {
        get { Value.parseJSON(String(decoding: parametersJSON, as: UTF8.self)) ?? .map([:]) }
        set { parametersJSON = Data(newValue.canonicalJSON.utf8) }
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
            DataParallel.finishJoined()
            return 0
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            // A task of a data-parallel stage that fails alone would leave the others
            // waiting in their next all-reduce.
            DataParallel.abortAfterFailure()
            return 1
        }
    }
}

/// The thread counts a stage process uses (OpenBLAS, Anneal's kernels, AnnealText's
/// workers), from one number: the stage kit's.
public typealias ThreadBudget = AnnealStageKit.ThreadBudget
