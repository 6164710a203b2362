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
/// Objects appear and disappear atomically:
/// - an object appears by a single rename of a fully written, hashed directory, which is then
///   sealed (every write bit removed, its top directory last);
/// - it disappears (`gc`, a damaged object replaced) by a rename into `tmp/` under this
///   process's id, and only then is deleted, so a kill mid-delete leaves scratch, never a
///   partial object under a digest; the next run removes that scratch;
/// - an object is complete exactly when its top directory is read-only. That costs no more
///   than the `stat` that finds it, and every way to lose part of an object makes its top
///   directory writable first (a commit killed before sealing; an older `gc` that deleted in
///   place). An incomplete object is never served: the stage reruns and its commit replaces it.
/// An action entry is written after its objects exist.
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

    /// True if a complete object is stored under `digest` (see the type's notes).
    public func hasObject(_ digest: String) -> Bool {
        guard Digest.isValid(digest) else { return false }
        var st = stat()
        return lstat(objectPath(digest), &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_mode & 0o222 == 0
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
        let dir = scratchPath(stage: stage)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io("cannot create the scratch directory \(dir): \(error.localizedDescription)")
        }
        return dir
    }

    /// A new scratch directory, a spare renamed there if there is one.
    func makeScratch(stage: String, from spares: SpareDirectories) throws(StoreError) -> String {
        let dir = scratchPath(stage: stage)
        try spares.make(dir)
        return dir
    }

    private func scratchPath(stage: String) -> String { "\(tmpDir)/\(getpid())-\(stage)-\(UInt32.random(in: 0...UInt32.max))" }

    /// Removes scratch directories of processes that no longer exist (a killed run or gc),
    /// first ending the stage process groups such a run left running (`LeftoverGroups`).
    /// Returns a note for each group ended.
    @discardableResult
    public func removeDeadScratch() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: tmpDir)) ?? [])
            .filter { name in
                guard let pid = Int32(name.prefix { $0 != "-" }), pid != getpid() else { return false }
                return kill(pid, 0) != 0 && errno == ESRCH
            }
        let notes = names.filter { $0.hasSuffix(LeftoverGroups.suffix) }.compactMap { LeftoverGroups.end(record: tmpDir + "/" + $0) }
            + names.filter { $0.hasSuffix(LeftoverGroups.journalSuffix) }.flatMap { LeftoverGroups.end(journal: tmpDir + "/" + $0) }
        for name in names { FileTree.remove(tmpDir + "/" + name) }
        return notes
    }

    /// Checks a finished output directory (`OutputCheck`), hashes it and moves it into the
    /// objects. Returns the digest. If a complete object of that digest exists, the new copy
    /// is discarded (objects are immutable) unless `replacingDamaged` is set (`run --force`)
    /// and re-hashing shows the stored one no longer matches its name.
    ///
    /// The rename comes before sealing: Linux needs write permission on a directory to move
    /// it to a new parent (its `..` entry changes), so sealing first fails for any user but root.
    public func commit(directory: String, output: String = "output", replacingDamaged: Bool = false)
        throws(StoreError) -> (digest: String, size: Int64, files: Int) {
        try OutputCheck.prepare(directory, name: output)
        let tree = try Digest.ofTree(directory)
        let dest = objectPath(tree.digest)
        // Stages of one run commit in parallel and may produce equal outputs.
        Self.commitLock.lock()
        defer { Self.commitLock.unlock() }
        if hasObject(tree.digest), !replacingDamaged || verify(tree.digest) {
            FileTree.remove(directory)
            return tree
        }
        var st = stat()
        if lstat(dest, &st) == 0 { try discard(dest) }  // incomplete or damaged: never served again
        let parent = (dest as NSString).deletingLastPathComponent
        if mkdir(parent, 0o755) != 0, case let code = errno, code != EEXIST {
            throw .system(code, "cannot create \(parent)")
        }
        if lstat(directory, &st) == 0, st.st_mode & S_IWUSR == 0 { chmod(directory, st.st_mode & 0o7777 | S_IWUSR) }
        guard rename(directory, dest) == 0 else {
            let code = errno  // before anything else can overwrite it
            throw .system(code, "cannot move output into \(dest)")
        }
        try FileTree.makeReadOnly(dest)
        return tree
    }

    /// Takes `path` out of the objects by renaming it into this process's scratch, then
    /// deletes it. A kill between the two leaves only scratch behind.
    func discard(_ path: String) throws(StoreError) {
        let trash = "\(tmpDir)/\(getpid())-discarded-\(UInt32.random(in: 0...UInt32.max))"
        if mkdir(tmpDir, 0o755) != 0, case let code = errno, code != EEXIST {
            throw .system(code, "cannot create \(tmpDir)")
        }
        try unseal(path)
        guard rename(path, trash) == 0 else {
            let code = errno
            if code == ENOENT { return }
            throw .system(code, "cannot remove \(path)")
        }
        FileTree.remove(trash)
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
                where Digest.isValid(name) && name.hasPrefix(prefix) { out.append(name) }
        }
        return out.sorted()
    }

    /// Moves a damaged object out of the way so it is never served again; the stage that
    /// produced it reruns on the next `anneal run`.
    public func quarantine(_ digest: String) throws(StoreError) {
        try? FileManager.default.createDirectory(atPath: quarantineDir, withIntermediateDirectories: true)
        let dest = "\(quarantineDir)/\(digest)-\(Int(Date().timeIntervalSince1970))"
        try unseal(objectPath(digest))
        guard rename(objectPath(digest), dest) == 0 else {
            let code = errno
            throw .system(code, "cannot quarantine \(digest) into \(quarantineDir)")
        }
    }

    private static let commitLock = NSLock()

    /// Makes an object's top directory writable, which is both what moving it to another
    /// parent needs and what marks it incomplete: from here on it is never served.
    private func unseal(_ path: String) throws(StoreError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR, chmod(path, st.st_mode & 0o7777 | S_IWUSR) != 0 {
            let code = errno
            throw .system(code, "cannot remove \(path)")
        }
    }

    public func removeObject(_ digest: String) throws(StoreError) {
        guard Digest.isValid(digest) else { return }
        try discard(objectPath(digest))
    }

    /// Deletes a tree even if it was made read-only, however deep it is.
    public static func removeTree(_ path: String) { FileTree.remove(path) }
}

