import Foundation

/// What the executor keeps about a job in its directory (`job.json`), written before
/// `sbatch` and again once the id is known, so a rerun can find and adopt the job.
struct SlurmJobRecord: Codable, Sendable {
    var job: Int?
    /// In the job's comment: finds the job when `anneal run` was killed before writing its id.
    var token: String
    var stage: String
    var key: String
    var log: String
    /// Seconds since 1970 when it was (last) submitted.
    var submitted: Double
    var arguments: [String]
    /// A node failure already sent it back to the queue once.
    var requeued = false

    static func read(_ dir: String) -> SlurmJobRecord? {
        guard let data = FileManager.default.contents(atPath: dir + "/job.json") else { return nil }
        return try? JSONDecoder().decode(SlurmJobRecord.self, from: data)
    }

    func write(_ dir: String) throws(StoreError) {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch { throw .io("cannot encode the job record: \(error)") }
        try writeAtomically(String(decoding: data, as: UTF8.self), to: dir + "/job.json")
    }
}

/// One stage running as a Slurm job: waits on the shared `SlurmQueue` ticks, passes on the
/// progress lines the job appends to its `progress` file, and maps how the job ended.
final class SlurmJob: StageRun, @unchecked Sendable {
    let client: SlurmClient
    let queue: SlurmQueue
    let dir: String
    private let lock = NSLock()
    private var record: SlurmJobRecord
    private var id: Int

    init(id: Int, record: SlurmJobRecord, dir: String, client: SlurmClient, queue: SlurmQueue) {
        self.id = id
        self.record = record
        self.dir = dir
        self.client = client
        self.queue = queue
    }

    var jobID: Int { lock.withLock { id } }

    func stop(force: Bool) {
        client.cancel([jobID], signal: force ? "KILL" : nil)
    }

    func finish(onReport: (StageProcess.Report) -> Void) -> StageEnd {
        var progress = ProgressFile(path: dir + "/progress")
        var seen = -1
        var lastState = ""
        var id = jobID
        queue.track(id, directory: dir)
        defer { queue.untrack(jobID) }
        while true {
            let t = queue.next(after: seen, id: id)
            seen = t.tick
            progress.read(onReport)
            if let info = t.info {
                if info.state != lastState {
                    lastState = info.state
                    onReport(StageProcess.Report(step: nil, total: nil, metrics: [:], message: describe(info)))
                }
                guard info.isTerminal else { continue }
                if info.state == "NODE_FAIL" || info.state == "BOOT_FAIL", !record.requeued, let again = requeue(after: info) {
                    id = again
                    progress = ProgressFile(path: dir + "/progress")
                    lastState = ""
                    onReport(StageProcess.Report(step: nil, total: nil, metrics: [:],
                                                 message: "Slurm job \(info.id) \(info.state): requeued once as job \(again)"))
                    continue
                }
                progress.finish(onReport)
                return end(info)
            }
            // Gone from the queue (Slurm forgets finished jobs after MinJobAge): the exit file
            // says how the stage ended. Three ticks in a row, so a slow controller is not a loss.
            if t.missing >= 3 {
                progress.finish(onReport)
                if let exit = exitFile() { return StageEnd(code: exit.code, reason: nil, queued: queuedSeconds(), ended: exit.ended) }
                return StageEnd(code: 1, reason: "was lost: Slurm job \(id) left the queue without a result (see `anneal log`)")
            }
        }
    }

    private func describe(_ info: SlurmJobInfo) -> String {
        switch info.state {
        case "PENDING": "Slurm job \(info.id) queued" + (info.reason == "None" ? "" : " (\(info.reason))")
        case "RUNNING": "Slurm job \(info.id) running" + (queuedSeconds().map { String(format: ", queued %.1fs", $0) } ?? "")
        default: "Slurm job \(info.id) \(info.state.lowercased())"
        }
    }

