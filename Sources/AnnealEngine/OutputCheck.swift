import Foundation

/// What a stage may leave as an output, checked before the output is hashed and stored.
///
/// An output is a real directory of regular files, directories and symlinks that stay inside
/// it. Anything else is the stage's error, named: an output replaced by a symlink would store
/// the link (and a downstream stage would read whatever it points at, `/etc` say), one replaced
/// by a file would never be cached, a link out of the output would make the object depend on
/// files outside the store. A regular file with other hard links (`ln $input $output/f`) is
/// replaced by a copy first: sealing the object makes its files read-only, which must never
/// happen to the user's own file, and later edits of that file must not change the object.
enum OutputCheck {
    /// Symlink hops followed while resolving one link (the kernel's own limit is 40).
    static let maxHops = 40

    static func prepare(_ root: String, name: String) throws(StoreError) {
        var st = stat()
        guard lstat(root, &st) == 0 else {
            throw .output("output '\(name)' is missing: the stage removed its output directory \(root)")
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: root)) ?? "?"
            throw .output("output '\(name)' was replaced by a symbolic link to \(target); a stage writes files into its output directory")
        case S_IFREG:
            throw .output("output '\(name)' was replaced by a regular file; a stage writes files into its output directory")
        default:
            throw .output("output '\(name)' is not a directory; a stage writes files into its output directory")
        }
        try check(root, relative: [], root: root, name: name)
    }

    private static func check(_ path: String, relative: [String], root: String, name: String) throws(StoreError) {
        let entries: [String]
        do { entries = try FileTree.names(in: path, shown: ([name] + relative).joined(separator: "/")) } catch {
            throw .output("output '\(name)': \(error)")
        }
        for entry in entries {
            let full = path + "/" + entry
            let inside = relative + [entry]
            var st = stat()
            guard lstat(full, &st) == 0 else { throw .system(errno, "cannot stat \(full)") }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try check(full, relative: inside, root: root, name: name)
            case S_IFREG:
                if st.st_nlink > 1 { try breakHardLink(full, mode: st.st_mode) }
            case S_IFLNK:
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? ""
                guard staysInside(root: root, linkDirectory: relative, target: target) else {
                    throw .output("output '\(name)': symbolic link \(inside.joined(separator: "/")) -> \(target) points outside the output; outputs hold only their own files")
                }
            default:
                throw .output("output '\(name)': \(inside.joined(separator: "/")) is neither a file, a directory nor a symbolic link")
            }
        }
    }

    /// Resolves `target` (of a link in `linkDirectory`, relative to `root`) through the links
    /// inside the output, component by component as the kernel would; false as soon as it
    /// leaves `root`. Absolute targets always leave it: the object moves after this check.
    static func staysInside(root: String, linkDirectory: [String], target: String) -> Bool {
        var at = linkDirectory
        var pending = ArraySlice(target.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
        guard !target.hasPrefix("/") else { return false }
        var hops = 0
        while let part = pending.first {
            pending = pending.dropFirst()
            if part.isEmpty || part == "." { continue }
            if part == ".." {
                guard !at.isEmpty else { return false }
                at.removeLast()
                continue
            }
            at.append(part)
            var st = stat()
            let path = root + "/" + at.joined(separator: "/")
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { continue }
            hops += 1
            guard hops <= maxHops, let next = try? FileManager.default.destinationOfSymbolicLink(atPath: path),
                  !next.hasPrefix("/") else { return false }
            at.removeLast()
            pending = ArraySlice(next.split(separator: "/", omittingEmptySubsequences: false).map(String.init)) + pending
        }
        return true
    }

    /// Replaces a hard-linked file by a private copy with the same mode.
    private static func breakHardLink(_ path: String, mode: mode_t) throws(StoreError) {
        let copy = "\(path).anneal-copy-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        } catch {
            unlink(copy)
            throw .io("cannot copy the hard-linked output file \(path): \(error.localizedDescription)")
        }
        chmod(copy, mode & 0o7777)
        guard rename(copy, path) == 0 else {
            let code = errno
            unlink(copy)
            throw .system(code, "cannot replace the hard-linked output file \(path)")
        }
    }
}
