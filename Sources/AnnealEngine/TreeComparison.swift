import Foundation

/// Where two output trees differ, for `repro`: the lock holds only a tree's digest, but the
/// original object may still be in the user's cache next to the rebuilt one.
enum TreeComparison {
    /// The first path, in sorted order, whose bytes, kind or executable bit differ between the
    /// trees, or that only one of them holds; nil when they hold the same files.
    static func firstDifference(original a: String, rebuilt b: String) -> String? {
        let fm = FileManager.default
        let pa = Set((try? fm.subpathsOfDirectory(atPath: a)) ?? [])
        let pb = Set((try? fm.subpathsOfDirectory(atPath: b)) ?? [])
        for p in pa.union(pb).sorted() {
            guard pa.contains(p) else { return "\(p) (only in the rebuilt output)" }
            guard pb.contains(p) else { return "\(p) (only in the original output)" }
            var x = stat(), y = stat()
            guard lstat(a + "/" + p, &x) == 0, lstat(b + "/" + p, &y) == 0 else { return p }
            if x.st_mode & S_IFMT != y.st_mode & S_IFMT { return "\(p) (a file in one, not in the other)" }
            switch x.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFREG:
                if (x.st_mode & 0o100) != (y.st_mode & 0o100) { return "\(p) (executable bit)" }
                if x.st_size != y.st_size || !fm.contentsEqual(atPath: a + "/" + p, andPath: b + "/" + p) { return p }
            default:
                if !fm.contentsEqual(atPath: a + "/" + p, andPath: b + "/" + p) { return p }
            }
        }
        return nil
    }
}
