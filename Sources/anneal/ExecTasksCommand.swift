import AnnealEngine
import ArgumentParser

/// `anneal exec-tasks FIFO -- LAUNCHER…`: how the runner starts a stage of `tasks: N`
/// (`mpirun`/`srun` as the launcher); relays the leader's progress lines from FIFO to fd 3.
struct ExecTasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-tasks", abstract: "Run a stage's tasks through mpirun or srun, relaying progress (used by the runner).",
        shouldDisplay: false)

    @Argument var fifo: String
    @Argument(parsing: .captureForPassthrough) var command: [String] = []

    func run() throws {
        let code = TaskLaunch.relayProgress(fifo: fifo, command: command.first == "--" ? Array(command.dropFirst()) : command)
        if code != 0 { throw Failure(code: code) }
    }
}
