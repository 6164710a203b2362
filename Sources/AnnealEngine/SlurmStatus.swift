import Foundation

/// A stage's Slurm job as `anneal status` shows it: queued or running, for how long.
public struct SlurmJobStatus: Sendable {
    public var stage: String
    public var key: String
    public var job: Int
    /// Slurm's state (PENDING, RUNNING, …), or FINISHED when Slurm no longer lists the job.
    public var state: String
    public var reason: String
    /// Seconds it waited in the queue (so far, while pending).
    public var queuedSeconds: Double?
    /// Seconds it has run, once started.
    public var runningSeconds: Double?

    public var summary: String {
        var s = "Slurm job \(job) \(state.lowercased())"
        if state == "PENDING", !reason.isEmpty { s += " (\(reason))" }
        if let q = queuedSeconds { s += String(format: ", queued %.1fs", q) }
        if let r = runningSeconds { s += String(format: ", running %.0fs", r) }
        return s
    }

    /// The jobs of the cache's job directories (`cache/slurm/<key>-<stage>/`), with one `squeue` call,
    /// and none when there are no job directories (the usual case, and every local run).
    public static func inFlight(store: ContentStore) -> [SlurmJobStatus] {
        let root = store.root + "/slurm"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter(SlurmExecutor.isDirectoryName).sorted()
        let records = names.compactMap { name in SlurmJobRecord.read("\(root)/\(name)").map { (dir: "\(root)/\(name)", record: $0) } }
        guard !records.isEmpty else { return [] }
        let queue = Dictionary(((try? SlurmClient().queue()) ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let now = Date().timeIntervalSince1970
        return records.compactMap { dir, r in
            guard let id = r.job else { return nil }
            let started = (try? String(contentsOfFile: dir + "/started", encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let info = queue[id]
            if let info, info.isTerminal { return nil }
            return SlurmJobStatus(stage: r.stage, key: r.key, job: id, state: info?.state ?? "FINISHED", reason: info?.reason ?? "",
                                  queuedSeconds: max(0, (started ?? now) - r.submitted),
                                  runningSeconds: started.map { max(0, now - $0) })
        }
    }
}
