import Foundation

/// Removing and sealing directory trees whatever their depth or permissions.
///
/// Both walk relative to directory descriptors (`openat`, `unlinkat`, `fchmodat`), never by
/// path strings: a stage may leave a tree deeper than `PATH_MAX` (4,096 bytes), which no
/// path-based call can reach. Only the current directory's descriptor is open; the walk goes
/// back up through `..`, checking that it arrives where it came from (device and inode), so
/// depth costs neither file descriptors nor stack.
public enum FileTree {
    /// Deletes a file or a tree, even one made read-only; a missing path is not an error.
    /// Returns false if something could not be removed.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return errno == ENOENT }
        guard st.st_mode & S_IFMT == S_IFDIR else { return unlink(path) == 0 || errno == ENOENT }
        chmod(path, 0o700)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return rmdir(path) == 0 }
        var ok = true
        walk(fd) { dirFD, name, isDirectory in
            if unlinkat(dirFD, name, isDirectory ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT { ok = false }
        }
        return rmdir(path) == 0 && ok
    }

    /// Removes every write bit below and at `path`, the top directory last (`ContentStore`
    /// reads a read-only top directory as "this object is complete"). Symlinks are left alone.
    public static func makeReadOnly(_ path: String) throws(StoreError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw .system(errno, "cannot seal \(path)") }
        if st.st_mode & S_IFMT == S_IFDIR {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw .system(errno, "cannot seal \(path)") }
            var failure: Int32 = 0
            walk(fd, entering: false) { dirFD, name, _ in
                var s = stat()
                guard fstatat(dirFD, name, &s, AT_SYMLINK_NOFOLLOW) == 0 else { failure = errno; return }
                if s.st_mode & S_IFMT != S_IFLNK, s.st_mode & 0o222 != 0, fchmodat(dirFD, name, s.st_mode & 0o7555, 0) != 0 {
                    failure = errno
                }
            }
            if failure != 0 { throw .system(failure, "cannot make \(path) read-only") }
        }
        if st.st_mode & S_IFMT != S_IFLNK, chmod(path, st.st_mode & 0o7555) != 0 {
            throw .system(errno, "cannot make \(path) read-only")
        }
    }

    /// Visits every entry below the directory open as `rootFD` (which it closes), children
    /// before their directory, calling `visit(parentFD, name, isDirectory)`. With `entering`
    /// (for removal) each directory is made writable before it is listed.
    static func walk(_ rootFD: Int32, entering: Bool = true, _ visit: (Int32, UnsafePointer<CChar>, Bool) -> Void) {
        struct Level {
            var name: [CChar]
            var device: UInt
            var inode: UInt
            var subdirectories: [[CChar]]
        }
        // Lists the directory open as `fd`: visits its files now, returns its subdirectories for later.
        func list(_ fd: Int32, name: [CChar]) -> (fd: Int32, level: Level)? {
            var st = stat()
            guard fstat(fd, &st) == 0 else { close(fd); return nil }
            var subdirectories: [[CChar]] = []
            let listing = dup(fd)
            guard listing >= 0, let dir = fdopendir(listing) else {
                if listing >= 0 { close(listing) }
                return (fd, Level(name: name, device: UInt(st.st_dev), inode: UInt(st.st_ino), subdirectories: []))
            }
            while let entry = readdir(dir) {
                let child = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 }) + [0]
                }
                if child == [46, 0] || child == [46, 46, 0] { continue }
                var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
                if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                    var s = stat()
                    isDirectory = fstatat(fd, child, &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_mode & S_IFMT == S_IFDIR
                }
                if isDirectory { subdirectories.append(child) } else { visit(fd, child, false) }
            }
            closedir(dir)
            return (fd, Level(name: name, device: UInt(st.st_dev), inode: UInt(st.st_ino), subdirectories: subdirectories))
        }
        guard let first = list(rootFD, name: []) else { return }
        var fd = first.fd
        var stack = [first.level]
        while true {
            if let next = stack[stack.count - 1].subdirectories.popLast() {
                // A stage may leave a directory without read or search permission.
                if entering { fchmodat(fd, next, 0o700, 0) }
                let child = openat(fd, next, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0, let (childFD, level) = list(child, name: next) else {
                    visit(fd, next, true)
                    continue
                }
                close(fd)
                fd = childFD
                stack.append(level)
            } else {
                guard stack.count > 1 else { close(fd); return }
                let done = stack.removeLast()
                let parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                close(fd)
                var st = stat()
                // Someone moved a directory while we walked: stop rather than act elsewhere.
                guard parent >= 0, fstat(parent, &st) == 0, UInt(st.st_dev) == stack[stack.count - 1].device,
                      UInt(st.st_ino) == stack[stack.count - 1].inode else {
                    if parent >= 0 { close(parent) }
                    return
                }
                fd = parent
                visit(fd, done.name, true)
            }
        }
    }
}

extension FileTree {
    /// A file name that is not UTF-8, in `directory`, as the user can find it: printable ASCII
    /// as is, every other byte as `\xHH`.
    struct NonUTF8Name: Error {
        var directory: String
        var escaped: String
        var description: String {
            "\(directory)/\(escaped): the file name is not valid UTF-8; Anneal records file names as UTF-8 text (in manifests, lockfiles and the ledger), so rename it"
        }
    }

    /// The names in `directory`, read as bytes: Foundation's listing replaces bytes that are not
    /// UTF-8 with U+FFFD, giving a name that does not exist (and a baffling "No such file").
    /// Errors show the directory as `shown` (relative to what the user named) if given.
    static func names(in directory: String, shown: String? = nil) throws(StoreError) -> [String] {
        guard let dir = opendir(directory) else { throw .system(errno, "cannot list \(directory)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [46] || bytes == [46, 46] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let escaped = bytes.map { $0 >= 0x20 && $0 < 0x7f ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
                throw .io(NonUTF8Name(directory: shown ?? directory, escaped: escaped).description)
            }
            names.append(name)
        }
        return names.sorted()
    }
}
