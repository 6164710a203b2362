import AnnealPipeline
import Foundation

/// `anneal repro`: rebuild every stage from scratch in a fresh store and compare each output
/// digest with the lockfile.
public struct Reproduction {
    public struct StageVerdict: Sendable {
        public var name: String
        /// `match`, `diverged`, `failed`, `not-locked`
        public var verdict: String
        public var details: [String]
    }

    public struct Report: Sendable {
        public var stages: [StageVerdict]

        public init(stages: [StageVerdict]) { self.stages = stages }
        public var firstDivergence: String? { stages.first { $0.verdict != "match" }?.name }
        public var isReproduced: Bool { firstDivergence == nil }
    }

    /// `repro` rebuilds in `TMPDIR/anneal-repro-PID-RANDOM`, a store whose cache lock the repro
    /// holds while it runs. A SIGKILLed repro cannot remove its scratch, so every repro first
    /// removes the scratch stores of this user that nobody holds (the kernel drops a flock when
    /// its holder dies; this works across PID namespaces, unlike asking whether PID lives).
    public static let scratchPrefix = "anneal-repro-"

    public static func removeAbandonedScratch(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(scratchPrefix) {
            let path = (directory as NSString).appendingPathComponent(name)
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid() else { continue }
            let fd = open(path + "/lock", O_RDWR | O_CLOEXEC)
            if fd < 0 {
                // Killed before it made its lock: only the pid in the name can tell.
                let pid = Int32(name.dropFirst(scratchPrefix.count).prefix { $0 != "-" }) ?? 0
                if pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { FileTree.remove(path) }
                continue
            }
            defer { close(fd) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { FileTree.remove(path) }
        }
    }

    /// Stages whose declaration no longer matches the lock: nothing to reproduce there.
    public static func declarationDrift(project: Project, lock: Lockfile) -> [StageVerdict] {
        var out: [StageVerdict] = []
        for stage in project.ordered {
            guard let old = lock.stages[stage.name] else {
                out.append(StageVerdict(name: stage.name, verdict: "not-locked", details: ["the lockfile has no entry for this stage"]))
                continue
            }
            let now = StageFacts(stage: stage, kind: project.kind(of: stage), inputs: old.inputs)
            let why = now.reasons(comparedTo: old, unknownInputs: [:]).filter { !$0.hasPrefix("input ") }
            if !why.isEmpty { out.append(StageVerdict(name: stage.name, verdict: "diverged", details: ["declaration differs from the lock: " + why.joined(separator: "; ")])) }
        }
        return out
    }

    /// `original` is the user's store, which may still hold the locked objects, and `rebuilt`
    /// the scratch store of the rebuild: a diverging output names its first differing file.
    public static func compare(_ summary: RunSummary, lock: Lockfile, order: [String], original: ContentStore? = nil,
                               rebuilt: ContentStore? = nil) -> Report {
        var verdicts: [StageVerdict] = []
        let results = Dictionary(summary.stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var diverged = Set<String>()
        for name in order {
            guard let r = results[name] else { continue }
            guard let want = lock.stages[name] else {
                verdicts.append(StageVerdict(name: name, verdict: "not-locked", details: ["the lockfile has no entry for this stage"]))
                continue
            }
            guard r.status == .ran || r.status == .cached, let got = r.facts else {
                verdicts.append(StageVerdict(name: name, verdict: "failed", details: [r.error ?? "stage \(r.status.rawValue)"]))
                continue
            }
            var details: [String] = []
            for o in Set(want.outputs.keys).union(got.outputs.keys).sorted() {
                let w = want.outputs[o]?.digest, g = got.outputs[o]?.digest
                if w != g {
                    details.append("output '\(o)': locked \(w.map { String($0.prefix(12)) } ?? "none"), rebuilt \(g.map { String($0.prefix(12)) } ?? "none")")
                    if let w, let g, let original, let rebuilt {
                        if original.hasObject(w), rebuilt.hasObject(g) {
                            let file = TreeComparison.firstDifference(original: original.objectPath(w), rebuilt: rebuilt.objectPath(g))
                            details.append("output '\(o)': first differing file \(file ?? "none (same files; the digests differ)")")
                        } else {
                            details.append("output '\(o)': the original object is not in the cache \(original.root), so the differing file cannot be named")
                        }
                    }
                }
            }
            let upstreamDiverged = want.inputs.keys.contains { got.inputs[$0]?.digest != want.inputs[$0]?.digest }
            if details.isEmpty {
                verdicts.append(StageVerdict(name: name, verdict: "match", details: []))
            } else {
                diverged.insert(name)
                if upstreamDiverged { details.insert("its inputs differ already (an upstream stage diverged)", at: 0) }
                verdicts.append(StageVerdict(name: name, verdict: "diverged", details: details))
            }
        }
        return Report(stages: verdicts)
    }
}
