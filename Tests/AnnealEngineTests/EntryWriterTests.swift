@testable import AnnealEngine
import Foundation
import Testing

/// Action entries written behind a durability point: the flush comes before the entry is on
/// disk (so an entry never outlives a power cut that its objects did not), the run is served
/// its own unwritten entries, and resume state goes only once the entry is written.
struct EntryWriterTests {
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(entryOnDisk: Bool, stateLeft: Bool)] = []
        func add(_ e: (Bool, Bool)) { lock.withLock { seen.append(e) } }
        var all: [(entryOnDisk: Bool, stateLeft: Bool)] { lock.withLock { seen } }
    }

    @Test func entriesAreWrittenAfterTheirObjectsAreFlushedAndBeforeTheStateGoes() throws {
        let root = NSTemporaryDirectory() + "anneal-entries-" + UUID().uuidString
        defer { FileTree.remove(root) }
        let store = ContentStore(root: root)
        try store.prepare()
        let out = store.tmpDir + "/1-s-1/o"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "v\n".write(toFile: out + "/v", atomically: false, encoding: .utf8)
        let object = try store.commit(directory: out, output: "o")
        let key = String(repeating: "ab", count: 32)
        _ = try store.makeStateDirectory(key: key)

        let actions = ActionCache(store: store)
        let events = Events()
        let writer = EntryWriter(actions: actions, spares: SpareDirectories(tmpDir: store.tmpDir), interval: 0) { _ in
            events.add((FileManager.default.fileExists(atPath: actions.path(key)),
                        FileManager.default.fileExists(atPath: store.stateDirectory(key: key))))
        }
        let entry = ActionEntry(key: key, stage: "s", outputs: ["o": OutputFact(digest: object.digest, size: object.size)],
                                metrics: [:], seconds: 0.1)
        writer.add(entry)
        #expect(writer.entry(key)?.outputs == entry.outputs || actions.lookup(key) != nil, "served before it is written")
        let failed = writer.finish()
        #expect(failed.isEmpty)
        let seen = events.all
        #expect(seen.count == 2, "one flush for the batch, one at the end")
        #expect(seen.first?.entryOnDisk == false && seen.first?.stateLeft == true, "the batch's flush came before its entry")
        #expect(seen.last?.entryOnDisk == true && seen.last?.stateLeft == false, "the last flush makes the entry durable")
        #expect(actions.lookup(key)?.outputs == entry.outputs)
        #expect(writer.entry(key) == nil)
    }

    @Test func anEntryThatCannotBeWrittenIsReturned() throws {
        let root = NSTemporaryDirectory() + "anneal-entries-" + UUID().uuidString
        defer { FileTree.remove(root) }
        let store = ContentStore(root: root)
        try store.prepare()
        // `actions/` is a file: no entry can be written under it.
        FileTree.remove(store.actionsDir)
        try "".write(toFile: store.actionsDir, atomically: false, encoding: .utf8)
        let writer = EntryWriter(actions: ActionCache(store: store), spares: SpareDirectories(tmpDir: store.tmpDir), interval: 0) { _ in }
        let key = String(repeating: "cd", count: 32)
        writer.add(ActionEntry(key: key, stage: "s", outputs: [:], metrics: [:], seconds: 0))
        let failed = writer.finish()
        #expect(failed.map(\.entry.key) == [key])
    }
}
