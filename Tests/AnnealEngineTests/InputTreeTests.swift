@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// Workspace inputs are hashed as their stage reads them: through symlinks.
@Suite struct InputTreeTests {
    func tree(_ root: String, stats: StatCache = StatCache()) -> InputTree {
        InputTree(root: WorkspaceLinks.realPath(root)!, input: "docs", stage: "s") { p, st throws(StoreError) in try stats.fileDigest(p, st) }
    }

    func write(_ path: String, _ text: String) {
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    @Test func aLinkedFileIsHashedByItsTargetsContent() throws {
        let ws = WorkspaceLinks.realPath(scratchDir())!
        defer { ContentStore.removeTree(ws) }
        write(ws + "/real.txt", "one\n")
        try FileManager.default.createSymbolicLink(atPath: ws + "/link.txt", withDestinationPath: "real.txt")
        let before = try tree(ws).fact(of: ws + "/link.txt", shown: "link.txt")
        #expect(before.digest == (try Digest.ofFile(ws + "/real.txt")).digest)
        #expect(before.size == 4)
        write(ws + "/real.txt", "two!\n")
        #expect(try tree(ws).fact(of: ws + "/link.txt", shown: "link.txt").digest != before.digest)
    }

    @Test func aDirectoryWithLinksHashesLikeOneWithCopies() throws {
        let ws = WorkspaceLinks.realPath(scratchDir())!
        defer { ContentStore.removeTree(ws) }
        write(ws + "/src/a.txt", "a\n")
        write(ws + "/src/sub/b.txt", "b\n")
        write(ws + "/copy/a.txt", "a\n")
        write(ws + "/copy/sub/b.txt", "b\n")
        try FileManager.default.createDirectory(atPath: ws + "/linked", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: ws + "/linked/a.txt", withDestinationPath: "../src/a.txt")
        try FileManager.default.createSymbolicLink(atPath: ws + "/linked/sub", withDestinationPath: ws + "/src/sub")
        let copy = try tree(ws).fact(of: ws + "/copy", shown: "copy")
        #expect(try tree(ws).fact(of: ws + "/linked", shown: "linked") == copy)
        #expect(copy.digest == (try Digest.ofTree(ws + "/copy")).digest, "an input without links keeps its digest")
    }

    @Test func linksOutsideTheWorkspaceAreRefused() throws {
        let base = WorkspaceLinks.realPath(scratchDir())!
        defer { ContentStore.removeTree(base) }
        let ws = base + "/ws"
        write(ws + "/data/ok.txt", "ok\n")
        write(base + "/secret.txt", "secret\n")
        try FileManager.default.createSymbolicLink(atPath: ws + "/data/evil", withDestinationPath: base + "/secret.txt")
        #expect(throws: StoreError.self) { try tree(ws).fact(of: ws + "/data", shown: "data") }
        let error = #expect(throws: StoreError.self) { try tree(ws).fact(of: ws + "/data/evil", shown: "data/evil") }
        #expect(error?.description == "input 'docs' of stage 's': symlink data/evil points to \(base)/secret.txt, outside the workspace; copy the data into the workspace, or link to a file inside it")
    }

    @Test func theStatCacheSeesAnEditOfTheTargetAndNothingElse() throws {
        let ws = WorkspaceLinks.realPath(scratchDir())!
        defer { ContentStore.removeTree(ws) }
        write(ws + "/real.txt", "one\n")
        // Old enough for the stat cache to remember it (racy-clean rule: 2 s).
        var old = timespec(tv_sec: time(nil) - 60, tv_nsec: 0)
        var times = [old, old]
        utimensat(AT_FDCWD, ws + "/real.txt", &times, 0)
        try FileManager.default.createSymbolicLink(atPath: ws + "/link.txt", withDestinationPath: "real.txt")
        let stats = StatCache()
        let first = try tree(ws, stats: stats).fact(of: ws + "/link.txt", shown: "link.txt")
        _ = try tree(ws, stats: stats).fact(of: ws + "/link.txt", shown: "link.txt")
        #expect(stats.filesHashed == 1)
        write(ws + "/real.txt", "changed\n")
        old.tv_sec += 1
        times = [old, old]
        utimensat(AT_FDCWD, ws + "/real.txt", &times, 0)
        let second = try tree(ws, stats: stats).fact(of: ws + "/link.txt", shown: "link.txt")
        #expect(stats.filesHashed == 2)
        #expect(second.digest != first.digest)
    }
}
