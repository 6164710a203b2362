import Foundation

/// What `anneal gc` removes of the Swift plugin builds (`cache/plugins-build`): every binary
/// of a plugin but its newest (each edit of a plugin's sources or of Anneal's libraries
/// publishes a new one, tens of MB), and the whole build — SwiftPM's scratch, hundreds of MB —
/// of a plugin whose directory no longer exists. A build in progress (its lock held) is left
/// alone; removing any of it costs at most a rebuild.
extension SwiftPluginBuild {
    public struct Pruned: Sendable {
        public var paths: [String] = []
        public var bytes: Int64 = 0
    }

    /// Where a build came from, recorded so gc can tell when its plugin is gone.
    static let sourceRecord = "source"

    func recordSource() {
        let path = root + "/" + Self.sourceRecord
        guard !FileManager.default.fileExists(atPath: path) else { return }
        try? (pluginDirectory + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    public static func prune(builds: String, dryRun: Bool) -> Pruned {
        var pruned = Pruned()
        let roots = ((try? FileTree.names(in: builds)) ?? []).filter { !$0.hasPrefix(".") }
        for name in roots {
            let root = builds + "/" + name
            var st = stat()
            guard lstat(root, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            let lock = open(root + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard lock >= 0 else { continue }
            defer { close(lock) }
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }  // being built: not now
            defer { flock(lock, LOCK_UN) }
            if let source = try? String(contentsOfFile: root + "/" + sourceRecord, encoding: .utf8),
               case let plugin = source.trimmingCharacters(in: .newlines), !plugin.isEmpty,
               !FileManager.default.fileExists(atPath: plugin + "/stage.yaml") {
                remove(root, dryRun: dryRun, into: &pruned)
                continue
            }
            let bin = root + "/bin"
            let binaries = ((try? FileTree.names(in: bin)) ?? []).compactMap { entry -> (String, Int)? in
                var s = stat()
                guard lstat(bin + "/" + entry, &s) == 0 else { return nil }
                return (entry, Int(s.st_mtim.tv_sec))
            }
            // Newest first; a killed publish's `.tmp-…` is never the one kept.
            let ordered = binaries.sorted { ($0.0.hasPrefix(".") ? 0 : 1, $0.1, $0.0) > ($1.0.hasPrefix(".") ? 0 : 1, $1.1, $1.0) }
            for (entry, _) in ordered.dropFirst() { remove(bin + "/" + entry, dryRun: dryRun, into: &pruned) }
            if let only = ordered.first, only.0.hasPrefix(".") { remove(bin + "/" + only.0, dryRun: dryRun, into: &pruned) }
        }
        return pruned
    }

    private static func remove(_ path: String, dryRun: Bool, into pruned: inout Pruned) {
        pruned.paths.append(path)
        pruned.bytes += diskBytes(path)
        if !dryRun { FileTree.remove(path) }
    }

    private static func diskBytes(_ path: String) -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var st = stat()
        if lstat(path, &st) == 0 { total += Int64(st.st_size) }
        while let entry = walker.nextObject() as? String {
            if lstat(path + "/" + entry, &st) == 0, st.st_mode & S_IFMT == S_IFREG { total += Int64(st.st_size) }
        }
        return total
    }
}
