import AnnealCompute
import AnnealModels
import Foundation
import Testing

@Suite("training benchmark")
struct TrainBenchTests {
    @Test func flopsPerTokenMatchesTheIssueFormula() {
        // C1: 6·(3.16 M non-embedding + 4096·256) + 12·4·128·256 ≈ 26.8 M (research/compute.md).
        #expect(abs(BenchConfig.c1.flopsPerToken / 1e6 - 26.82) < 0.05)
        #expect(abs(BenchConfig.c2.flopsPerToken / 1e6 - 189.07) < 0.1)
    }

    /// `ANNEAL_BENCH=C1 [ANNEAL_BENCH_STEPS=10] [ANNEAL_THREADS=n] swift test -c release --filter runConfiguredBench`
    /// prints one JSON line (the bench script uses this until `anneal bench train` exists).
    @Test func runConfiguredBench() throws {
        let env = ProcessInfo.processInfo.environment
        guard let name = env["ANNEAL_BENCH"], let config = BenchConfig.named(name) else { return }
        let steps = Int(env["ANNEAL_BENCH_STEPS"] ?? "") ?? 10
        let result = runTrainBench(config: config, steps: steps, threads: Int(env["ANNEAL_THREADS"] ?? ""))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print("BENCH_JSON " + String(decoding: try enc.encode(result), as: UTF8.self))
    }
}
