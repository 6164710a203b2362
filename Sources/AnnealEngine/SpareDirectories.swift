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
///
/// One file may stay in a spare: `kept`, the scratch's `params.json`, which the next stage
/// overwrites in place (`writePrivateFile`) — a file deleted per stage would cost the inode
/// allocator too: without a journal, ext4 skips inodes deleted in the last minute or more
/// while it looks for a free one, so every deletion slows every later creation. It stays
/// only as a regular file of ours with one link and the mode a new one gets; else it is
/// removed and the directory kept.
final class SpareDirectories: @unchecked Sendable {
    let tmpDir: String
    /// The name of a file a spare may hold.
    let kept: String?
    private let lock = NSLock()
    private var spares: [String] = []
    /// The mode of the first directory this pool made with `mkdir` (the umask's doing);
    /// until then nothing is taken back.
    private var freshMode: mode_t?
    /// More spares than stages run at once are never needed.
    static let limit = 64

    init(tmpDir: String, keeping kept: String? = nil) {
        self.tmpDir = tmpDir
        self.kept = kept
    }

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
        guard room, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid(), let fresh, st.st_mode & 0o7777 == fresh,
              let names = try? FileTree.names(in: path), names.isEmpty || names == [kept] && keepable(path + "/" + names[0], fresh) else {
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

    /// Whether the kept file may stay: regular, ours, one link, and the mode a new file gets
    /// under the umask that gave directories `directoryMode`. Otherwise it is removed.
    private func keepable(_ file: String, _ directoryMode: mode_t) -> Bool {
        var st = stat()
        guard lstat(file, &st) == 0 else { return true }
        if st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_nlink == 1,
           st.st_mode & 0o7777 == Self.fileMode & directoryMode { return true }
        return unlink(file) == 0
    }

    /// The mode the runner creates its files in scratch with (before the umask).
    static let fileMode: mode_t = 0o644

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

    /// Spare names are numbered process-wide: a run has two pools (scratch and state).
    private func nextNumber() -> Int {
        Self.numbering.lock()
        defer { Self.numbering.unlock() }
        Self.numbered += 1
        return Self.numbered
    }

    private static let numbering = NSLock()
    nonisolated(unsafe) private static var numbered = 0
}

/// Writes a file of the runner's into a private scratch directory (parameters, a large input
/// map). No reader sees it before the stage starts, so it is written in place, without the
/// temporary file and rename that atomicity needs, and a file already there from a reused
/// scratch (`SpareDirectories.kept`) keeps its inode. Links are never followed: a file that is
/// not a regular one with a single link is replaced, not written through.
func writePrivateFile(_ bytes: [UInt8], to path: String, durable: Bool) throws(StoreError) {
    var fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, SpareDirectories.fileMode)
    var st = stat()
    if fd >= 0, fstat(fd, &st) != 0 || st.st_mode & S_IFMT != S_IFREG || st.st_nlink != 1 {
        close(fd)
        fd = -1
    }
    if fd < 0 {
        FileTree.remove(path)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SpareDirectories.fileMode)
        guard fd >= 0 else { throw .system(errno, "cannot write \(path)") }
    }
    defer { close(fd) }
    guard ftruncate(fd, 0) == 0 else { throw .system(errno, "cannot write \(path)") }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .system(errno, "cannot write \(path)")
        }
        written += n
    }
    if durable, fsync(fd) != 0 { throw .system(errno, "cannot write \(path)") }
}
