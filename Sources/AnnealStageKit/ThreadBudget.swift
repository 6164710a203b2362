import AnnealCompute
import AnnealText

/// The thread counts a stage process uses — OpenBLAS's pool, Anneal's compute kernels and
/// the text library's workers — all from one number, the stage's `ANNEAL_THREADS`.
///
/// ``Stage/main()`` applies it before the stage runs. The count is part of what the bytes
/// depend on (it fixes reduction orders), and the runner records it in the lockfile.
public enum ThreadBudget {
    public static func apply(_ threads: Int) {
        let n = max(1, threads)
        BLAS.setThreads(n)
        ComputeThreads.count = n
        TextThreads.count = n
    }
}
