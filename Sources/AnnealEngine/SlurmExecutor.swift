import AnnealPipeline
import Foundation

/// Runs each stage as a Slurm job (`anneal run --executor slurm`).
///
/// A job's directory is `cache/slurm/<action key>-<stage>/`: the batch script, `job.json`, the
/// stage's output directories and parameters, its progress file and exit status. Unlike the
/// local scratch (`cache/tmp/PID-…`), it is named after the key rather than this process, so
/// it outlives a killed `anneal run`: the next run finds the job by key and adopts it instead
/// of submitting the same work twice. The stage's name is part of it because two stages may
/// have the same key (the same command with the same inputs), and each runs, as locally. The runner commits the outputs from it and removes it,
/// exactly as for a local stage.
final class SlurmExecutor: StageExecutor, @unchecked Sendable {
    let store: ContentStore
    let pipeline: String
    let client: SlurmClient
    let queue: SlurmQueue

    /// Job directories this run adopted or created: `sweep` leaves them alone.
    private let claimedLock = NSLock()
    private var claimed: Set<String> = []

    init(store: ContentStore, pipeline: String, client: SlurmClient = SlurmClient()) {
        self.store = store
        self.pipeline = pipeline
        self.client = client
        self.queue = SlurmQueue(client: client)
    }

    var holdsLocalCores: Bool { false }

    var jobsDir: String { store.root + "/slurm" }

    func directory(key: String, stage: String) -> String { "\(jobsDir)/\(Self.directoryName(key: key, stage: stage))" }

    static func directoryName(key: String, stage: String) -> String { "\(key)-\(stage)" }

