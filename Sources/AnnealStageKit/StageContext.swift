import Foundation

/// What a stage receives from the runner, read from the environment of the stage protocol:
///
/// | variable | field |
/// |---|---|
/// | `ANNEAL_INPUTS`, `ANNEAL_OUTPUTS` | ``inputs``, ``outputs``: name → path (JSON objects) |
/// | `ANNEAL_PARAMS` | ``parametersJSON``: the file's bytes, the resolved parameters |
/// | `ANNEAL_SEED`, `ANNEAL_THREADS` | ``seed`` (0 when unset), ``threads`` (1 when unset) |
/// | `ANNEAL_STAGE`, `ANNEAL_PLUGIN_DIR` | ``stage``, ``pluginDirectory`` |
/// | `ANNEAL_STATE_DIR` | ``stateDirectory``: scratch kept across attempts at the same action key |
/// | `ANNEAL_PROGRESS_FD` | where ``report(step:total:metrics:message:)`` writes |
/// | `ANNEAL_TASKS`, `ANNEAL_PROGRESS_PATH` | ``tasks``; for N > 1 tasks the progress channel as a path (a FIFO `anneal exec-tasks` relays) |
///
/// Inputs are read-only; each output is an empty directory the stage fills. Whatever the
/// stage writes must depend only on its inputs, parameters, seed and thread count: the
/// runner caches outputs by that key and `anneal repro` checks them bit for bit.
public struct StageContext: Sendable {
    /// The stage's name in the pipeline.
    public var stage: String
    /// Input name → read-only path (a directory, or a workspace file).
    public var inputs: [String: String]
    /// Output name → empty directory to write into.
    public var outputs: [String: String]
    /// The resolved parameters as JSON: every manifest parameter, defaults filled in.
    public var parametersJSON: Data
    public var seed: Int
    /// Cores this stage may keep busy; ``ThreadBudget`` applies it.
    public var threads: Int
    /// Scratch for resume checkpoints, kept by the runner for the same action key across
    /// failed or killed attempts and deleted once the outputs are committed. Never hashed:
    /// the outputs must be the same bytes whether the stage resumed or not.
    public var stateDirectory: String?
    /// The plugin's own directory (`stages/NAME`), for files it ships beside its code.
    public var pluginDirectory: String?
    /// Processes that run this stage together (`tasks:` in the pipeline, started by `mpirun`
    /// or `srun`); 1 for all but data-parallel training.
    public var tasks = 1
    /// This process's index among the ``tasks`` (MPI's rank). Only rank 0, the leader,
    /// reports progress and logs; a data-parallel stage also writes its outputs only there.
    public var rank = 0
    public var isLeader: Bool { rank == 0 }
    let progressFD: Int32?

    public init(stage: String, inputs: [String: String], outputs: [String: String], parametersJSON: Data, seed: Int,
                threads: Int, stateDirectory: String? = nil, pluginDirectory: String? = nil, progressFD: Int32? = nil) {
        self.stage = stage
        self.inputs = inputs
        self.outputs = outputs
        self.parametersJSON = parametersJSON
        self.seed = seed
        self.threads = threads
        self.stateDirectory = stateDirectory
        self.pluginDirectory = pluginDirectory
        self.progressFD = progressFD
    }

    /// Reads the stage protocol from `environment`. Throws, naming the variable, when one is
    /// missing or malformed: a stage binary started by hand instead of by `anneal run`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(StageFailure) -> StageContext {
        // A map too long for one environment string arrives as a file (`KEY_FILE`); a list
        // input (`NAME: STAGE.OUT[*]`) arrives as a JSON list, its members named `NAME[i]`.
        func paths(_ key: String) throws(StageFailure) -> [String: String] {
            let data = environment[key].map { Data($0.utf8) }
                ?? environment[key + "_FILE"].flatMap { FileManager.default.contents(atPath: $0) }
            guard let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw StageFailure("\(key) is missing or not a JSON object of paths; stages run under `anneal run`, which sets it")
            }
            var map: [String: String] = [:]
            for (name, value) in object {
                if let path = value as? String {
                    map[name] = path
                } else if let list = value as? [String] {
                    for (i, path) in list.enumerated() { map["\(name)[\(i)]"] = path }
                } else {
                    throw StageFailure("\(key) entry '\(name)' is neither a path nor a list of paths")
                }
            }
            return map
        }
        guard let paramsPath = environment["ANNEAL_PARAMS"], let params = FileManager.default.contents(atPath: paramsPath) else {
            throw StageFailure("ANNEAL_PARAMS does not name a readable file; stages run under `anneal run`, which writes it")
        }
        func number(_ key: String, default value: Int) throws(StageFailure) -> Int {
            guard let text = environment[key], !text.isEmpty else { return value }
            guard let n = Int(text) else { throw StageFailure("\(key) is '\(text)', not an integer") }
            return n
        }
        let tasks = try number("ANNEAL_TASKS", default: 1)
        let rank = tasks > 1 ? try taskRank(environment) : 0
        var progressFD = environment["ANNEAL_PROGRESS_FD"].flatMap(Int32.init)
        if tasks > 1 {
            // The launcher keeps no descriptor but 0-2 open in the tasks: the leader writes to
            // the FIFO `anneal exec-tasks` relays to the runner; the others report nothing.
            // Non-blocking open: with no relay reading (it was killed, or this task runs on
            // another node) a blocking one would wait forever, and every task with it.
            progressFD = rank == 0 ? environment["ANNEAL_PROGRESS_PATH"].flatMap { path in
                let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK)
                guard fd >= 0 else { return nil }
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                return fd
            } : nil
        }
        var context = StageContext(stage: environment["ANNEAL_STAGE"] ?? "", inputs: try paths("ANNEAL_INPUTS"),
                                   outputs: try paths("ANNEAL_OUTPUTS"), parametersJSON: params,
                                   seed: try number("ANNEAL_SEED", default: 0), threads: try number("ANNEAL_THREADS", default: 1),
                                   stateDirectory: environment["ANNEAL_STATE_DIR"], pluginDirectory: environment["ANNEAL_PLUGIN_DIR"],
                                   progressFD: progressFD)
        context.tasks = tasks
        context.rank = rank
        return context
    }

    /// The rank the launcher gave this process: Open MPI's `mpirun` sets
    /// `OMPI_COMM_WORLD_RANK`, `srun --mpi=pmix` sets `PMIX_RANK` and `SLURM_PROCID`.
    static func taskRank(_ environment: [String: String]) throws(StageFailure) -> Int {
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"] {
            if let text = environment[key], let n = Int(text) { return n }
        }
        throw StageFailure("ANNEAL_TASKS asks for several tasks but no launcher set a rank (OMPI_COMM_WORLD_RANK, PMIX_RANK or SLURM_PROCID); `anneal run` starts such a stage through mpirun or srun")
    }

    /// The path of input `name`; throws if the stage has none of that name.
    public func input(_ name: String) throws(StageFailure) -> String {
        guard let p = inputs[name] else {
            throw StageFailure("stage '\(stage)' has no input '\(name)'\(Self.known(inputs)); connect it in the pipeline or declare it in the manifest")
        }
        return p
    }

    /// The directory of output `name`; throws if the stage has none of that name.
    public func output(_ name: String) throws(StageFailure) -> String {
        guard let p = outputs[name] else {
            throw StageFailure("stage '\(stage)' has no output '\(name)'\(Self.known(outputs)); declare it in the manifest's outputs")
        }
        return p
    }

    private static func known(_ paths: [String: String]) -> String {
        paths.isEmpty ? "" : " (it has \(paths.keys.sorted().joined(separator: ", ")))"
    }
}
