@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

func scratchDir(_ name: String = #function) -> String {
    let d = NSTemporaryDirectory() + "anneal-unit-\(name.filter(\.isLetter))-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@Suite struct StoreTests {
    @Test func treeDigestMatchesTheDocumentedManifest() throws {
        let d = scratchDir()
        defer { ContentStore.removeTree(d) }
        try "x\n".write(toFile: d + "/a", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: d + "/b", withIntermediateDirectories: true)
        try "y".write(toFile: d + "/b/c", atomically: false, encoding: .utf8)
        chmod(d + "/b/c", 0o755)
        try FileManager.default.createDirectory(atPath: d + "/empty", withIntermediateDirectories: true)
        // Reference from Python: sha256("a\0f\0" + sha256("x\n") + "\n" + "b/c\0x\0" + sha256("y") + "\n").
        let tree = try Digest.ofTree(d)
        #expect(tree.digest == "48af87648e4ad0f8e34235a5d43a186ccd789090c7ad3ee563afc026918bf4ee")
        #expect(tree.size == 3 && tree.files == 2)
        #expect(try Digest.ofTree(d + "/a").digest == "73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac")
    }

    @Test func commitMovesAReadOnlyTreeAndDeduplicates() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let store = ContentStore(root: root + "/cache")
        try store.prepare()
        func output(_ text: String) throws -> String {
            let dir = try store.makeScratch(stage: "s") + "/out"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/f", atomically: false, encoding: .utf8)
            return dir
        }
        let first = try store.commit(directory: try output("same"))
        #expect(store.hasObject(first.digest))
        #expect(access(store.objectPath(first.digest) + "/f", W_OK) != 0 || getuid() == 0)
        var st = stat()
        stat(store.objectPath(first.digest) + "/f", &st)
        #expect(st.st_mode & 0o222 == 0)
        let again = try output("same")
        #expect(try store.commit(directory: again).digest == first.digest)
        #expect(!FileManager.default.fileExists(atPath: again), "a duplicate output is discarded, not stored twice")
        #expect(store.allObjects() == [first.digest])
        #expect(store.verify(first.digest))
    }

    @Test func deadScratchIsRemovedLiveIsKept() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let store = ContentStore(root: root)
        try store.prepare()
        let mine = try store.makeScratch(stage: "live")
        let dead = store.tmpDir + "/999999999-gone-1"
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
        store.removeDeadScratch()
        #expect(FileManager.default.fileExists(atPath: mine))
        #expect(!FileManager.default.fileExists(atPath: dead))
    }

    @Test func actionEntryHitNeedsItsObjects() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let store = ContentStore(root: root)
        try store.prepare()
        let cache = ActionCache(store: store)
        let entry = ActionEntry(key: String(repeating: "ab", count: 32), stage: "s",
                                outputs: ["o": OutputFact(digest: String(repeating: "cd", count: 32), size: 3)], metrics: ["loss": 1.5], seconds: 2)
        try cache.record(entry)
        #expect(cache.lookup(entry.key) == nil, "objects missing: a miss")
        try FileManager.default.createDirectory(atPath: store.objectPath(String(repeating: "cd", count: 32)), withIntermediateDirectories: true)
        chmod(store.objectPath(String(repeating: "cd", count: 32)), 0o555)  // sealed: a complete object
        #expect(cache.lookup(entry.key)?.metrics == ["loss": 1.5])
        #expect(cache.allKeys() == [entry.key])
    }

    @Test func ledgerKeepsRunsMetricsAndFileStates() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let ledger = try Ledger(path: root + "/l.sqlite")
        try ledger.beginRun(id: "20260101-000000-aaaa", pipeline: "p.yaml", command: "run")
        try ledger.record(run: "20260101-000000-aaaa", stage: "sft", points: [.init(step: 1, name: "loss", value: 3), .init(step: 2, name: "loss", value: 2)])
        try ledger.finishRun(id: "20260101-000000-aaaa", status: "ok", lockfile: "/x/p.lock")
        #expect(try ledger.latestMetrics() == ["sft": ["loss": 2]])
        #expect(try ledger.series(stage: "sft")["loss"]?.map(\.1) == [3, 2])
        #expect(try ledger.findRun("20260101")?.status == "ok")
        #expect(try ledger.findRun("last")?.lockfile == "/x/p.lock")
        let state = Ledger.FileState(device: 1, inode: 2, size: 3, mtimeNs: 4)
        try ledger.saveFileStates(["/a": (state, String(repeating: "d", count: 64))])
        #expect(try ledger.fileStates()["/a"]?.0 == state)
    }
}