    /// Whether `name` is a job directory's name (never followed otherwise).
    static func isDirectoryName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 1)
        return parts.count == 2 && Digest.isValid(String(parts[0])) && isIdentifier(String(parts[1]))
    }

    /// The job an earlier run left for `key`, if Slurm still runs it or it finished well while
    /// no `anneal run` was watching. A job that failed, or that Slurm no longer knows and that
    /// left no exit status, is not adopted: the stage runs again.
    func adopt(stage: String, key: String) -> AdoptedStage? {
        let dir = directory(key: key, stage: stage)
        guard let record = SlurmJobRecord.read(dir), record.key == key, record.stage == stage else { return nil }
        guard let jobs = try? client.queue() else { return nil }
        let mine = jobs.first { $0.comment.hasSuffix(",token=\(record.token)") }
        guard let id = mine?.id ?? record.job else { return nil }
        let exit = (try? String(contentsOfFile: dir + "/exit", encoding: .utf8))?.split(separator: "\n").last.flatMap { Int32($0) }
        if let mine {
            guard !mine.isTerminal || (mine.state == "COMPLETED" && exit == 0) else { return nil }
        } else if exit != 0 {
            return nil
        }
        var r = record
        r.job = id
        try? r.write(dir)
        claimedLock.withLock { _ = claimed.insert(Self.directoryName(key: key, stage: stage)) }
        let job = SlurmJob(id: id, record: r, dir: dir, client: client, queue: queue)
        return AdoptedStage(run: job, scratch: dir, logPath: record.log,
                            note: "adopted Slurm job \(id) of an earlier run (\(mine?.state.lowercased() ?? "finished"))")
    }

    func makeScratch(stage: String, key: String) throws(StoreError) -> String {
        let dir = directory(key: key, stage: stage)
        claimedLock.withLock { _ = claimed.insert(Self.directoryName(key: key, stage: stage)) }
        cancelStale(stage: stage, except: key)
        // What an attempt at this key left and `adopt` did not take: a failed or lost job.
        if let old = SlurmJobRecord.read(dir) {
            let ids = old.job.map { [$0] }
                ?? ((try? client.queue()) ?? []).filter { $0.comment.hasSuffix(",token=\(old.token)") }.map(\.id)
            if !ids.isEmpty { client.cancel(ids) }
        }
        ContentStore.removeTree(dir)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the job directory \(dir): \(error.localizedDescription)")
        }
        return dir
    }

    /// Notes of jobs cancelled while the run went on, for `sweep` to hand back.
    private var earlyNotes: [String] = []

    /// Cancels what a killed run left for `stage` under another key, as this run starts the
    /// stage afresh: a stage has one key per run, so those jobs can never be adopted, and
    /// waiting for the end of the run to cancel them could deadlock a small cluster — the new
    /// job pending behind the old one, which only the end of the run would cancel.
    private func cancelStale(stage: String, except key: String) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: jobsDir)) ?? []).filter { name in
            guard Self.isDirectoryName(name), name != Self.directoryName(key: key, stage: stage) else { return false }
            return name.split(separator: "-", maxSplits: 1).last.map(String.init) == stage
        }
        guard !names.isEmpty else { return }
        let live = Dictionary(((try? client.queue()) ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for name in names where !claimedLock.withLock({ claimed.contains(name) }) {
            let dir = "\(jobsDir)/\(name)"
            if let r = SlurmJobRecord.read(dir),
               let info = r.job.flatMap({ live[$0] }) ?? live.values.first(where: { $0.comment.hasSuffix(",token=\(r.token)") }),
               !info.isTerminal, info.comment.hasSuffix(",token=\(r.token)") {
                client.cancel([info.id])
                claimedLock.withLock {
                    earlyNotes.append("cancelled Slurm job \(info.id) (stage '\(r.stage)' of an earlier, killed run; its key is not this run's)")
                }
            }
            ContentStore.removeTree(dir)
        }
    }

    /// Cancels the jobs of job directories no stage of this run claimed, and removes those
    /// directories: what a killed run left for keys this run no longer has. Returns a note
    /// per cancelled job.
    func sweep() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: jobsDir)) ?? []).filter(Self.isDirectoryName)
        let (left, early) = claimedLock.withLock { (names.filter { !claimed.contains($0) }, earlyNotes) }
        guard !left.isEmpty else { return early }
        let live = Dictionary(((try? client.queue()) ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var notes: [String] = []
        var cancelled: [Int] = []
        for name in left {
            let dir = "\(jobsDir)/\(name)"
            // A run killed between `sbatch` and writing the job id left only the token, which
            // the job's comment carries.
            if let r = SlurmJobRecord.read(dir),
               let info = r.job.flatMap({ live[$0] }) ?? live.values.first(where: { $0.comment.hasSuffix(",token=\(r.token)") }),
               !info.isTerminal, info.comment.hasSuffix(",token=\(r.token)") {
                let id = info.id
                client.cancel([id])
                cancelled.append(id)
                notes.append("cancelled Slurm job \(id) (stage '\(r.stage)' of an earlier, killed run; its key is not this run's)")
            }
            ContentStore.removeTree(dir)
        }
        waitUntilEnded(cancelled)
        return early + notes
    }

    /// Waits (up to 10 s) until Slurm lists `ids` as ended: `scancel` only asks, and a job
    /// whose processes are still being killed is still in the queue.
    private func waitUntilEnded(_ ids: [Int]) {
        guard !ids.isEmpty else { return }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let states = Dictionary(((try? client.queue()) ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            if ids.allSatisfy({ states[$0]?.isTerminal ?? true }) { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    func start(_ inv: StageInvocation) throws(StoreError) -> any StageRun {
        let dir = inv.scratch
        let script = dir + "/job.sh"
        try writeAtomically(SlurmBatchScript.render(inv, directory: dir), to: script)
        chmod(script, 0o755)
        // Both exist before the job does: the poller reads them from its first tick on.
        for path in [dir + "/progress", inv.logPath] where !FileManager.default.createFile(atPath: path, contents: nil) {
            throw .system(errno, "cannot create \(path)")
        }
        let token = String(format: "%08x%08x", UInt32.random(in: 0...UInt32.max), UInt32.random(in: 0...UInt32.max))
        var record = SlurmJobRecord(job: nil, token: token, stage: inv.stage, key: inv.key, log: inv.logPath,
                                    submitted: Date().timeIntervalSince1970, arguments: SlurmBatchScript.arguments(inv, token: token))
        try record.write(dir)
        let id = try client.submit(arguments: record.arguments, script: script)
        record.job = id
        try record.write(dir)
        return SlurmJob(id: id, record: record, dir: dir, client: client, queue: queue)
    }
}
