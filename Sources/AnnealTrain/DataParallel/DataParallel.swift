import AnnealCompute
import Foundation

/// Data-parallel training over the N tasks of a stage (`tasks: N`), one process each, started
/// by `mpirun` or `srun` and joined through MPI.
///
/// Every rank draws the same global batch (same data RNG, so the data order is one
/// process's), computes the loss and gradients of its contiguous share of the rows
/// (`rows(batch:rank:tasks:)`), scaled by its share of the batch (`weight`), and the
/// gradients are summed over the ranks with `MPI_Allreduce`: the sum is the gradient of the
/// whole batch's mean loss, up to float rounding. Every rank then takes the same optimizer
/// step on the same numbers, so the weights never diverge and need no broadcast. Only the
/// leader (rank 0) reports, checkpoints and writes outputs.
///
///     let dp = try DataParallel.join(tasks: ctx.tasks)
///     let mine = dp.share(of: batch, block: T)        // rows and weight of this rank
///     tape.backward(loss, seed: mine.weight / Float(accumulation))
///     try dp.sumGradients(opt.sets)
///
/// One task is the same arithmetic as before data parallelism existed (weight 1, no
/// reduction), so its outputs keep their bytes.
public struct DataParallel: Sendable {
    public let rank: Int
    public let tasks: Int
    let mpi: OpenMPI?

    /// One process: no MPI.
    public static let single = DataParallel(rank: 0, tasks: 1, mpi: nil)

    public var isLeader: Bool { rank == 0 }

    /// Joins the other tasks: for `tasks` > 1 loads Open MPI, initializes it and checks that
    /// the launcher started as many processes as the stage asked for.
    public static func join(tasks: Int) throws(DataParallelError) -> DataParallel {
        guard tasks > 1 else { return .single }
        let mpi: OpenMPI
        do { mpi = try OpenMPI() } catch { throw DataParallelError(String(describing: error)) }
        do {
            try mpi.start()
            let (rank, size) = try mpi.rankAndSize()
            guard size == tasks else {
                throw DataParallelError("the stage asked for \(tasks) tasks but MPI started \(size) process\(size == 1 ? "" : "es"); "
                    + "`anneal run` launches it through mpirun or srun (started by hand: mpirun -n \(tasks) anneal exec-stage KIND)")
            }
            let dp = DataParallel(rank: rank, tasks: tasks, mpi: mpi)
            Self.current.set(dp)
            Self.exitWithLauncher()
            return dp
        } catch let e as DataParallelError {
            throw e
        } catch {
            throw DataParallelError(String(describing: error))
        }
    }

    /// The rows of a global batch of `batch` rows that `rank` of `tasks` computes: contiguous
    /// and balanced (sizes differ by at most one). Needs `batch` ≥ `tasks`.
    public static func rows(batch: Int, rank: Int, tasks: Int) -> Range<Int> {
        precondition(batch >= tasks && (0..<tasks).contains(rank), "\(batch) rows cannot be shared by \(tasks) tasks")
        return (batch * rank / tasks)..<(batch * (rank + 1) / tasks)
    }

    /// This task's contiguous part of `count` items (validation batches), possibly empty.
    public func part(of count: Int) -> Range<Int> {
        (count * rank / tasks)..<(count * (rank + 1) / tasks)
    }

    /// Why a global batch of `batch` rows cannot be split over this stage's tasks, or nil.
    public func problem(batch: Int, name: String) -> String? {
        batch >= tasks ? nil : "\(name) \(batch) cannot be split over \(tasks) tasks; use tasks ≤ \(name) or a larger \(name)"
    }

    /// This rank's rows of `batch` (T tokens each) and their share of the batch, the factor
    /// its mean loss enters the gradient with.
    public func share(of batch: Batch, block T: Int) -> (batch: Batch, weight: Float) {
        guard tasks > 1 else { return (batch, 1) }
        let r = Self.rows(batch: batch.rows, rank: rank, tasks: tasks)
        let part = Batch(inputs: Array(batch.inputs[(r.lowerBound * T)..<(r.upperBound * T)]),
                         targets: Array(batch.targets[(r.lowerBound * T)..<(r.upperBound * T)]), rows: r.count)
        return (part, Float(r.count) / Float(batch.rows))
    }

    /// Sums every set's gradients over the ranks, in place (whole buffers: frozen entries
    /// hold zeros everywhere).
    public func sumGradients(_ sets: [ParameterSet]) throws(DataParallelError) {
        guard let mpi else { return }
        for set in sets {
            do {
                try mpi.allreduceSum(UnsafeMutableRawPointer(set.grads.pointer), count: set.count, type: mpi.float,
                                     stride: MemoryLayout<Float>.stride)
            } catch { throw DataParallelError(String(describing: error)) }
        }
    }

    /// `x` summed over the ranks (a loss made of each rank's weighted share).
    public func sum(_ x: Double) throws(DataParallelError) -> Double {
        guard let mpi else { return x }
        var v = x
        do {
            try withUnsafeMutableBytes(of: &v) { try mpi.allreduceSum($0.baseAddress!, count: 1, type: mpi.double, stride: 8) }
        } catch { throw DataParallelError(String(describing: error)) }
        return v
    }

    /// Leaves MPI once the rank is done (every rank must call it).
    public func finish() {
        mpi?.finish()
        Self.current.set(nil)
    }

    /// Ends this task if its launcher (mpirun, slurmstepd) dies: the launcher puts every task
    /// in a process group of its own, beyond the stage's, so a SIGKILLed launcher would leave
    /// the tasks training over shared memory and writing the resume state the next attempt
    /// reads. A thread watching the parent, not PR_SET_PDEATHSIG, which fires when the
    /// launcher's forking thread ends, and not a check per step, which a task blocked in an
    /// all-reduce with a dead peer never reaches.
    static func exitWithLauncher() {
        let launcher = getppid()
        let watcher = Thread {
            while getppid() == launcher { usleep(500_000) }
            _exit(1)
        }
        watcher.stackSize = 64 * 1024
        watcher.start()
    }

    /// Leaves MPI after the stage succeeded, if this process joined a data-parallel run.
    public static func finishJoined() {
        current.get()?.finish()
    }

    /// Ends all ranks after this one failed: the others would wait in the next all-reduce
    /// forever. A no-op when no data-parallel run is active in this process.
    public static func abortAfterFailure(code: Int32 = 1) {
        current.get()?.mpi?.abort(code: code)
    }

    /// The run this process joined, for `abortAfterFailure` (MPI is process-wide anyway).
    private static let current = Current()

    private final class Current: @unchecked Sendable {
        private let lock = NSLock()
        private var value: DataParallel?
        func set(_ v: DataParallel?) { lock.lock(); value = v; lock.unlock() }
        func get() -> DataParallel? { lock.lock(); defer { lock.unlock() }; return value }
    }
}

public struct DataParallelError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
