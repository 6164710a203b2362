import Foundation

/// Runs each stage as a Slurm job (`anneal run --executor slurm`).
///
/// A job's directory is `cache/slurm/<action key>/`: the batch script, `job.json`, the
/// stage's output directories and parameters, its progress file and exit status. Unlike the
/// local scratch (`cache/tmp/PID-…`), it is named after the key rather than this process, so
/// it outlives a killed `anneal run`: the next run finds the job by key and adopts it instead
/// of submitting the same work twice. The runner commits the outputs from it and removes it,
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

    func directory(key: String) -> String { "\(jobsDir)/\(key)" }

    /// The job an earlier run left for `key`, if Slurm still runs it or it finished well while
    /// no `anneal run` was watching. A job that failed, or that Slurm no longer knows and that
    /// left no exit status, is not adopted: the stage runs again.
    func adopt(stage: String, key: String) -> AdoptedStage? {
        let dir = directory(key: key)
        guard let record = SlurmJobRecord.read(dir), record.key == key else { return nil }
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
        claimedLock.withLock { _ = claimed.insert(key) }
        let job = SlurmJob(id: id, record: r, dir: dir, client: client, queue: queue)
        return AdoptedStage(run: job, scratch: dir, logPath: record.log,
                            note: "adopted Slurm job \(id) of an earlier run (\(mine?.state.lowercased() ?? "finished"))")
    }

    func makeScratch(stage: String, key: String) throws(StoreError) -> String {
        let dir = directory(key: key)
        claimedLock.withLock { _ = claimed.insert(key) }
        // What an attempt at this key left and `adopt` did not take: a failed or lost job.
        if let old = SlurmJobRecord.read(dir), let id = old.job { client.cancel([id]) }
        ContentStore.removeTree(dir)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the job directory \(dir): \(error.localizedDescription)")
        }
        return dir
    }

    /// Cancels the jobs of job directories no stage of this run claimed, and removes those
    /// directories: what a killed run left for keys this run no longer has. Returns a note
    /// per cancelled job.
    func sweep() -> [String] {
        let keys = ((try? FileManager.default.contentsOfDirectory(atPath: jobsDir)) ?? []).filter(Digest.isValid)
        let left = claimedLock.withLock { keys.filter { !claimed.contains($0) } }
        guard !left.isEmpty else { return [] }
        let live = Dictionary(((try? client.queue()) ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var notes: [String] = []
        for key in left {
            let dir = directory(key: key)
            if let r = SlurmJobRecord.read(dir), let id = r.job, let info = live[id], !info.isTerminal,
               info.comment.hasSuffix(",token=\(r.token)") {
                client.cancel([id])
                notes.append("cancelled Slurm job \(id) (stage '\(r.stage)' of an earlier, killed run; its key is not this run's)")
            }
            ContentStore.removeTree(dir)
        }
        return notes
    }

    func start(_ inv: StageInvocation) throws(StoreError) -> any StageRun {
        let dir = inv.scratch
        let script = dir + "/job.sh"
        try writeAtomically(SlurmBatchScript.render(inv, directory: dir), to: script)
        chmod(script, 0o755)
        FileManager.default.createFile(atPath: dir + "/progress", contents: nil)
        FileManager.default.createFile(atPath: inv.logPath, contents: nil)
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
