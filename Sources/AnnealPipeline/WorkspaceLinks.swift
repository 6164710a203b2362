import Foundation

/// Symlinks in `{file: …}` inputs. A stage reads through every link, so each one must land
/// inside the workspace: a link to `/etc/passwd` in a data directory would hand the stage
/// (and the cache, and whoever reads its outputs) a file the pipeline's author never chose.
///
/// Checked three times: when the pipeline is validated (exit 2), when the input is hashed,
/// and again just before the stage starts (a link swapped in meanwhile fails the stage).
public enum WorkspaceLinks {
    /// A symlink at or under an input that the stage must not follow.
    public struct Escape: Sendable, Equatable, CustomStringConvertible {
        public enum Problem: Sendable, Equatable {
            /// Resolves to this absolute path, outside the workspace.
            case outside(String)
            /// Its target (this link text) does not exist.
            case dangling(String)
            /// Leads back to a directory that contains it.
            case loop
        }

        /// The link's path as the user wrote the input, plus the path under it.
        public var link: String
        public var problem: Problem

        public init(link: String, problem: Problem) {
            self.link = link
            self.problem = problem
        }

        public var description: String {
            switch problem {
            case .outside(let target): "symlink \(link) points to \(target), outside the workspace"
            case .dangling(let text): "symlink \(link) points to \(text), which does not exist"
            case .loop: "symlink \(link) points to a directory that contains it"
            }
        }

        /// The error a run reports for it.
        public func refusal(input: String, stage: String) -> String {
            "input '\(input)' of stage '\(stage)': \(self); copy the data into the workspace, or link to a file inside it"
        }
    }

    /// The real path of `path` (every link resolved), or nil if it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    public static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// Why `link` (a symlink) must not be followed, or nil if it resolves inside `root`.
    /// `root` is the workspace's real path.
    public static func check(link: String, root: String) -> Escape.Problem? {
        check(link: Array(link.utf8CString), root: root)
    }

    /// Works on bytes: a file name need not be UTF-8, and a name read as a lossy `String`
    /// would name another file (or none) and hide the link.
    static func check(link: [CChar], root: String) -> Escape.Problem? {
        guard let resolved = realpath(link, nil) else {
            var text = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(link, &text, Int(PATH_MAX))
            return .dangling(n > 0 ? String(decoding: text.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")
        }
        defer { free(resolved) }
        let target = String(cString: resolved)
        return isInside(target, root: root) ? nil : .outside(target)
    }

    /// The first link at or under `path` (absolute) that escapes `root` (the workspace's real
    /// path), dangles or loops; `shown` is how errors name `path` (the input as written).
    /// Reads directories with `readdir`, whose entry types spare a `stat` per file: a corpus
    /// of 20,000 files costs a few `getdents` calls.
    public static func firstEscape(under path: String, shown: String, root: String) -> Escape? {
        if let e = escapeOnTheWay(to: path, root: root) { return e }
        var ancestors: Set<DirectoryID> = []
        return walk(Array(path.utf8CString), shown: shown, root: root, ancestors: &ancestors)
    }

    /// A linked directory on the way to `path` (`data/ext/x.txt` with `data/ext -> /etc`)
    /// that escapes or dangles, named relative to `root`. `path` is lexically under `root`.
    public static func escapeOnTheWay(to path: String, root: String) -> Escape? {
        guard path.hasPrefix(root + "/") else { return nil }
        let parts = path.dropFirst(root.count + 1).split(separator: "/").dropLast()
        var prefix = root
        for (i, part) in parts.enumerated() {
            prefix += "/" + part
            var st = stat()
            guard lstat(prefix, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let problem = check(link: prefix, root: root) else { continue }
            return Escape(link: parts.prefix(i + 1).joined(separator: "/"), problem: problem)
        }
        return nil
    }

    /// A directory's identity, to notice a link back to a directory being walked.
    public struct DirectoryID: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64

        public init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// `path` is a NUL-terminated byte path; `shown` its (possibly lossy) name for errors.
    private static func walk(_ path: [CChar], shown: String, root: String, ancestors: inout Set<DirectoryID>) -> Escape? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }  // vanished: the caller's existence check reports it
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            if let problem = check(link: path, root: root) { return Escape(link: shown, problem: problem) }
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return nil }
            if ancestors.contains(DirectoryID(st)) { return Escape(link: shown, problem: .loop) }
        case S_IFDIR:
            break
        default:
            return nil
        }
        let directory = DirectoryID(st)
        ancestors.insert(directory)
        defer { ancestors.remove(directory) }
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        let parent = path.dropLast()  // its NUL
        while let entry = readdir(dir) {
            let type = Int32(entry.pointee.d_type)
            // Regular files and the like cannot lead anywhere; DT_UNKNOWN (some file systems)
            // is looked at with lstat by the recursive call.
            guard type == Int32(DT_LNK) || type == Int32(DT_DIR) || type == Int32(DT_UNKNOWN) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let child = Array(parent) + [0x2F] + name.map { CChar(bitPattern: $0) } + [0]
            let childShown = shown + "/" + String(decoding: name, as: UTF8.self)
            if let e = walk(child, shown: childShown, root: root, ancestors: &ancestors) { return e }
        }
        return nil
    }
}
