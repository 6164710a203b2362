import Foundation

/// Empty directories a run reuses instead of creating and deleting one per stage.
///
/// Every local stage needs a scratch directory and a resume-state directory, and both are
/// usually empty again when it ends. Creating a directory allocates an inode and a block;
/// removing one frees them, and on a filesystem mounted with `discard` the removal waits for
/// the device: on the build VM an `rmdir` took 0.7–4.5 ms of wall time for 25–45 µs of CPU,
/// a `mkdir` 80–150 µs of CPU (docs/runner-speed.md, "Third round"). So an emptied directory
/// is renamed to `tmp/PID-spare-N`, and renamed again to wherever the next stage needs one: a
/// rename within one filesystem allocates and frees nothing.
///
/// A directory is reused only while it is verifiably what a fresh `mkdir` gives: a real
/// directory (not a link), ours, empty, with the mode `mkdir` gave the first one. Anything
/// else is deleted as before. Spares carry this process's id, so a killed run's are removed
/// with its other scratch (`ContentStore.removeDeadScratch`); `removeAll` ends a run's.
final class SpareDirectories: @unchecked Sendable {
    let tmpDir: String
    private let lock = NSLock()
    private var spares: [String] = []
    private var named = 0
    /// The mode of the first directory this pool made with `mkdir` (the umask's doing);
    /// until then nothing is taken back.
    private var freshMode: mode_t?
    /// More spares than stages run at once are never needed.
    static let limit = 64

    init(tmpDir: String) { self.tmpDir = tmpDir }

    /// Makes `path` a new, empty directory: a spare renamed there, else `mkdir`. `path` must
    /// not exist (a rename would replace an empty directory there).
    func make(_ path: String) throws(StoreError) {
        if let spare = take() {
            if rename(spare, path) == 0 { return }
            // Another filesystem (a `state/` mounted elsewhere): the spare serves the next
            // scratch directory. Anything else (it vanished): it is dropped.
            if errno == EXDEV { give(spare) } else { FileTree.remove(spare) }
        }
        if mkdir(path, 0o777) != 0 {
            let code = errno
            guard code == ENOENT else { throw .system(code, "cannot create the directory \(path)") }
            // Its parent is missing (`state/` before the first resumable attempt): made first.
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw .io("cannot create the directory \(path): \(error.localizedDescription)")
            }
        }
        lock.lock()
        defer { lock.unlock() }
        if freshMode == nil {
            var st = stat()
            if lstat(path, &st) == 0 { freshMode = st.st_mode & 0o7777 }
        }
    }

    /// Takes back a directory that is no longer needed: kept as a spare if it is as `make`
    /// leaves one, deleted otherwise.
    func recycle(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        lock.lock()
        let fresh = freshMode
        let room = spares.count < Self.limit
        lock.unlock()
        guard room, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o7777 == fresh,
              (try? FileTree.names(in: path))?.isEmpty == true else {
            FileTree.remove(path)
            return
        }
        let spare = "\(tmpDir)/\(getpid())-spare-\(nextNumber())"
        guard rename(path, spare) == 0 else {
            FileTree.remove(path)
            return
        }
        give(spare)
    }

    /// Deletes every spare (the end of a run).
    func removeAll() {
        lock.lock()
        let all = spares
        spares = []
        lock.unlock()
        for spare in all where rmdir(spare) != 0 { FileTree.remove(spare) }
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return spares.count
    }

    private func take() -> String? {
        lock.lock()
        defer { lock.unlock() }
        return spares.popLast()
    }

    private func give(_ spare: String) {
        lock.lock()
        defer { lock.unlock() }
        spares.append(spare)
    }

    private func nextNumber() -> Int {
        lock.lock()
        defer { lock.unlock() }
        named += 1
        return named
    }
}
