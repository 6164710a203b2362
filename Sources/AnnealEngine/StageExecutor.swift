import AnnealPipeline
import Foundation

/// Where a stage's invocation runs. The runner prepares everything a stage needs (scratch,
/// output directories, parameters, environment) and commits what it produced; an executor
/// only starts the invocation and reports how it ended. `LocalExecutor` runs it as a child
/// process, `SlurmExecutor` as a Slurm job.
protocol StageExecutor: Sendable {
    /// Whether a running stage holds cores of this machine (`--jobs`). Slurm jobs do not: the
    /// cluster's scheduler decides how many run at once.
    var holdsLocalCores: Bool { get }
    /// A stage still in flight for this action key from an earlier `anneal run` that was
    /// killed (Slurm jobs outlive it), or nil: start a new attempt.
    func adopt(stage: String, key: String) -> AdoptedStage?
    /// A private directory for a new attempt at `key`.
    func makeScratch(stage: String, key: String) throws(StoreError) -> String
    /// Where the attempt in `scratch` writes output `output` (a directory the runner creates).
    func outputDirectory(scratch: String, output: String) -> String
    func start(_ invocation: StageInvocation) throws(StoreError) -> any StageRun
    /// Once the run is over: ends what earlier, killed runs left in flight that this run did
    /// not adopt (a key that changed since), so nothing keeps running unwatched.
    func sweep() -> [String]
}

/// Everything that runs one stage, self-contained: the same argv and `ANNEAL_*` environment
/// whether a child process or a batch job runs it.
struct StageInvocation: Sendable {
    var stage: String
    var key: String
    var pipeline: String
    var argv: [String]
    /// The runner's environment with the plugin protocol's `ANNEAL_*` variables set.
    var environment: [String: String]
    var directory: String
    var logPath: String
    var scratch: String
    var outputs: [String: String]
    /// Cores the stage is told to use (`ANNEAL_THREADS`).
    var threads: Int
    /// Processes that run the stage together (`tasks:`); above 1 the executor starts them
    /// through `TaskLaunch`.
    var tasks = 1
    var resources: StageResources
}

/// A stage found in flight, with the directories it writes into and the log it writes.
struct AdoptedStage: Sendable {
    var run: any StageRun
    var scratch: String
    var logPath: String
    var note: String
}

/// How a stage's invocation ended: its exit status (or 128+signal) and, when something
/// other than the stage ended it (Slurm's time limit, memory limit, a cancel), why.
struct StageEnd: Sendable {
    var code: Int32
    var reason: String?
    /// Slurm jobs: seconds from submission to the job's start, and when the stage's process
    /// ended (seconds since 1970), for the overhead line in the stage log.
    var queued: Double?
    var ended: Double?
}

/// A started stage. `finish` blocks until it is over, passing on its progress reports.
protocol StageRun: AnyObject, Sendable {
    func finish(onReport: (StageProcess.Report) -> Void) -> StageEnd
    /// Asks the stage to stop; `force` after a second Ctrl-C or a grace period.
    func stop(force: Bool)
}

extension StageExecutor {
    /// A job directory holds files of the executor's own beside the outputs, so they go in `out/`.
    func outputDirectory(scratch: String, output: String) -> String { "\(scratch)/out/\(output)" }
}

struct LocalExecutor: StageExecutor {
    let store: ContentStore
    /// Where scratch directories come from and go back to.
    let spares: SpareDirectories

    var holdsLocalCores: Bool { true }

    func adopt(stage: String, key: String) -> AdoptedStage? { nil }

    func makeScratch(stage: String, key: String) throws(StoreError) -> String { try store.makeScratch(stage: stage, from: spares) }

    /// Outputs straight in the scratch directory: one directory fewer to create and delete
    /// per stage. Output names hold no `.`, so they never meet the runner's files there
    /// (`params.json`, `inputs.json`, `progress.fifo`).
    func outputDirectory(scratch: String, output: String) -> String { "\(scratch)/\(output)" }

    func sweep() -> [String] { [] }

    func start(_ invocation: StageInvocation) throws(StoreError) -> any StageRun {
        let argv = invocation.tasks > 1 ? TaskLaunch.local(invocation) : invocation.argv
        let process = try StageProcess(argv: argv, environment: invocation.environment,
                                       directory: invocation.directory, logPath: invocation.logPath)
        LeftoverGroups.record(pid: process.pid, stage: invocation.stage, scratch: invocation.scratch)
        return LocalStageRun(process: process, scratch: invocation.scratch)
    }
}

/// A stage running as a child process, and the record that lets a later run end its process
/// group should this runner be killed (`LeftoverGroups`).
final class LocalStageRun: StageRun, @unchecked Sendable {
    let process: StageProcess
    let scratch: String

    init(process: StageProcess, scratch: String) {
        self.process = process
        self.scratch = scratch
    }

    func finish(onReport: (StageProcess.Report) -> Void) -> StageEnd {
        let end = StageEnd(code: process.wait(onReport: onReport))
        LeftoverGroups.forget(scratch: scratch)
        return end
    }

    func stop(force: Bool) { process.signal(force ? SIGKILL : SIGTERM) }
}
