@testable import AnnealEngine
import AnnealPipeline
import Foundation
import GRDB
import Testing

/// An object is what its digest says: complete, sealed, reachable only through valid digests,
/// removed without leaving a partial object behind; and the ledger never traps on bad rows.
@Suite struct StoreIntegrityTests {
    func store(_ name: String = #function) throws -> (ContentStore, String) {
        let root = scratchDir(name)
        let store = ContentStore(root: root + "/cache")
        try store.prepare()
        return (store, root)
    }

    func output(_ store: ContentStore, files: [String: String]) throws -> String {
        let dir = try store.makeScratch(stage: "s") + "/out"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }
        return dir
    }

    @Test func anIncompleteObjectIsNotServedAndACommitReplacesIt() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let files = Dictionary(uniqueKeysWithValues: (0..<20).map { ("f\($0)", "\($0)\n") })
        let digest = try store.commit(directory: try output(store, files: files)).digest
        #expect(store.hasObject(digest))
        // What a kill in the middle of deleting it in place leaves: writable, half its files.
        let path = store.objectPath(digest)
        chmod(path, 0o755)
        for i in 0..<10 { unlink("\(path)/f\(i)") }
        #expect(!store.hasObject(digest), "an object whose top directory is writable is incomplete")
        #expect(try store.commit(directory: try output(store, files: files)).digest == digest)
        #expect(store.hasObject(digest) && store.verify(digest))
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).count == 20)
    }

    @Test func forcedCommitReplacesADamagedObject() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let digest = try store.commit(directory: try output(store, files: ["f": "data\n"])).digest
        let file = store.objectPath(digest) + "/f"
        chmod(file, 0o644)
        try "tampered\n".write(toFile: file, atomically: false, encoding: .utf8)
        _ = try store.commit(directory: try output(store, files: ["f": "data\n"]))
        #expect(!store.verify(digest), "an ordinary commit trusts a sealed object")
        _ = try store.commit(directory: try output(store, files: ["f": "data\n"]), replacingDamaged: true)
        #expect(store.verify(digest) && store.hasObject(digest))
    }

    @Test func removingAnObjectMovesItAwayFirst() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let digest = try store.commit(directory: try output(store, files: ["f": "x"])).digest
        try store.removeObject(digest)
        #expect(!FileManager.default.fileExists(atPath: store.objectPath(digest)))
        // Scratch that a killed gc left (renamed away, not yet deleted) goes with its process.
        let leftover = store.tmpDir + "/999999999-discarded-1"
        try FileManager.default.createDirectory(atPath: leftover + "/sub", withIntermediateDirectories: true)
        chmod(leftover + "/sub", 0o555)
        store.removeDeadScratch()
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    @Test func commitKeepsTheRealErrno() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let dir = try output(store, files: ["f": "x"])
        let digest = try Digest.ofTree(dir).digest
        // The prefix directory is a file: the rename fails with ENOTDIR, never a later ENOENT.
        try "".write(toFile: store.objectsDir + "/" + digest.prefix(2), atomically: false, encoding: .utf8)
        do {
            _ = try store.commit(directory: dir)
            Issue.record("commit into a file succeeded")
        } catch {
            #expect(error.description.hasSuffix(": Not a directory"), "\(error)")
        }
    }

    @Test func outputsMustBeRealDirectoriesWithLinksInside() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let link = try store.makeScratch(stage: "l") + "/o"
        symlink("/etc", link)
        #expect(throws: StoreError.self) { try store.commit(directory: link, output: "o") }
        do { _ = try store.commit(directory: link, output: "o") } catch {
            #expect(error.description == "output 'o' was replaced by a symbolic link to /etc; a stage writes files into its output directory")
        }
        let file = try store.makeScratch(stage: "f") + "/o"
        try "x".write(toFile: file, atomically: false, encoding: .utf8)
        do { _ = try store.commit(directory: file, output: "o"); Issue.record("a file output was accepted") } catch {
            #expect(error.description.hasPrefix("output 'o' was replaced by a regular file"))
        }
        let escaping = try output(store, files: ["f": "x"])
        symlink("../../../../etc/passwd", escaping + "/p")
        do { _ = try store.commit(directory: escaping, output: "o"); Issue.record("an escaping link was accepted") } catch {
            #expect(error.description == "output 'o': symbolic link p -> ../../../../etc/passwd points outside the output; outputs hold only their own files")
        }
        let inside = try output(store, files: ["f": "x"])
        try FileManager.default.createDirectory(atPath: inside + "/d", withIntermediateDirectories: true)
        symlink("../f", inside + "/d/up")
        #expect(throws: Never.self) { try store.commit(directory: inside, output: "o") }
    }

    @Test func linkResolutionFollowsLinksInsideTheOutput() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        symlink(".", root + "/self")
        symlink("a/b", root + "/deep")
        #expect(OutputCheck.staysInside(root: root, linkDirectory: [], target: "a/b/../b"))
        #expect(OutputCheck.staysInside(root: root, linkDirectory: ["a", "b"], target: "../../f"))
        #expect(!OutputCheck.staysInside(root: root, linkDirectory: ["a"], target: "../../f"))
        #expect(!OutputCheck.staysInside(root: root, linkDirectory: [], target: "/etc"))
        // Lexically `self/..` is the root itself; really it is the root's parent.
        #expect(!OutputCheck.staysInside(root: root, linkDirectory: [], target: "self/.."))
        #expect(OutputCheck.staysInside(root: root, linkDirectory: [], target: "deep/.."))
        symlink("loop", root + "/loop")
        #expect(!OutputCheck.staysInside(root: root, linkDirectory: [], target: "loop/x"))
    }

    @Test func aHardLinkedFileIsCopiedNotSealedInPlace() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let mine = root + "/mine.txt"
        try "my data\n".write(toFile: mine, atomically: false, encoding: .utf8)
        chmod(mine, 0o644)
        let dir = try output(store, files: [:])
        #expect(link(mine, dir + "/h") == 0)
        let digest = try store.commit(directory: dir, output: "o").digest
        var st = stat()
        stat(mine, &st)
        #expect(st.st_mode & 0o777 == 0o644, "the user's own file keeps its mode")
        #expect(st.st_nlink == 1)
        try "edited\n".write(toFile: mine, atomically: false, encoding: .utf8)
        #expect(store.verify(digest), "editing the user's file does not change the object")
    }

    @Test func aTreeDeeperThanPathMaxIsRemoved() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let top = root + "/deep"
        mkdir(top, 0o755)
        var fd = open(top, O_RDONLY | O_DIRECTORY)
        let name = String(repeating: "d", count: 100)
        for _ in 0..<60 {  // 6,000 bytes of path: beyond PATH_MAX
            #expect(mkdirat(fd, name, 0o755) == 0)
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        let file = openat(fd, "f", O_WRONLY | O_CREAT, 0o644)
        close(file)
        fchmod(fd, 0o555)
        close(fd)
        #expect(FileTree.remove(top))
        #expect(!FileManager.default.fileExists(atPath: top))
    }

    @Test func digestsReadFromFilesAreChecked() throws {
        #expect(Digest.isValid(String(repeating: "0a", count: 32)))
        for bad in ["", "../../../../etc", String(repeating: "A", count: 64), String(repeating: "a", count: 63),
                    String(repeating: "a", count: 65), String(repeating: "g", count: 64)] {
            #expect(!Digest.isValid(bad), "\(bad)")
        }
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let cache = ActionCache(store: store)
        let key = String(repeating: "ab", count: 32)
        let path = cache.path(key)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try #"{"key": "\#(key)", "stage": "s", "outputs": {"o": {"digest": "../../../../tmp", "size": 1}}}"#
            .write(toFile: path, atomically: false, encoding: .utf8)
        #expect(cache.lookup(key) == nil)
        let v = CacheMaintenance(store: store).verify()
        #expect(v.corruptActions == [key])
        #expect(!FileManager.default.fileExists(atPath: path), "a corrupt entry is quarantined")
    }

    @Test func aLockfileDigestThatIsNoDigestIsAnError() throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        let good = String(repeating: "ab", count: 32)
        var f = StageFacts(kind: "k", version: "1", command: nil, plugin: nil, seed: 1, params: .map([:]), referenced: [:],
                           inputs: [:], outputNames: ["o"])
        f.outputs = ["o": OutputFact(digest: good, size: 1)]
        try Lockfile(tool: "t", compute: .map([:]), pipeline: "p.yaml", name: "n", stages: ["a": f]).write(to: dir + "/p.lock")
        let text = try String(contentsOfFile: dir + "/p.lock", encoding: .utf8)
        try text.replacingOccurrences(of: good, with: "../../../../etc").write(toFile: dir + "/bad.lock", atomically: false, encoding: .utf8)
        do {
            _ = try Lockfile.read(dir + "/bad.lock", verifyKeys: false)
            Issue.record("a path was accepted as a digest")
        } catch {
            #expect(error.description.hasPrefix("\(dir)/bad.lock: stage 'a' output 'o' has no valid digest"))
        }
    }

    @Test func quarantineFailuresAreReported() throws {
        let (store, root) = try store()
        defer { ContentStore.removeTree(root) }
        let digest = try store.commit(directory: try output(store, files: ["f": "x"])).digest
        chmod(store.objectPath(digest) + "/f", 0o644)
        try "y".write(toFile: store.objectPath(digest) + "/f", atomically: false, encoding: .utf8)
        try "not a directory".write(toFile: store.quarantineDir, atomically: false, encoding: .utf8)
        let v = CacheMaintenance(store: store).verify()
        #expect(v.corrupt == [digest])
        #expect(v.quarantineFailures.count == 1 && v.quarantineFailures[0].contains("cannot quarantine \(digest)"))
        #expect(!store.hasObject(digest), "a damaged object that could not be moved is still never served")
    }

    @Test func damagedLedgerRowsAreErrorsNamingTheirTable() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let ledger = try Ledger(path: root + "/l.sqlite")
        try ledger.saveFileStates(["/a": (Ledger.FileState(device: 1, inode: 2, size: 3, mtimeNs: 4), "d")])
        try ledger.pool.write { try $0.execute(sql: "UPDATE file_state SET device = NULL") }
        do {
            _ = try StatCache(ledger: ledger)
            Issue.record("a NULL device was read")
        } catch {
            #expect(error.description.contains("table 'file_state' holds NULL in column 'device' where an integer belongs"))
        }
        try ledger.beginRun(id: "r1", pipeline: "p.yaml", command: "run")
        try ledger.pool.write { try $0.execute(sql: "UPDATE runs SET started = 'yesterday'") }
        #expect(throws: StoreError.self) { try ledger.runs() }
        try ledger.pool.write { try $0.execute(sql: "UPDATE runs SET started = 1, status = 'running'") }
        try ledger.record(Ledger.Execution(runID: "r1", stage: "a", status: "running"))
        #expect(try ledger.markAbandonedRuns() == 1)
        #expect(try ledger.runs().map(\.status) == ["interrupted"])
        #expect(try ledger.executions(run: "r1").map(\.status) == ["interrupted"])
    }

    /// A digest in `file_state` would become an input's digest, its action key and its lockfile
    /// entry: one that is not 64 lowercase hex digits is damage, not a fact about the file.
    @Test func aDamagedFileStateDigestIsAnErrorNamingItsTable() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let ledger = try Ledger(path: root + "/l.sqlite")
        try ledger.saveFileStates(["/a": (Ledger.FileState(device: 1, inode: 2, size: 3, mtimeNs: 4), String(repeating: "a", count: 64))])
        _ = try StatCache(ledger: ledger)  // a valid row reads
        try ledger.pool.write { try $0.execute(sql: "UPDATE file_state SET digest = '../../../etc'") }
        do {
            _ = try StatCache(ledger: ledger)
            Issue.record("a digest '../../../etc' was read")
        } catch {
            #expect(error.description.contains("table 'file_state' holds the text '../../../etc' in column 'digest'"), "\(error)")
        }
    }

    @Test func progressLinesAreBoundedAndScannedOnce() {
        var lines = ProgressLines(limit: 1 << 20)
        var got: [String] = []
        let chunk = [UInt8](repeating: 0x61, count: 65536)
        for _ in 0..<800 {  // 50 MB without a newline
            chunk.withUnsafeBytes { lines.append($0) { got.append($0) } }
            #expect(lines.buffered <= 1 << 20)
        }
        Array("tail\n{\"step\": 1}\n{\"st".utf8).withUnsafeBytes { lines.append($0) { got.append($0) } }
        Array("ep\": 2}\n".utf8).withUnsafeBytes { lines.append($0) { got.append($0) } }
        #expect(got == [#"{"step": 1}"#, #"{"step": 2}"#], "the over-long line is dropped whole, the next ones are kept")
        #expect(lines.dropped == 1)
        Array("last".utf8).withUnsafeBytes { lines.append($0) { got.append($0) } }
        lines.finish { got.append($0) }
        #expect(got.last == "last")
    }
}

extension Ledger.Execution {
    init(runID: String, stage: String, status: String) {
        self.init(runID: runID, stage: stage, status: status, key: nil, started: 0, finished: nil, exitCode: nil, error: nil, log: nil)
    }
}
