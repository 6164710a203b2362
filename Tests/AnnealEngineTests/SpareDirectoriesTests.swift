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
}
