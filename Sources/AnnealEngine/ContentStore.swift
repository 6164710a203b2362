import Foundation

/// The cache directory: read-only objects addressed by digest, the action cache, stage logs,
/// private scratch space, the ledger and the writers' lock.
///
/// ```
/// cache/objects/ab/abcdef…   an output tree (a directory), read-only, named by its digest
/// cache/actions/12/1234…json action key → output digests, metrics, timings
/// cache/logs/RUN/STAGE.log   what a stage printed
/// cache/tmp/PID-…/           a running stage's private directories
/// cache/quarantine/          objects that failed `cache verify`, kept for inspection
/// cache/ledger.sqlite        runs, executions, metrics, the stat cache
/// cache/lock                 held (flock) by the one process writing
/// ```
/// An object appears by a single rename of a fully written, hashed directory, so no reader
/// ever sees a partial one; an action entry is written after its objects exist.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var objectsDir: String { root + "/objects" }
    public var actionsDir: String { root + "/actions" }
    public var logsDir: String { root + "/logs" }
    public var tmpDir: String { root + "/tmp" }
    public var quarantineDir: String { root + "/quarantine" }
    public var ledgerPath: String { root + "/ledger.sqlite" }
    public var lockPath: String { root + "/lock" }

    public func objectPath(_ digest: String) -> String {
        "\(objectsDir)/\(digest.prefix(2))/\(digest)"
    }

    public func hasObject(_ digest: String) -> Bool {
        var st = stat()
        return stat(objectPath(digest), &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    public func prepare() throws(StoreError) {
        for d in [root, objectsDir, actionsDir, logsDir, tmpDir] {
            do { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw .io("cannot create the cache directory \(d): \(error.localizedDescription)")
            }
        }
    }

    /// A private directory for one stage execution, named after this process so a later run
    /// can tell leftovers of dead processes from live ones.
    public func makeScratch(stage: String) throws(StoreError) -> String {
        let dir = "\(tmpDir)/\(getpid())-\(stage)-\(UInt32.random(in: 0...UInt32.max))"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io("cannot create scratch directory \(dir): \(error.localizedDescription)")
        }
        return dir
    }

    /// Removes scratch directories of processes that no longer exist (a killed run).
    public func removeDeadScratch() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tmpDir)) ?? []
        for name in names {
            guard let pid = Int32(name.prefix { $0 != "-" }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { Self.removeTree(tmpDir + "/" + name) }
        }
    }

    /// Hashes a finished output directory and moves it into the objects. Returns the digest.
    /// If an equal object exists already, the new copy is discarded: objects are immutable.
    public func commit(directory: String) throws(StoreError) -> (digest: String, size: Int64, files: Int) {
        let tree = try Digest.ofTree(directory)
        let dest = objectPath(tree.digest)
        if hasObject(tree.digest) {
            Self.removeTree(directory)
            return tree
        }
        let parent = (dest as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        Self.makeReadOnly(directory)
        guard rename(directory, dest) == 0 else {
            if hasObject(tree.digest) { Self.removeTree(directory); return tree }
            throw .io("cannot move output into \(dest): \(String(cString: strerror(errno)))")
        }
        return tree
    }

    /// Re-hashes one object; true if its contents still match its name.
    public func verify(_ digest: String) -> Bool {
        guard let tree = try? Digest.ofTree(objectPath(digest)) else { return false }
        return tree.digest == digest
    }

    public func allObjects() -> [String] {
        var out: [String] = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: objectsDir)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(objectsDir)/\(prefix)")) ?? []
                where name.count == 64 && name.hasPrefix(prefix) { out.append(name) }
        }
        return out.sorted()
    }

    /// Moves a damaged object out of the way so it is never served again; the stage that
    /// produced it reruns on the next `anneal run`.
    public func quarantine(_ digest: String) throws(StoreError) {
        try? FileManager.default.createDirectory(atPath: quarantineDir, withIntermediateDirectories: true)
        let dest = "\(quarantineDir)/\(digest)-\(Int(Date().timeIntervalSince1970))"
        guard rename(objectPath(digest), dest) == 0 else {
            throw .io("cannot quarantine \(digest): \(String(cString: strerror(errno)))")
        }
    }

    public func removeObject(_ digest: String) { Self.removeTree(objectPath(digest)) }

    static func makeReadOnly(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { makeReadOnly(path + "/" + name) }
        }
        if st.st_mode & S_IFMT != S_IFLNK { chmod(path, st.st_mode & ~0o222 & 0o7777) }
    }

    /// Deletes a tree even if it was made read-only.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o755)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Writes a file by writing a sibling temporary file, flushing it and renaming it over the
/// target: readers see the old bytes or the new ones, never a torn file.
public func writeAtomically(_ text: String, to path: String) throws(StoreError) {
    let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .io("cannot write \(path): \(String(cString: strerror(errno)))") }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            close(fd); unlink(tmp)
            throw .io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        written += n
    }
    fsync(fd)
    close(fd)
    guard rename(tmp, path) == 0 else {
        unlink(tmp)
        throw .io("cannot replace \(path): \(String(cString: strerror(errno)))")
    }
}
