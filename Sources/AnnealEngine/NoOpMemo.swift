import AnnealPipeline
import Foundation

/// What the last full, successful `anneal run` of a pipeline found: every stage cached or
/// committed, by key, with the `stat` of each action entry and `{file:}` input it relied on.
/// Kept in `cache/noop/`, one file per (workspace, pipeline, `--set` values, cache).
///
/// The next `run` or `status` checks it with `stat` calls and two small hashes — the pipeline's
/// bytes, the lockfile's bytes, every input's device/inode/size/mtime (the stat cache's own
/// test), every action entry's, every output object's presence, the binary's — and when all
/// hold reports every stage cached without parsing the pipeline, computing keys or reading an
/// action entry (ninja's log plays this part). Anything that differs, and a memo that is
/// missing, damaged or foreign, sends the command down the ordinary path, which decides the
/// same thing the slow way. Nothing in the memo is ever trusted to name a file outside the
/// store: its digests and keys are checked as digests, and it only ever *skips* work.
public struct NoOpMemo: Sendable, Equatable {
    public struct Input: Sendable, Equatable {
        public var path: String
        public var state: FileState
    }

    public struct Stage: Sendable, Equatable {
        public var name: String
        public var key: String
        /// The action entry's `stat` when the run read or wrote it: a rewritten entry (a forced
        /// rerun of a stage that does not reproduce its bytes) no longer matches.
        public var entry: FileState
        /// The entry's outputs and metrics, as `run --json` shows a cached stage's.
        public var outputs: [String: OutputFact]
        public var metrics: [String: Double]
    }

    /// A stage's summary file (`StageSchema.summaryFile`), which `run` prints at the end.
    public struct Summary: Sendable, Equatable {
        public var stage: String
        public var file: String
        public var path: String
    }

    public var identity: String
    public var pipelineDigest: String
    /// Digest of the lockfile's bytes as the run left them; nil: the run wrote none.
    public var lockDigest: String?
    public var lockfile: String
    public var executable: FileState
    public var fingerprint: String
    /// The pipeline's own `executor:` (nil: none): a run without `--executor` uses it.
    public var executor: String?
    /// The run's parameters as the ledger records them (`RunParameters`).
    public var params: String
    public var inputs: [Input]
    public var stages: [Stage]
    public var summaries: [Summary]

    public static let header = "anneal-noop-memo 1"

    /// The memo's file: named by the digest of everything that picks it.
    public static func path(store: ContentStore, identity: String) -> String {
        store.root + "/noop/" + Digest.of(string: identity).prefix(32)
    }

    /// The workspace, the pipeline as named, the `--set` values and the cache, in one string.
    public static func identity(workspace: String, pipeline: String, overrides: [String], cache: String) -> String {
        ([workspace, pipeline, cache] + overrides).joined(separator: "\u{0}")
    }

    /// The memo for `identity`, or nil when there is none or it cannot be trusted.
    public static func load(store: ContentStore, identity: String) -> NoOpMemo? {
        guard let bytes = readFileBytes(path(store: store, identity: identity)),
              let memo = parse(bytes), memo.identity == identity else { return nil }
        return memo
    }

    public func write(store: ContentStore) {
        let dir = store.root + "/noop"
        if mkdir(dir, 0o755) != 0, errno != EEXIST { return }
        // Not flushed: a memo lost or torn in a crash fails its checksum, and the run decides
        // the slow way.
        try? writeAtomically(encoded(), to: Self.path(store: store, identity: identity), durable: false)
    }

    /// Removes `identity`'s memo: the run that would replace it could not vouch for every stage.
    public static func remove(store: ContentStore, identity: String) {
        unlink(path(store: store, identity: identity))
    }
}

// MARK: - Checking

extension NoOpMemo {
    /// What the command sees now, to compare with the memo.
    public struct Now: Sendable {
        public var pipelineDigest: String
        public var lockDigest: String?
        public var fingerprint: String
        /// The executor `--executor` names, if any.
        public var executorOption: String?
        public var workspace: String

        public init(pipelineDigest: String, lockDigest: String?, fingerprint: String, executorOption: String?, workspace: String) {
            self.pipelineDigest = pipelineDigest
            self.lockDigest = lockDigest
            self.fingerprint = fingerprint
            self.executorOption = executorOption
            self.workspace = workspace
        }
    }

    /// What `pipelineFile` and its lockfile hold now; nil when either cannot be read (a
    /// missing lockfile is no lockfile; the slow path reports the rest).
    public static func now(pipelineFile: String, lockFile: String, fingerprint: String, executorOption: String?,
                           workspace: String) -> Now? {
        guard let pipeline = readFileBytes(pipelineFile) else { return nil }
        let (lock, error) = LockSnapshot.read(lockFile)
        guard error == nil else { return nil }
        return Now(pipelineDigest: Digest.of(pipeline), lockDigest: lock.map { Digest.of($0) }, fingerprint: fingerprint,
                   executorOption: executorOption, workspace: workspace)
    }

    /// True when every stage is still cached exactly as the memo says.
    public func holds(_ now: Now, store: ContentStore) -> Bool {
        guard now.pipelineDigest == pipelineDigest, now.lockDigest == lockDigest, now.fingerprint == fingerprint,
              (now.executorOption ?? executor ?? "local") == "local",
              Self.state(of: "/proc/self/exe", following: true) == executable else { return false }
        if !inputs.isEmpty {
            // The stat of a path follows a directory on its way that became a link; the slow
            // path refuses such a link when it leads out of the workspace, and so does this.
            let root = WorkspaceLinks.realPath(now.workspace) ?? now.workspace
            for input in inputs {
                guard Self.state(of: input.path, following: false) == input.state,
                      WorkspaceLinks.escapeOnTheWay(to: input.path, root: root) == nil else { return false }
            }
        }
        // Relative to the two directories, so the kernel walks two path components a file,
        // not the whole way from `/` (2,000 lookups in a 1,000-stage no-op).
        let actions = open(store.actionsDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let objects = open(store.objectsDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if actions >= 0 { close(actions) }; if objects >= 0 { close(objects) } }
        guard actions >= 0, objects >= 0 else { return false }
        var name = [CChar](repeating: 0, count: 80)  // "ke/<64 hex>.json\0"
        var st = stat()
        func statStored(_ dir: Int32, _ digest: String, suffix: Bool) -> Bool {
            guard digest.utf8.count == 64 else { return false }
            var i = 3
            for c in digest.utf8 {  // 64 hex digits (checked when the memo was read)
                name[i] = CChar(bitPattern: c)
                i += 1
            }
            name[0] = name[3]
            name[1] = name[4]
            name[2] = 0x2F
            if suffix { for c in ".json".utf8 { name[i] = CChar(bitPattern: c); i += 1 } }
            name[i] = 0
            return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        }
        for stage in stages {
            guard statStored(actions, stage.key, suffix: true), st.st_mode & S_IFMT == S_IFREG, FileState(st) == stage.entry else { return false }
            for o in stage.outputs.values.map(\.digest) {
                // As `ContentStore.hasObject`: a sealed (read-only) directory.
                guard statStored(objects, o, suffix: false), st.st_mode & S_IFMT == S_IFDIR, st.st_mode & 0o222 == 0 else { return false }
            }
        }
        return true
    }

    /// Device, inode, size and mtime of a regular file; nil for anything else.
    static func state(of path: String, following: Bool) -> FileState? {
        var st = stat()
        guard (following ? stat(path, &st) : lstat(path, &st)) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileState(st)
    }
}
