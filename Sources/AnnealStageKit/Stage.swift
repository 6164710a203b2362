import Foundation

/// A stage written against Anneal's libraries: a plugin's executable, or any program run
/// under the stage protocol.
///
/// Conform a type, mark it `@main`, and the kit does the rest: it reads the protocol from
/// the environment (``StageContext/fromEnvironment(_:)``), gives OpenBLAS and Anneal's
/// kernels the stage's thread budget (`ANNEAL_THREADS`) before anything computes, decodes
/// `ANNEAL_PARAMS` into ``Config``, calls ``run(_:config:)``, and exits 0, or 1 with the
/// error on stderr (the stage's log, which `anneal run` shows when the stage fails).
///
/// ```swift
/// import AnnealStageKit
///
/// @main
/// struct Shout: Stage {
///     struct Config: Decodable { var times: Int }   // `times` in the manifest's params
///
///     static func run(_ context: StageContext, config: Config) throws {
///         let text = try String(contentsOfFile: try context.input("text") + "/text.txt", encoding: .utf8)
///         let out = String(repeating: text.uppercased(), count: config.times)
///         try out.write(toFile: try context.output("loud") + "/text.txt", atomically: true, encoding: .utf8)
///         context.report(metrics: ["characters": Double(out.count)])
///     }
/// }
/// ```
public protocol Stage {
    /// The stage's parameters as the manifest declares them; see ``StageContext/config(_:)``
    /// for how names map (`learning_rate` → `learningRate`).
    associatedtype Config: Decodable

    /// Reads the inputs, writes every output, reports progress. A thrown error fails the
    /// stage; its description is what the user sees, so say what to change.
    static func run(_ context: StageContext, config: Config) throws
}

extension Stage {
    /// The program's entry point (`@main`): runs the stage under the protocol and exits.
    public static func main() {
        exit(StageMain.run(Self.self, environment: ProcessInfo.processInfo.environment))
    }
}

/// The body of ``Stage/main()``, apart from `exit`, so tests can call it (with a
/// `threadBudget` that leaves the test process's thread counts alone).
enum StageMain {
    static func run<S: Stage>(_ stage: S.Type, environment: [String: String],
                              threadBudget: (Int) -> Void = ThreadBudget.apply) -> Int32 {
        do {
            let context = try StageContext.fromEnvironment(environment)
            // Before any BLAS call: the pool's size fixes reduction orders, so the bytes.
            threadBudget(context.threads)
            let config = try context.config(S.Config.self)
            try S.run(context, config: config)
            return 0
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 1
        }
    }
}
