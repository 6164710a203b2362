import ArgumentParser
import Foundation

/// OpenBLAS starts its thread pool when the binary loads, and each pool thread spins
/// (`sched_yield`) for about a tenth of a second before it sleeps: during a 70 ms no-op
/// `anneal run` that kept a second core busy, doubling the command's CPU time on a machine
/// with two. Commands that never call BLAS in their own process stop the pool first thing
/// (`blas_thread_shutdown_`, looked up at run time so another BLAS simply has none).
enum IdleBLAS {
    /// The commands that never multiply a matrix in their own process: stages run as children.
    static let runnerOnly: [any ParsableCommand.Type] = [Run.self, Status.self, Validate.self, Dag.self, Repro.self]

    /// The same by the command's name, before the arguments are parsed (parsing takes a few
    /// milliseconds, during which the pool spins on the other core).
    static func stopThreads(forArguments args: [String]) {
        guard let name = args.first, runnerOnly.contains(where: { $0.configuration.commandName == name }) else { return }
        shutdown()
    }

    static func stopThreads(for command: any ParsableCommand) {
        // Metatype identity, not a protocol check: a conformance lookup scans the binary's
        // conformance records, which in this binary costs more than what it saves.
        let type = type(of: command)
        guard runnerOnly.contains(where: { $0 == type }) else { return }
        shutdown()
    }

    private static func shutdown() {
        typealias Shutdown = @convention(c) () -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return }
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }
}
