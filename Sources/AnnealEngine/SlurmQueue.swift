import Foundation

/// Watches the jobs of one run with one `squeue` call per tick, however many there are.
///
/// A tick comes 0.2 s after one that saw a job change state, and each quiet tick waits 1.5×
/// longer, up to 2 s: a queue of long training jobs costs one short command every 2 s, and a
/// job that just started or ended is noticed within a fifth of a second (a trivial job takes
/// about half a second from submit to end on an idle node, `../shared/research/slurm.md`).
/// Waiting jobs block on a condition between ticks; nothing spins.
final class SlurmQueue: @unchecked Sendable {
    static let fastInterval = 0.2
    static let slowestInterval = 2.0

    let client: SlurmClient
    private let condition = NSCondition()
    private var tracked: Set<Int> = []
    private var latest: [Int: SlurmJobInfo] = [:]
    /// Ticks in a row a tracked job was missing from `squeue`.
    private var missing: [Int: Int] = [:]
    private var tick = 0
    private var polling = false
    private var wake = false
    private(set) var lastError: String?

    init(client: SlurmClient) { self.client = client }

    /// Starts watching `id`; the next tick comes at once.
    func track(_ id: Int) {
        condition.lock()
        defer { condition.unlock() }
        tracked.insert(id)
        wake = true
        condition.broadcast()
        guard !polling else { return }
        polling = true
        let thread = Thread { [self] in poll() }
        thread.name = "anneal-slurm-queue"
        thread.start()
    }

    func untrack(_ id: Int) {
        condition.lock()
        tracked.remove(id)
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

    private func poll() {
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
                for id in tracked {
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
            let deadline = Date().addingTimeInterval(interval)
            while !wake, condition.wait(until: deadline) {}
            wake = false
            condition.unlock()
        }
    }
}
