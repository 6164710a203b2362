import Foundation

/// One job as `squeue` lists it (`SlurmClient.queue`).
struct SlurmJobInfo: Sendable, Equatable {
    var id: Int
    /// PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, …
    var state: String
    /// Why it waits or why it ended (`Priority`, `Resources`, `TimeLimit`, `None`, …).
    var reason: String
    var submitTime: String
    var startTime: String
    var comment: String
    var timeLimit: String

    /// States after which Slurm runs nothing more of the job. COMPLETING is not one: the
    /// job's processes may still be alive, and a stage is over only when they are gone.
    static let terminal: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                                        "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"]
    var isTerminal: Bool { Self.terminal.contains(state) }

    /// `squeue -o` format matching `parse`: fields split by `|`, which none of them can hold
    /// (our comments are built without one).
    static let format = "%i|%T|%r|%V|%S|%k|%l"

    static func parse(_ line: Substring) -> SlurmJobInfo? {
        let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 7, let id = Int(f[0]) else { return nil }
        return SlurmJobInfo(id: id, state: f[1].split(separator: " ").first.map(String.init) ?? f[1], reason: f[2],
                            submitTime: f[3], startTime: f[4], comment: f[5], timeLimit: f[6])
    }
}

/// The Slurm commands the executor runs: `sbatch`, `squeue`, `scancel`, `scontrol`, each a
/// short-lived child process whose output is read whole. No daemon API, so any Slurm
/// version with these commands on PATH works.
struct SlurmClient: Sendable {
    /// Submits `script` with `arguments`; returns the job id (`sbatch --parsable`).
    func submit(arguments: [String], script: String) throws(StoreError) -> Int {
        let out = try Self.run(["sbatch", "--parsable"] + arguments + [script])
        guard out.status == 0 else {
            throw .refused("sbatch refused the job: \(out.error.isEmpty ? "exit status \(out.status)" : out.error)"
                      + (out.error.contains("configuration is not available") ? " (ask for fewer cpus or less mem in the stage's resources:)" : ""))
        }
        // "123" or "123;cluster"
        guard let id = Int(out.output.split(separator: ";").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
            throw .io("sbatch printed no job id: \(out.output)")
        }
        return id
    }

    /// Every job of this user Slurm still knows, finished ones included (for `MinJobAge`):
    /// one call however many jobs a run tracks.
    func queue() throws(StoreError) -> [SlurmJobInfo] {
        let out = try Self.run(["squeue", "--noheader", "--states=all", "--me", "--format=\(SlurmJobInfo.format)"])
        guard out.status == 0 else { throw .io("squeue failed: \(out.error.isEmpty ? "exit status \(out.status)" : out.error)") }
        return out.output.split(separator: "\n").compactMap(SlurmJobInfo.parse)
    }

    func cancel(_ ids: [Int], signal: String? = nil) {
        guard !ids.isEmpty else { return }
        _ = try? Self.run(["scancel"] + (signal.map { ["--signal=\($0)", "--full"] } ?? []) + ids.map(String.init))
    }

    /// The job's exit status as Slurm recorded it (`ExitCode=status:signal`), as 128+signal
    /// when a signal ended it.
    func exitCode(of id: Int) -> Int32? {
        guard let out = try? Self.run(["scontrol", "--oneliner", "show", "job", String(id)]), out.status == 0,
              let field = out.output.split(separator: " ").first(where: { $0.hasPrefix("ExitCode=") }) else { return nil }
        let parts = field.dropFirst("ExitCode=".count).split(separator: ":").compactMap { Int32($0) }
        guard parts.count == 2 else { return nil }
        return parts[1] != 0 ? 128 + parts[1] : parts[0]
    }

    struct Output {
        var status: Int32
        var output: String
        var error: String
    }

    static func run(_ argv: [String]) throws(StoreError) -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .io("cannot run \(argv[0]): \(error.localizedDescription); is Slurm installed (scripts/slurm-up)?")
        }
        // stderr is drained on another thread while stdout is read here, so a chatty command
        // cannot block on a full pipe.
        let stderrData = LockedData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stderrData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        group.wait()
        p.waitUntilExit()
        let stderr = String(decoding: stderrData.get(), as: UTF8.self)
        if p.terminationStatus == 127, stderr.contains("No such file") {
            throw .io("\(argv[0]) is not on PATH; is Slurm installed (scripts/slurm-up)?")
        }
        return Output(status: p.terminationStatus, output: stdout, error: stderr.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Why the Slurm executor cannot run here, or nil when a controller answers.
public func slurmUnavailableReason() -> String? {
    guard let out = try? SlurmClient.run(["scontrol", "ping"]) else {
        return "the Slurm commands (sbatch, squeue, scontrol) are not on PATH; install Slurm's client commands, or start a local Slurm with scripts/slurm-up"
    }
    guard out.status == 0, out.output.contains("UP") else {
        return "no Slurm controller answers `scontrol ping` (\((out.output + out.error).split(separator: "\n").first ?? "no output")); start it (scripts/slurm-up) or run with --executor local"
    }
    return nil
}
