import Dispatch
import Foundation

/// How many threads our own kernels split work over. OpenBLAS has its own pool
/// (`BLAS.setThreads`). Set once at start-up, before any kernel runs; recorded in
/// checkpoints because results are only byte-identical for the same thread count
/// (OpenBLAS partitions its reductions by thread count).
public enum ComputeThreads {
    nonisolated(unsafe) public static var count: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 64))
}

/// Runs `body` over `0..<total` split into contiguous chunks, in parallel when there is
/// enough work. Each index belongs to exactly one chunk and `body` must only write outputs
/// owned by its range, so the result never depends on the partitioning.
@inline(__always)
func parallelRanges(_ total: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
    let threads = ComputeThreads.count
    let chunks = min(threads, total / max(minChunk, 1))
    if chunks <= 1 {
        if total > 0 { body(0..<total) }
        return
    }
    // The kernels' closures capture raw pointers, which are not Sendable; the disjoint-range
    // contract above is what makes sharing them sound, so the check is waived here once.
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = total * c / chunks
            let hi = total * (c + 1) / chunks
            if lo < hi { work.value(lo..<hi) }
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
