import Foundation

/// How many workers AnnealText's pools use: every core by default; a built-in stage sets it
/// from `ANNEAL_THREADS` before it starts. Results never depend on it (work is split in
/// contiguous chunks and merged in input order).
public enum TextThreads {
    nonisolated(unsafe) public static var count = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Runs `work` over `count` items in contiguous chunks on all cores; results land in
/// input order, so output is deterministic however the threads are scheduled. Below
/// `minimumPerWorker` items per core the hand-off costs more than it saves.
enum Parallel {
    static func map<T: Sendable, R: Sendable>(_ items: [T], minimumPerWorker: Int = 64,
                                               _ work: @Sendable (T) -> R) -> [R] {
        let count = items.count
        guard count > 1 else { return items.map(work) }
        let workers = min(TextThreads.count, max(1, count / max(1, minimumPerWorker)))
        if workers <= 1 { return items.map(work) }
        let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let shared = SendableBuffer(results)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            for i in lo..<hi { shared.buffer[i] = work(items[i]) }
        }
        return results.map { $0! }
    }

    /// Disjoint ranges are written from different threads; the wrapper only carries the
    /// pointer across the closure boundary.
    struct SendableBuffer<R>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<R?>
        init(_ buffer: UnsafeMutableBufferPointer<R?>) { self.buffer = buffer }
    }
}

/// Carries a buffer pointer into `concurrentPerform`; workers touch disjoint elements.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