/// Writes a file by writing a sibling temporary file, flushing it and renaming it over the
/// target: readers see the old bytes or the new ones, never a torn file.
/// `durable: false` skips the flush, for files in a stage's private scratch: a crash discards
/// the whole scratch directory, so they need atomicity for readers, never durability.
public func writeAtomically(_ text: String, to path: String, durable: Bool = true) throws(StoreError) {
    try writeAtomically(Array(text.utf8), to: path, durable: durable)
}

public func writeAtomically(_ bytes: [UInt8], to path: String, durable: Bool = true) throws(StoreError) {
    let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .system(errno, "cannot write \(path)") }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        if n < 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd); unlink(tmp)
            throw .system(code, "cannot write \(path)")
        }
        written += n
    }
    if durable { fsync(fd) }
    close(fd)
    guard rename(tmp, path) == 0 else {
        let code = errno
        unlink(tmp)
        throw .system(code, "cannot replace \(path)")
    }
}

/// The bytes of a small file, or nil if it cannot be opened or read: one `open`, `fstat` and
/// `read`, without Foundation's `Data` and path bridging (a no-op run reads an action entry
/// per stage this way).
func readFileBytes(_ path: String) -> [UInt8]? { try? readSmallFile(path).get().bytes }

/// Why `readSmallFile` read nothing.
enum SmallFileFailure: Error {
    case missing
    case notRegular
    case failed(Int32)
}

/// A small file's bytes and `fstat`, in one `open`, `fstat` and `read`.
func readSmallFile(_ path: String) -> Result<(bytes: [UInt8], stat: stat), SmallFileFailure> {
    // Non-blocking open: a FIFO planted where a file is expected (a shared cache's actions/)
    // would block a plain open forever; fstat then refuses it as not a regular file.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return .failure(errno == ENOENT ? .missing : .failed(errno)) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return .failure(.failed(errno)) }
    guard st.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: max(Int(st.st_size) + 1, 4096))
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return .failure(.failed(errno))
        }
        if n == 0 { return .success((bytes, st)) }
        bytes.append(contentsOf: chunk[..<n])
    }
}
