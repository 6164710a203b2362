import Foundation

/// The writers' lock on a cache: an exclusive `flock` on `cache/lock`.
///
/// The kernel drops a flock when its holder dies, however it dies, so a lock left by a
/// SIGKILLed run is never a dead end. The descriptor is close-on-exec so stage processes,
/// which may outlive a killed runner, never inherit (and keep) the lock.
public final class CacheLock: @unchecked Sendable {
    private var fd: Int32 = -1

    public init() {}

    /// Takes the lock, waiting if another process holds it; `onWait` is told who holds it
    /// (once) so the user knows why nothing happens.
    public func acquire(path: String, onWait: (String) -> Void) throws(StoreError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .locked("cannot open the cache lock \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else { throw .locked("cannot lock \(path): \(String(cString: strerror(errno)))") }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            onWait("waiting for another anneal\(holder.isEmpty ? "" : " (\(holder))") that holds the cache lock \(path)")
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else { throw .locked("cannot lock \(path): \(String(cString: strerror(errno)))") }
            }
        }
        ftruncate(fd, 0)
        let note = "pid \(getpid())\n"
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    public func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