    /// Maps how the job ended to the stage's end. The exit file is the stage's own status;
    /// without one, Slurm ended the job before the stage could finish.
    private func end(_ info: SlurmJobInfo) -> StageEnd {
        let exit = exitFile()
        let job = "Slurm job \(info.id)"
        let why = info.reason == "None" || info.reason.isEmpty ? "" : ", reason \(info.reason)"
        var e = StageEnd(code: exit?.code ?? 1, reason: nil, queued: queuedSeconds(), ended: exit?.ended)
        switch info.state {
        case "COMPLETED":
            e.code = exit?.code ?? 0
        case "FAILED" where exit != nil:
            e.reason = "failed with exit code \(e.code) (\(job))"
        case "FAILED":
            e.code = client.exitCode(of: info.id) ?? 1
            if e.code == SlurmBatchScript.unsharedFileSystem {
                e.reason = "could not run: the node of \(job) cannot see the cache or the workspace; they must be on a file system shared with the nodes (docs/slurm.md)"
            } else if logMentionsMemoryLimit() {
                // Without cgroups Slurm samples memory and kills the job: FAILED, not OUT_OF_MEMORY.
                e.reason = "was killed by Slurm for exceeding its memory limit: \(job) FAILED (raise resources.mem)"
            } else {
                e.reason = "was ended by Slurm: \(job) FAILED\(why)" + (e.code > 128 ? ", signal \(e.code - 128)" : ", exit code \(e.code)")
            }
        case "TIMEOUT":
            e.code = 128 + SIGTERM
            e.reason = "was killed by Slurm at its time limit: \(job) TIMEOUT after \(info.timeLimit) (raise resources.time)"
        case "OUT_OF_MEMORY":
            e.code = 128 + SIGKILL
            e.reason = "was killed by Slurm: \(job) OUT_OF_MEMORY (raise resources.mem)"
        case "CANCELLED":
            e.code = 128 + SIGTERM
            e.reason = "was cancelled: \(job) CANCELLED\(why)"
        default:
            e.code = exit?.code ?? 1
            e.reason = "was ended by Slurm: \(job) \(info.state)\(why)"
        }
        return e
    }

    /// Sends the job back to the queue after a node failure: a clean directory, the same script.
    private func requeue(after info: SlurmJobInfo) -> Int? {
        for name in ["progress", "exit", "started"] { unlink("\(dir)/\(name)") }
        let outs = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/out")) ?? []
        for o in outs {
            ContentStore.removeTree("\(dir)/out/\(o)")
            try? FileManager.default.createDirectory(atPath: "\(dir)/out/\(o)", withIntermediateDirectories: true)
        }
        var r = record
        r.requeued = true
        r.submitted = Date().timeIntervalSince1970
        r.job = nil
        guard (try? r.write(dir)) != nil, let again = try? client.submit(arguments: r.arguments, script: dir + "/job.sh") else { return nil }
        r.job = again
        try? r.write(dir)
        queue.untrack(info.id)
        queue.track(again, directory: dir)
        Runner.appendNote("anneal: Slurm job \(info.id) \(info.state) (\(info.reason)): requeued once as job \(again)", to: r.log)
        lock.withLock {
            record = r
            id = again
        }
        return again
    }

    /// Whether Slurm wrote its memory-limit message into the stage log (the last 64 KiB).
    private func logMentionsMemoryLimit() -> Bool {
        guard let h = FileHandle(forReadingAtPath: lock.withLock { record.log }) else { return false }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: size > 65536 ? size - 65536 : 0)
        let tail = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        return tail.contains("exceeded memory limit") || tail.contains("Exceeded job memory limit")
    }

    private func exitFile() -> (code: Int32, ended: Double?)? {
        guard let text = try? String(contentsOfFile: dir + "/exit", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n")
        guard lines.count == 2, let code = Int32(lines[1]) else { return nil }
        return (code, Double(lines[0]))
    }

    private func queuedSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: dir + "/started", encoding: .utf8),
              let started = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return max(0, started - lock.withLock { record.submitted })
    }
}

/// The progress lines a job appended to its `progress` file since the last read.
struct ProgressFile {
    let path: String
    private var offset: off_t = 0
    private var lines = ProgressLines()

    init(path: String) { self.path = path }

    mutating func read(_ onReport: (StageProcess.Report) -> Void) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = pread(fd, chunk.baseAddress, chunk.count, offset)
            guard n > 0 else { return }
            offset += off_t(n)
            lines.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) { if let r = StageProcess.parse($0) { onReport(r) } }
        }
    }

    mutating func finish(_ onReport: (StageProcess.Report) -> Void) {
        read(onReport)
        lines.finish { if let r = StageProcess.parse($0) { onReport(r) } }
    }
}
