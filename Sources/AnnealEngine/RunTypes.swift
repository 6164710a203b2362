import AnnealPipeline
import Foundation

public struct RunOptions: Sendable {
    public var jobs: Int
    public var keepGoing = false
    public var force: Set<String> = []
    /// Run everything regardless of the cache (`anneal repro`).
    public var forceAll = false
    /// Only these stages and what they depend on.
    public var only: Set<String>?
    public var locked = false
    public var writeLockfile = true
    /// What the ledger records as the command of the run.
    public var command = "run"
    /// Where stages run: child processes of this one, or Slurm jobs.
    public var executor = Executor.local
    /// When set, a run that ends with every stage cached or committed leaves a `NoOpMemo`
    /// with this identity (`NoOpMemo.identity`), and any other run removes it.
    public var noOpMemo: String?

    public enum Executor: String, Sendable, CaseIterable {
        case local, slurm
    }

    public init(jobs: Int) { self.jobs = max(1, jobs) }
}

public struct StageResult: Sendable {
    public enum Status: String, Sendable {
        case ran, cached, failed, skipped, interrupted
    }

    public var name: String
    public var status: Status
    public var reasons: [String]
    public var seconds: Double = 0
    public var facts: StageFacts?
    public var error: String?
    public var exitCode: Int32?
    public var log: String?
    public var metrics: [String: Double] = [:]
    /// Names of the metrics that sum the stage up, in order (see `StageSchema.headline`).
    public var headline: [String] = []
    /// The runner failed, not the stage: it could not start it, or the store could not keep
    /// its outputs (an I/O error). The run ends with the internal-error exit code (3).
    public var isInternalFailure = false
    /// When the stage's process started (seconds since 1970), for the ledger; nil if it never did.
    var started: Double?
}

public struct RunSummary: Sendable {
    public var runID: String
    public var status: String
    public var stages: [StageResult]
    public var lockfile: String?
    /// Workspace input files whose bytes were read this run (not answered by the stat cache).
    public var filesHashed = 0

    public var firstError: String? { stages.first { $0.status == .failed }?.error }
    /// True if the runner itself failed for some stage (exit 3).
    public var hasInternalFailure: Bool { stages.contains { $0.isInternalFailure } }
    public func count(_ s: StageResult.Status) -> Int { stages.filter { $0.status == s }.count }
}

/// What a run tells whoever watches it (the terminal, a log, a test).
public enum RunEvent: Sendable {
    case waiting(String)
    case started(stage: String, reasons: [String])
    case progress(stage: String, step: Int?, total: Int?, metrics: [String: Double], message: String?)
    case finished(StageResult)
}

public protocol RunReporter: Sendable {
    func report(_ event: RunEvent)
    /// Several events at once, in order (a reporter may write them in one go).
    func report(batch: [RunEvent])
}

extension RunReporter {
    public func report(batch: [RunEvent]) { batch.forEach(report) }
}

/// `yyyyMMdd-HHmmss-xxxx` in UTC. By hand: a `DateFormatter` (ICU) cost a no-op run of
/// 1,000 stages 3% of its time.
public func makeRunID(date: Date = Date()) -> String {
    var t = time_t(date.timeIntervalSince1970.rounded(.down))
    var u = tm()
    gmtime_r(&t, &u)
    func pad(_ v: Int32, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
    return pad(u.tm_year + 1900, 4) + pad(u.tm_mon + 1, 2) + pad(u.tm_mday, 2) + "-" + pad(u.tm_hour, 2) + pad(u.tm_min, 2)
        + pad(u.tm_sec, 2) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
}
