import AnnealPipeline
import Foundation

/// A `{file: …}` input hashed as its stage reads it: every symlink is followed, so a linked
/// file counts by its target's bytes (editing the target reruns the stage) and a linked
/// directory by its contents. Each link must resolve inside the workspace; one that escapes,
/// dangles or loops is an error naming the input and the link.
///
/// The digest is the one `Digest.ofTree` gives a copy of the input with the links replaced by
/// what they point to, so an input without links keeps the digest it always had.
struct InputTree {
    /// The workspace's real path.
    let root: String
    let input: String
    let stage: String
    let fileDigest: (String, stat) throws(StoreError) -> (String, Int64)

    /// `path` is absolute, lexically inside the workspace; `shown` names it in errors.
    func fact(of path: String, shown: String) throws(StoreError) -> OutputFact {
        if let e = WorkspaceLinks.escapeOnTheWay(to: path, root: root) { throw refused(e) }
        var entries: [Digest.TreeEntry] = []
        var ancestors: Set<WorkspaceLinks.DirectoryID> = []
        try collect(path, shown: shown, relative: "", ancestors: &ancestors, into: &entries)
        let tree = Digest.ofEntries(entries)
        return OutputFact(digest: tree.digest, size: tree.size)
    }

    /// `shown` names the input's top in errors; a path under it is `shown/relative`, built
    /// only for an error (no string per file on the no-op path).
    private func collect(_ path: String, shown: String, relative: String, ancestors: inout Set<WorkspaceLinks.DirectoryID>,
                         into entries: inout [Digest.TreeEntry]) throws(StoreError) {
        var named: String { relative.isEmpty ? shown : shown + "/" + relative }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw .io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        if st.st_mode & S_IFMT == S_IFLNK {
            if let problem = WorkspaceLinks.check(link: path, root: root) {
                throw refused(WorkspaceLinks.Escape(link: named, problem: problem))
            }
            // The stat cache keys on the target's device, inode, size and mtime, so an edit
            // of the target is seen without re-reading the unchanged ones.
            guard stat(path, &st) == 0 else { throw .io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            let id = WorkspaceLinks.DirectoryID(st)
            if ancestors.contains(id) { throw refused(WorkspaceLinks.Escape(link: named, problem: .loop)) }
            ancestors.insert(id)
            defer { ancestors.remove(id) }
            for name in try FileTree.names(in: path, shown: relative.isEmpty ? shown : shown + "/" + relative) {
                try collect(path + "/" + name, shown: shown, relative: relative.isEmpty ? name : relative + "/" + name,
                            ancestors: &ancestors, into: &entries)
            }
        case S_IFREG:
            let (d, n) = try fileDigest(path, st)
            entries.append(Digest.TreeEntry(path: relative, kind: st.st_mode & 0o111 != 0 ? "x" : "f", digest: d, size: n))
        default:
            throw .io("input '\(input)' of stage '\(stage)': \(named) is neither a file nor a directory")
        }
    }

    private func refused(_ e: WorkspaceLinks.Escape) -> StoreError {
        .io(e.refusal(input: input, stage: stage))
    }
}
