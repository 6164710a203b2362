import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starting a stage as N tasks (`tasks: N`, data-parallel training): locally through
/// `mpirun -n N`, on Slurm through `srun --mpi=pmix` inside a job of `--ntasks=N`. The engine
/// only launches the processes; joining them (MPI) is the training code's business.
///
/// The launchers pass no descriptor but 0–2 to the tasks, so the progress channel (fd 3)
/// cannot reach them. The invocation therefore runs under `anneal exec-tasks FIFO --
/// LAUNCHER…`: that relay makes a FIFO in the attempt's scratch directory, gives its path to
/// the tasks (`ANNEAL_PROGRESS_PATH`; the leader writes its progress lines there) and copies
/// what arrives to its own fd 3, so the runner and the Slurm executor read progress exactly
/// as for one process. It exits with the launcher's status.
public enum TaskLaunch {
    /// The argv that runs `inv` as `inv.tasks` local processes.
    static func local(_ inv: StageInvocation) -> [String] {
        var mpirun = ["mpirun", "-n", String(inv.tasks),
                      // Each task runs `threads` threads of its own: no pinning to one core.
                      "--bind-to", "none", "--oversubscribe",
                      // One machine: shared memory only (no network interfaces probed).
                      "--mca", "btl", "self,vader"]
        if geteuid() == 0 { mpirun.append("--allow-run-as-root") }
        return relay(inv) + mpirun + inv.argv
    }

    /// The argv inside a Slurm job of `--ntasks=N` (the batch script's one command).
    static func slurm(_ inv: StageInvocation) -> [String] {
        relay(inv) + ["srun", "--mpi=pmix", "--ntasks=\(inv.tasks)", "--cpus-per-task=\(inv.resources.cpus ?? inv.threads)",
                      "--kill-on-bad-exit=1"] + inv.argv
    }

    private static func relay(_ inv: StageInvocation) -> [String] {
        [inv.environment["ANNEAL_BIN"] ?? "anneal", "exec-tasks", inv.scratch + "/progress.fifo", "--"]
    }

    /// The body of `anneal exec-tasks FIFO -- COMMAND…`: runs the launcher with the FIFO's
    /// path in `ANNEAL_PROGRESS_PATH`, relays the FIFO to fd 3 until the launcher exits,
    /// forwards SIGTERM and SIGINT to it, and returns its exit status (128 + signal).
    public static func relayProgress(fifo: String, command: [String]) -> Int32 {
        let output: Int32? = fcntl(3, F_GETFD) >= 0 ? 3 : nil
        if let output { _ = fcntl(output, F_SETFD, FD_CLOEXEC) }
        return relay(fifo: fifo, command: command, to: output)
    }

    static func relay(fifo: String, command: [String], to output: Int32?) -> Int32 {
        guard !command.isEmpty else { return fail("exec-tasks: no command to run") }
        unlink(fifo)
        guard mkfifo(fifo, 0o600) == 0 else { return fail("exec-tasks: cannot make \(fifo): \(String(cString: strerror(errno)))") }
        defer { unlink(fifo) }
        // Read-write: the open does not wait for a writer, and no EOF comes between writers.
        let input = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard input >= 0 else { return fail("exec-tasks: cannot open \(fifo): \(String(cString: strerror(errno)))") }
        defer { close(input) }

        var env = ProcessInfo.processInfo.environment
        for (name, value) in openMPIDefaults where env[name] == nil { env[name] = value }
        env["ANNEAL_PROGRESS_FD"] = nil
        env["ANNEAL_PROGRESS_PATH"] = fifo
        let child: pid_t
        do { child = try spawn(command, environment: env) } catch {
            if error.code == ENOENT, ["mpirun", "srun"].contains(command[0]) {
                return fail("error: the stage runs as several tasks (tasks: N) through \(command[0]), which is not on PATH: "
                    + (command[0] == "mpirun" ? "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)"
                                              : "the Slurm node needs srun"))
            }
            return fail("exec-tasks: cannot start \(command[0]): \(error)")
        }
        let forwarders = [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { kill(child, sig) }
            source.resume()
            return source
        }
        defer {
            forwarders.forEach { $0.cancel() }
            for sig in [SIGTERM, SIGINT] { signal(sig, SIG_DFL) }
        }

        var status: Int32 = 0
        while true {
            var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            copy(from: input, to: output)
            let r = waitpid(child, &status, WNOHANG)
            if r == child || (r < 0 && errno != EINTR) { break }
        }
        copy(from: input, to: output)
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// Open MPI settings for the tasks (mpirun and srun both pass them on; the user's own
    /// `OMPI_MCA_*` win). A task waiting in an all-reduce yields its core instead of
    /// spinning: on a machine with more busy processes than cores, a spinning task held the
    /// core its peer needed, and each shared-memory hand-off waited for a time slice — a
    /// 8.8 MB all-reduce (tinychat's gradients) took 287 ms instead of 4–11 ms, and a 2-task
    /// pretrain ran 3–4× slower than one task. No single-copy (CMA) transfers: they need
    /// ptrace permission between the tasks, which containers often withhold.
    static let openMPIDefaults = ["OMPI_MCA_mpi_yield_when_idle": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none"]

    /// Moves what the FIFO holds now to `output` (dropped when there is none).
    private static func copy(from input: Int32, to output: Int32?) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            guard let output else { continue }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, n - offset) }
                if w < 0, errno == EINTR { continue }
                if w <= 0 { break }  // the runner stopped reading: progress is best effort
                offset += w
            }
        }
    }

    private static func spawn(_ argv: [String], environment: [String: String]) throws(SpawnError) -> pid_t {
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        // The launcher starts with no signal blocked or ignored, whichever thread spawns it
        // (a Dispatch thread blocks most signals), so SIGTERM and SIGINT reach it.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], nil, &attr, cArgs, cEnv)
        guard rc == 0 else { throw SpawnError(code: rc) }
        return pid
    }

    private struct SpawnError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { String(cString: strerror(code)) }
    }

    private static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return 127
    }
}
