import Foundation

/// A run's action entries, written in batches behind one durability point each.
///
/// The commit protocol makes an entry durable only after the objects it names are: otherwise
/// a power cut could leave an entry naming an object whose files never reached the disk.
/// Flushing every object's files and directories and then every entry would cost several
/// device flushes per stage (a trivial stage's whole runtime is a few milliseconds; one flush
/// on the build VM 0.5–27 ms). So the runner hands each committed stage's entry here and goes
/// on — the stages after it read the objects at once, the renames have happened — and a
/// writer thread takes whatever has queued, makes the filesystem's data durable with one
/// `syncfs` (every object of the batch was sealed before it), then writes the batch's entries
/// (atomically, no flush each) and only then removes the committed stages' resume state. The
/// next batch's `syncfs` makes those entries durable; `finish` ends the run with one more.
///
/// Batches start at least `interval` apart, so a run of quick stages flushes a few times a
/// second, not once a stage. A SIGKILL loses the entries still queued: those stages run again
/// next time (their objects are already stored, their resume state kept), and nothing ever
/// names a missing or partial object. Entries queued or being written are served to the run
/// itself by `entry(_:)`, so two stages with one key still run once.
final class EntryWriter: @unchecked Sendable {
    let actions: ActionCache
    /// Where emptied resume-state directories go (`SpareDirectories`).
    let spares: SpareDirectories
    let interval: Double
    /// Makes what was written to the cache's filesystem durable (`makeDurable`; tests watch it).
    let flush: @Sendable (String) -> Void

    private let condition = NSCondition()
    private var queued: [ActionEntry] = []
    /// Entries not yet written, by key: the queue and the batch being written.
    private var unwritten: [String: ActionEntry] = [:]
    private var failures: [(entry: ActionEntry, error: StoreError)] = []
    private var started = false
    private var finishing = false
    private var writing = false
    private var lastBatch = 0.0

    init(actions: ActionCache, spares: SpareDirectories, interval: Double = 0.2,
         flush: @escaping @Sendable (String) -> Void = EntryWriter.makeDurable) {
        self.actions = actions
        self.spares = spares
        self.interval = interval
        self.flush = flush
    }

    /// Queues the entry of a stage whose outputs are committed (stored and sealed).
    func add(_ entry: ActionEntry) {
        condition.lock()
        defer { condition.unlock() }
        queued.append(entry)
        unwritten[entry.key] = entry
        if !started {
            started = true
            let thread = Thread { [self] in writeBatches() }
            thread.name = "anneal.entries"
            thread.start()
        }
        condition.broadcast()
    }

    /// The entry for `key` if it is queued or being written.
    func entry(_ key: String) -> ActionEntry? {
        condition.lock()
        defer { condition.unlock() }
        return unwritten[key]
    }

    /// Writes what is queued, makes every entry durable and returns those that could not be
    /// written, with why. The run's end: nothing is added after it.
    func finish() -> [(entry: ActionEntry, error: StoreError)] {
        condition.lock()
        finishing = true
        condition.broadcast()
        while started && (writing || !queued.isEmpty) { condition.wait() }
        let wrote = started
        let failed = failures
        condition.unlock()
        if wrote { flush(actions.store.root) }
        return failed
    }

    private func writeBatches() {
        while true {
            condition.lock()
            while queued.isEmpty && !finishing { condition.wait() }
            if queued.isEmpty {
                condition.unlock()
                return
            }
            // A batch at most every `interval` while the run goes on; at its end, at once.
            while !finishing, case let due = lastBatch + interval, Date().timeIntervalSince1970 < due {
                _ = condition.wait(until: Date(timeIntervalSince1970: due))
            }
            let batch = queued
            queued = []
            writing = true
            condition.unlock()

            // Every object these entries name was renamed and sealed before this point.
            flush(actions.store.root)
            var failed: [(entry: ActionEntry, error: StoreError)] = []
            for entry in batch {
                do { try actions.record(entry, durable: false) } catch { failed.append((entry, error)) }
            }
            // Committed and recorded: a resumable stage's checkpoints are no longer needed.
            for entry in batch where !failed.contains(where: { $0.entry.key == entry.key }) {
                actions.store.removeStateDirectory(key: entry.key, into: spares)
            }

            condition.lock()
            for entry in batch where unwritten[entry.key]?.outputs == entry.outputs { unwritten[entry.key] = nil }
            failures += failed
            writing = false
            lastBatch = Date().timeIntervalSince1970
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Writes the data and metadata of the filesystem holding `path` to the device: `syncfs`
    /// where there is one (Linux), else `sync`.
    static func makeDurable(_ path: String) {
        if let syncfs = Self.syncfs {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                if syncfs(fd) == 0 { return }
            }
        }
        sync()
    }

    /// glibc declares `syncfs` only under `_GNU_SOURCE`, which the Swift overlay does not set.
    private typealias SyncFS = @convention(c) (Int32) -> Int32
    private static let syncfs: SyncFS? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs").map { unsafeBitCast($0, to: SyncFS.self) }
}
