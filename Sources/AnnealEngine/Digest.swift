import Crypto
import Foundation

/// SHA-256 digests of files and directory trees, as lowercase hex.
///
/// A tree's digest is the SHA-256 of its manifest: one line per regular file or symlink,
/// sorted by relative path (bytewise), `path\0kind\0digest\n` where kind is `x` for an
/// executable file, `f` for another file and `l` for a symlink (whose digest is that of its
/// target text). Empty directories do not count; timestamps and owners never do. Workspace
/// inputs follow their symlinks instead (`InputTree`): a stage reads the target, not the link.
public enum Digest {
    public static func of(_ data: some DataProtocol) -> String { hex(SHA256.hash(data: data)) }

    public static func of(string: String) -> String { of(Data(string.utf8)) }

    /// True for exactly 64 lowercase hex digits: the only digests that may become paths in
    /// the store. Digests read from files (action entries, lockfiles) are checked with it.
    public static func isValid(_ s: String) -> Bool {
        var count = 0
        for b in s.utf8 {
            guard (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) else { return false }
            count += 1
        }
        return count == 64
    }

    static func hex(_ d: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 64) { out in
            var i = 0
            for b in d {
                out[i] = digits[Int(b >> 4)]
                out[i + 1] = digits[Int(b & 15)]
                i += 2
            }
            return 64
        }
    }

    /// Streams the file in 1 MiB reads so large shards never sit whole in memory.
    public static func ofFile(_ path: String) throws(StoreError) -> (digest: String, size: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(errno, "cannot read \(path)") }
        defer { close(fd) }
        var hasher = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(errno, "cannot read \(path)")
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return (hex(hasher.finalize()), total)
    }

    public struct TreeEntry: Sendable {
        public var path: String
        public var kind: Character
        public var digest: String
        public var size: Int64
    }

    /// Digest of a file or a directory tree. `fileDigest` lets callers reuse known digests
    /// (the stat cache) instead of re-reading unchanged files.
    public static func ofTree(_ root: String,
                              fileDigest: (String, stat) throws(StoreError) -> (String, Int64) = { p, _ throws(StoreError) in try ofFile(p) })
        throws(StoreError) -> (digest: String, size: Int64, files: Int) {
        var entries: [TreeEntry] = []
        try collect(root, relative: "", into: &entries, fileDigest: fileDigest)
        return ofEntries(entries)
    }

    /// The digest of collected entries: a lone entry with an empty path is a file (its own
    /// digest), anything else a tree (the digest of its manifest).
    static func ofEntries(_ entries: [TreeEntry]) -> (digest: String, size: Int64, files: Int) {
        var entries = entries
        if entries.count == 1, entries[0].path.isEmpty { return (entries[0].digest, entries[0].size, 1) }
        entries.sort { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var manifest = ""
        var size: Int64 = 0
        for e in entries {
            manifest += "\(e.path)\0\(e.kind)\0\(e.digest)\n"
            size += e.size
        }
        return (of(string: manifest), size, entries.count)
    }

    private static func collect(_ path: String, relative: String, into entries: inout [TreeEntry],
                                fileDigest: (String, stat) throws(StoreError) -> (String, Int64)) throws(StoreError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw .system(errno, "cannot stat \(path)") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            for name in try FileTree.names(in: path) {
                try collect(path + "/" + name, relative: relative.isEmpty ? name : relative + "/" + name,
                            into: &entries, fileDigest: fileDigest)
            }
        case S_IFREG:
            let (d, n) = try fileDigest(path, st)
            entries.append(TreeEntry(path: relative, kind: st.st_mode & 0o111 != 0 ? "x" : "f", digest: d, size: n))
        case S_IFLNK:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
            entries.append(TreeEntry(path: relative, kind: "l", digest: of(string: target), size: 0))
        default:
            throw .io("\(path) is neither a file, a directory nor a symlink; stage outputs hold only those")
        }
    }
}
