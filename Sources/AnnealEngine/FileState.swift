import Foundation

/// A file's device, inode, size and mtime: what the stat cache trusts a digest for, and what a
/// no-op memo rechecks instead of reading a file.
public struct FileState: Sendable, Equatable {
    public var device: Int64
    public var inode: Int64
    public var size: Int64
    public var mtimeNs: Int64

    public init(device: Int64, inode: Int64, size: Int64, mtimeNs: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNs = mtimeNs
    }

    init(_ st: stat) {
        self.init(device: Int64(st.st_dev), inode: Int64(st.st_ino), size: Int64(st.st_size),
                  mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }
}
