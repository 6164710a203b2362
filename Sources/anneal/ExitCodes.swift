import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

/// The one place errors become exit codes. 0 ok; 1 a stage failed, `repro` found a
/// divergence, `--locked` found a difference, `cache verify` found corruption; 2 invalid
/// pipeline or usage; 3 internal error; 130 interrupted (Ctrl-C).
enum Exit {
    static let ok: Int32 = 0
    static let failed: Int32 = 1
    static let invalid: Int32 = 2
    static let `internal`: Int32 = 3
    static let interrupted: Int32 = 130
}

/// A usage problem found after parsing (an unknown stage in `--only`, say).
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A failure already reported to the user; only its exit code remains.
struct Failure: Error {
    var code: Int32
}

func reportAndExitCode(for error: any Error) -> Int32 {
    switch error {
    case let f as Failure:
        return f.code
    case let e as PipelineErrors:
        printError(e.description)
        return Exit.invalid
    case let e as UsageError:
        printError("error: \(e.description)")
        return Exit.invalid
    case let e as StoreError:
        printError("error: \(e.description)")
        // A damaged or hand-edited lockfile is invalid input, like a bad pipeline file.
        if case .lockfile = e { return Exit.invalid }
        return Exit.internal
    default:
        let code = Anneal.exitCode(for: error)
        let message = Anneal.fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            return Exit.ok
        }
        if let e = error as? ExitCode { return e.rawValue }
        if !message.isEmpty { printError(message) }
        return code.rawValue == 64 || error is ValidationError ? Exit.invalid : Exit.internal
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Prints one JSON object on stdout: the only thing `--json` commands print there.
func printJSON(_ v: Value) {
    FileHandle.standardOutput.write(Data(v.prettyJSON.utf8))
}
