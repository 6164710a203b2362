import Foundation

/// Resume scratch: `cache/state/<action key>/`, passed to the stage as `ANNEAL_STATE_DIR`.
/// The runner creates it before a launch, keeps it when the stage fails or is killed (so the
/// next attempt at the same key, and only that one, can resume from what the stage saved
/// there) and deletes it once the outputs are committed. Nothing in it is hashed: a stage
/// must produce the same output bytes whether or not it resumed.
extension ContentStore {
    public var stateDir: String { root + "/state" }

    public func stateDirectory(key: String) -> String { "\(stateDir)/\(key)" }

    func makeStateDirectory(key: String) throws -> String {
        let dir = stateDirectory(key: key)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The state directory for `key`: an earlier attempt's, or a new one (a spare renamed there).
    func makeStateDirectory(key: String, from spares: SpareDirectories) throws(StoreError) -> String {
        let dir = stateDirectory(key: key)
        var st = stat()
        if lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return dir }
        try spares.make(dir)
        return dir
    }

    func removeStateDirectory(key: String) {
        ContentStore.removeTree(stateDirectory(key: key))
    }

    /// After a commit: an empty state directory (the usual case) goes back to the spares.
    func removeStateDirectory(key: String, into spares: SpareDirectories) {
        spares.recycle(stateDirectory(key: key))
    }
}

extension ContentStore {
    /// Keys that have resume scratch (names that are not digests are skipped, never followed).
    func stateKeys() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []).filter(Digest.isValid).sorted()
    }
}

