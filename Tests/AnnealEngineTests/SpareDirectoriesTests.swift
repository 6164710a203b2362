@testable import AnnealEngine
import Foundation
import Testing

/// Directories a run reuses: only an empty directory of ours with a fresh directory's mode
/// comes back; anything else is deleted, and nothing is left after `removeAll`.
struct SpareDirectoriesTests {
    func tmp() throws -> String {
        let dir = NSTemporaryDirectory() + "anneal-spares-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func inode(_ path: String) -> UInt64? {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    @Test func anEmptiedDirectoryIsRenamedToTheNextOneNeeded() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let spares = SpareDirectories(tmpDir: dir)
        try spares.make(dir + "/a")
        let first = inode(dir + "/a")
        spares.recycle(dir + "/a")
        #expect(inode(dir + "/a") == nil)
        #expect(spares.count == 1)
        try spares.make(dir + "/b")
        #expect(inode(dir + "/b") == first, "the spare was renamed, not a new directory made")
        #expect(spares.count == 0)
        #expect(try FileTree.names(in: dir + "/b").isEmpty)
    }

    @Test func whatIsNotAFreshEmptyDirectoryIsDeleted() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let spares = SpareDirectories(tmpDir: dir)
        try spares.make(dir + "/full")
        FileManager.default.createFile(atPath: dir + "/full/left", contents: Data("x".utf8))
        spares.recycle(dir + "/full")
        try spares.make(dir + "/locked")
        chmod(dir + "/locked", 0o700)
        spares.recycle(dir + "/locked")
        try FileManager.default.createDirectory(atPath: dir + "/target", withIntermediateDirectories: false)
        symlink(dir + "/target", dir + "/link")
        spares.recycle(dir + "/link")
        #expect(spares.count == 0)
        #expect(inode(dir + "/full") == nil && inode(dir + "/locked") == nil && inode(dir + "/link") == nil)
        #expect(inode(dir + "/target") != nil, "a link is removed, never followed")
    }

    @Test func removeAllLeavesNoSpare() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let spares = SpareDirectories(tmpDir: dir)
        for name in ["a", "b", "c"] { try spares.make(dir + "/" + name) }
        for name in ["a", "b", "c"] { spares.recycle(dir + "/" + name) }
        #expect(try FileTree.names(in: dir).count == 3)
        spares.removeAll()
        #expect(try FileTree.names(in: dir).isEmpty)
    }

    @Test func aMissingParentIsMade() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let spares = SpareDirectories(tmpDir: dir)
        try spares.make(dir + "/state/key")
        #expect(inode(dir + "/state/key") != nil)
    }

    /// A scratch's `params.json` stays in its spare and keeps its inode when the next stage's
    /// parameters are written; replaced by a link, or chmod-ed, it is removed instead.
    @Test func theKeptFileStaysOnlyAsAPlainFileOfOurs() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let victim = dir + "/victim"
        try "mine".write(toFile: victim, atomically: false, encoding: .utf8)
        let spares = SpareDirectories(tmpDir: dir, keeping: "params.json")
        try spares.make(dir + "/a")
        try writePrivateFile(Array("{}".utf8), to: dir + "/a/params.json", durable: false)
        let file = inode(dir + "/a/params.json")
        spares.recycle(dir + "/a")
        try spares.make(dir + "/b")
        #expect(inode(dir + "/b/params.json") == file)
        try writePrivateFile(Array("{\"x\": 1}".utf8), to: dir + "/b/params.json", durable: false)
        #expect(inode(dir + "/b/params.json") == file)
        #expect(try String(contentsOfFile: dir + "/b/params.json", encoding: .utf8) == "{\"x\": 1}")

        unlink(dir + "/b/params.json")
        symlink(victim, dir + "/b/params.json")
        spares.recycle(dir + "/b")
        try spares.make(dir + "/c")
        #expect(try FileTree.names(in: dir + "/c").isEmpty, "the link was removed, the directory kept")
        try writePrivateFile(Array("{}".utf8), to: dir + "/c/params.json", durable: false)
        chmod(dir + "/c/params.json", 0o600)
        spares.recycle(dir + "/c")
        try spares.make(dir + "/d")
        #expect(try FileTree.names(in: dir + "/d").isEmpty)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "mine")
    }

    /// Parameters are written in place, but never through a symbolic or hard link.
    @Test func aPrivateFileIsNeverWrittenThroughALink() throws {
        let dir = try tmp()
        defer { FileTree.remove(dir) }
        let victim = dir + "/victim"
        try "mine".write(toFile: victim, atomically: false, encoding: .utf8)
        symlink(victim, dir + "/soft")
        link(victim, dir + "/hard")
        for name in ["soft", "hard"] {
            try writePrivateFile(Array("{}".utf8), to: dir + "/" + name, durable: false)
            #expect(try String(contentsOfFile: dir + "/" + name, encoding: .utf8) == "{}")
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "mine")
    }
}
