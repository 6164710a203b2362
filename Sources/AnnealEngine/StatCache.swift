import Foundation

/// Digests of workspace inputs, trusted while a file's device, inode, size and mtime are
/// unchanged (as DVC's state database), so a no-op never re-reads a large corpus.
///
/// A file modified within the last two seconds is not remembered: its mtime could still
/// change without the size changing within the filesystem's timestamp resolution (git's
/// "racy clean" problem).
public final class StatCache: @unchecked Sendable {
    private let lock = NSLock()
    private var known: [String: (FileState, String)]
    private var updates: [String: (FileState, String)] = [:]
    /// The state of each file this run took a digest for, when the digest can be trusted to
    /// stand for that state later (not racy): what a no-op memo may rely on.
    private var trusted: [String: FileState] = [:]
    private let ledger: Ledger?
    public private(set) var filesHashed = 0

    public init(ledger: Ledger?) throws(StoreError) {
        self.ledger = ledger
        known = try ledger?.fileStates() ?? [:]
    }

    /// A cache that remembers nothing between runs (no ledger to read, so nothing to fail).
    public init() {
        ledger = nil
        known = [:]
    }

    /// Digest and size of the regular file at `path` whose `stat` is `st`. For a symlinked
    /// input file, `path` is the link and `st` its target's, so the entry is trusted only
    /// while the target is unchanged.
    func fileDigest(_ path: String, _ st: stat) throws(StoreError) -> (String, Int64) {
        let state = FileState(st)
        lock.lock()
        if let cached = known[path], cached.0 == state {
            trusted[path] = state
            lock.unlock()
            return (cached.1, state.size)
        }
        lock.unlock()
        let (digest, size) = try Digest.ofFile(path)
        lock.lock()
        filesHashed += 1
        if Double(st.st_mtim.tv_sec) < Date().timeIntervalSince1970 - 2 {
            known[path] = (state, digest)
            updates[path] = (state, digest)
            trusted[path] = state
        }
        lock.unlock()
        return (digest, size)
    }

    /// The state `path` had when this run took its digest, if that digest stands for it.
    func trustedState(of path: String) -> FileState? {
        lock.lock()
        defer { lock.unlock() }
        return trusted[path]
    }

    public func save() {
        lock.lock()
        let u = updates
        updates = [:]
        lock.unlock()
        try? ledger?.saveFileStates(u)
    }
}
