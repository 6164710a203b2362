import Foundation

/// Watches the jobs of one run with one `squeue` call per tick, however many there are.
///
/// A tick comes 0.2 s after one that saw a job change state, and each quiet tick waits 1.5×
/// longer, up to 2 s: a queue of long training jobs costs one short command every 2 s, and a
/// job that just started or ended is noticed within a fifth of a second (a trivial job takes
/// about half a second from submit to end on an idle node, `../shared/research/slurm.md`).
/// A job's end also wakes the poller at once: the batch script renames its `exit` file into
/// the job directory, which inotify reports (on a local file system; over NFS the timer
/// still finds it), so a long job is not committed up to 2 s late.
/// Waiting jobs block on a condition between ticks; nothing spins.
final class SlurmQueue: @unchecked Sendable {
    static let fastInterval = 0.2
    static let slowestInterval = 2.0

    let client: SlurmClient
    private let condition = NSCondition()
    /// Job id → how many waiters track it (a requeue hands one over; never two stages).
    private var tracked: [Int: Int] = [:]
    private var latest: [Int: SlurmJobInfo] = [:]
    /// Ticks in a row a tracked job was missing from `squeue`.
    private var missing: [Int: Int] = [:]
    private var tick = 0
    private var polling = false
    private var wake = false
    private(set) var lastError: String?
    /// inotify descriptor watching job directories for their `exit` file; -1 without inotify.
    private let events: Int32
    /// Written to wake the poller (a new job to track) while it waits on `events`.
    private let wakePipe: [Int32]
    private var watches: [Int: Int32] = [:]

    init(client: SlurmClient) {
        self.client = client
        events = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            }
        }
        wakePipe = fds
    }

    deinit {
        if events >= 0 { close(events) }
        wakePipe.filter { $0 >= 0 }.forEach { close($0) }
    }

    /// Starts watching `id`, whose files are in `directory`; the next tick comes at once.
    func track(_ id: Int, directory: String) {
        condition.lock()
        defer { condition.unlock() }
        tracked[id, default: 0] += 1
        if events >= 0, watches[id] == nil {
            let wd = inotify_add_watch(events, directory, UInt32(IN_MOVED_TO))
            if wd >= 0 { watches[id] = wd }
        }
        wake = true
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
        condition.broadcast()
        guard !polling else { return }
        polling = true
        let thread = Thread { [self] in pollLoop() }
        thread.name = "anneal-slurm-queue"
        thread.start()
    }

    func untrack(_ id: Int) {
        condition.lock()
        guard let n = tracked[id] else { condition.unlock(); return }
        guard n <= 1 else { tracked[id] = n - 1; condition.unlock(); return }
        tracked[id] = nil
        if let wd = watches.removeValue(forKey: id) { inotify_rm_watch(events, wd) }
        latest[id] = nil
        missing[id] = nil
        condition.unlock()
    }

    /// Blocks until a tick after `after`; returns that tick, what it saw of `id` and how many
    /// ticks in a row `id` has been missing from the queue.
    func next(after: Int, id: Int) -> (tick: Int, info: SlurmJobInfo?, missing: Int, error: String?) {
        condition.lock()
        defer { condition.unlock() }
        while tick <= after { condition.wait() }
        return (tick, latest[id], missing[id] ?? 0, lastError)
    }

    private func pollLoop() {
        var interval = Self.fastInterval
        while true {
            condition.lock()
            if tracked.isEmpty {
                polling = false
                condition.unlock()
                return
            }
            condition.unlock()
            let rows: [SlurmJobInfo]?
            var failure: String?
            do { rows = try client.queue() } catch {
                rows = nil
                failure = error.description
            }
            condition.lock()
            var changed = false
            if let rows {
                let byID = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                for id in tracked.keys {
                    if let info = byID[id] {
                        if latest[id] != info { changed = true }
                        latest[id] = info
                        missing[id] = 0
                    } else {
                        missing[id, default: 0] += 1
                        changed = true
                    }
                }
            }
            lastError = failure
            tick += 1
            condition.broadcast()
            interval = changed ? Self.fastInterval : min(interval * 1.5, Self.slowestInterval)
            // A job whose processes are being reaped is COMPLETED a few milliseconds later.
            if tracked.keys.contains(where: { latest[$0]?.state == "COMPLETING" }) { interval = Self.fastInterval / 10 }
            let woken = wake
            wake = false
            condition.unlock()
            // Slurm needs a moment to see the batch script end: ask again soon, then less often.
            if !woken, waitForEvent(seconds: interval) { interval = Self.fastInterval / 10 }
        }
    }

    /// Sleeps until a job directory gets its `exit` file, a job is tracked, or `seconds` pass;
    /// true if a job ended (its state changes within the next ticks).
    private func waitForEvent(seconds: Double) -> Bool {
        var fds = [pollfd(fd: events, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 2, Int32(seconds * 1000)) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var ended = false
        while fds[0].revents != 0, events >= 0, read(events, &buffer, buffer.count) > 0 { ended = true }
        while fds[1].revents != 0, read(wakePipe[0], &buffer, buffer.count) > 0 {}
        return ended
    }
}
